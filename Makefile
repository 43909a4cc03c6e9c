# The README's commands. Each target sets the project up on first use:
# a .venv, the tested torch pinned first (a looser spec would pull the CUDA
# build), then dlref with its dev extra. torchvision is never installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
STAMP := $(VENV)/.dlref-installed
MODEL ?= fcn
ARGS ?=
export DLREF_DATA_DIR ?= data

.PHONY: setup train train-scratch test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)
	$(PY) scripts/train_lightning.py fit --config configs/$(MODEL).yaml $(ARGS)

train-scratch: $(STAMP)
	$(PY) scripts/train_scratch.py --model $(MODEL) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check dlref tests scripts

bench: $(STAMP)
	$(PY) scripts/bench.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
