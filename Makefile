# The README's commands. Each target sets the project up on first use: a .venv, the tested
# torch + torchvision pair (constraints.txt, the one place it is pinned), then dlref with its
# dev extra under the same constraints. TORCH_INDEX picks a build of the same pair, e.g.
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu     (CPU-only, a smaller download)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt
TORCH_INDEX ?=
STAMP := $(VENV)/.dlref-installed
DEMO_STAMP := $(VENV)/.dlref-demo-installed
DOCS_STAMP := $(VENV)/.dlref-docs-installed
MODEL ?= fcn
ARGS ?=
export DLREF_DATA_DIR ?= data

.PHONY: setup train train-scratch test test-fast lint bench lessons notebook gpu-check clean demo setup-demo
.PHONY: setup-docs docs docs-serve docs-check

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch torchvision
	$(PIP) -e '.[dev]'
	$(PY) -c "import torch, torchvision, torchmetrics, lightning"
	touch $(STAMP)

# The draw-a-digit page (dlref demo): the demo extra, then the page on http://127.0.0.1:7860, ARGS="--port 8000" …
setup-demo: $(DEMO_STAMP)

$(DEMO_STAMP): $(STAMP)
	$(PIP) -e '.[dev,demo]'
	$(PY) -c "import gradio"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/dlref demo $(ARGS)

# The documentation site (docs/, mkdocs.yml): the docs extra once, then site/ built strictly (a broken link or a
# missing page fails it) and offline (docs/hooks.py fails a page that would load anything from another host). The
# lessons' pages use lessons/rendered/ (make lessons; DLREF_RENDERED_LESSONS=folder for another), running only a
# lesson whose notebook is missing or stale. docs-serve: http://127.0.0.1:8000; docs-check: the site in Chromium.
setup-docs: $(DOCS_STAMP)

$(DOCS_STAMP): $(STAMP)
	$(PIP) -e '.[dev,docs]'
	$(PY) -c "import mkdocs, material, mkdocstrings_handlers.python, nbconvert"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site $(ARGS)

docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict --dev-addr 127.0.0.1:8000 $(ARGS)

docs-check: $(DOCS_STAMP)
	$(PY) -m pytest tests/test_site.py tests/test_docs.py tests/test_readme.py $(ARGS)

train: $(STAMP)
	$(PY) scripts/train_lightning.py fit --config configs/$(MODEL).yaml $(ARGS)

train-scratch: $(STAMP)
	$(PY) scripts/train_scratch.py --model $(MODEL) $(ARGS)

# make test: every test, on TEST_WORKERS processes (pytest-xdist, each with its share of the cores; 0: in one
# process). make test-fast: all but the slow-marked ones (processes, lessons, browsers), while working on a change.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

test: $(STAMP)
	$(PYTEST) $(ARGS)

test-fast: $(STAMP)
	$(PYTEST) -m "not slow" $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check dlref tests scripts lessons

bench: $(STAMP)
	$(PY) scripts/bench.py $(ARGS)

# make lessons: every lesson run, into lessons/rendered/ (to read); make notebook LESSON=01: your notebook to work in,
# lessons/01_….ipynb, made once and never replaced.
lessons: $(STAMP)
	$(PY) lessons/render.py $(ARGS)

LESSON ?=
notebook: $(STAMP)
	$(PY) lessons/render.py --notebook $(LESSON)

# The device check runs with the interpreter already on a GPU machine (PYTHON=python3): no .venv, no network,
# nothing the GPU image lacks (docs/gpu-check.md). ARGS=--quick is its smoke run; a PYTHONPATH given is kept.
OUT ?= gpu-check
gpu-check:
	PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)) $(PYTHON) scripts/gpu_check.py --out $(OUT) $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
