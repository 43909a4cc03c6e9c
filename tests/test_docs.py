"""Every page of the documentation as a reader takes it: the README, CHANGELOG.md and each page of ``docs/``.

Each page's Python blocks run as written, top to bottom in one namespace, as a reader would type them: a block of
``>>>`` lines is a doctest (what it shows must be what it prints; ``...`` stands for the rest of a long line), any
other ``python`` block is executed. They run in a folder of the test's own that holds the repository's ``docs/``
and ``configs/`` and, for the pages that load ``runs/fcn/version_0/checkpoints/best.ckpt`` (written by
``make train``), a checkpoint of the FCN's shape written here. The blocks that read MNIST get the real data's
folder through ``DLREF_DATA_DIR``; without MNIST the test stops there and is skipped (in CI the conftest fails it).

The other checks: each command line runs on a fresh clone (``.venv/bin/...``), and the sentences and figures the
pages quote are the ones the code prints and ``docs/results.json`` holds.
"""

import doctest
import json
import re
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted([REPO / "README.md", REPO / "CHANGELOG.md", *DOCS.rglob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
CHECKPOINT = "runs/fcn/version_0/checkpoints/best.ckpt"  # what make train writes first, as the pages name it
SHELL = {"sh", "bash", "shell", "console"}
# The entry points a fresh clone has only in .venv/bin/ (the pages never activate the venv).
ENTRY_POINTS = ("dlref", "dlref-kfold", "dlref-validate", "dlref-overfit", "dlref-download", "python", "python3",
                "torchrun", "pytest", "ruff", "jupytext", "jupyter", "mkdocs", "pip")


def name(page: Path) -> str:
    return str(page.relative_to(REPO))


def blocks(page: Path, languages=("python",)) -> list[tuple[int, str]]:
    """``(line, source)`` of each fenced block of ``page`` in one of ``languages``."""
    text = page.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(2)) for m in FENCE.finditer(text) if m.group(1) in languages]


def page_text(*names: str) -> str:
    """The pages named (``docs/training.md`` …), their lines joined, for a quoted sentence that wraps."""
    return "\n".join((REPO / n).read_text() for n in names)


def test_the_pages_are_those_the_site_lists_and_each_python_block_is_fenced_as_python():
    assert {"README.md", "CHANGELOG.md", "docs/setup.md", "docs/slides.md", "docs/training.md", "docs/evaluation.md",
            "docs/predict.md", "docs/demo.md", "docs/reliability.md", "docs/performance.md", "docs/scale-out.md",
            "docs/gpu-check.md", "docs/lessons/index.md", "docs/api/index.md"} <= {name(p) for p in PAGES}
    assert len(blocks(REPO / "README.md")) >= 1 and len(blocks(DOCS / "slides.md")) >= 6
    for page in PAGES:
        text = page.read_text()
        other = [m.group(1) for m in FENCE.finditer(text) if m.group(1) in {"py", "pycon", "python3", "doctest"}]
        assert not other, f"{name(page)}: fence Python as ```python (the only blocks the suite runs), found {other}"
        outside = FENCE.sub("", text)
        assert not re.search(r"^\s*>>> ", outside, re.M), f"{name(page)}: a >>> example outside a ```python block"


@pytest.fixture
def reader_folder(tmp_path, monkeypatch) -> Path:
    """A folder like a clone after ``make train``: ``docs/`` and ``configs/``, and an FCN checkpoint in ``runs/``."""
    import dlref

    for folder in ("docs", "configs"):
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    checkpoint = tmp_path / CHECKPOINT
    checkpoint.parent.mkdir(parents=True)
    weights = {f"model.{k}": v for k, v in dlref.networks.fcn().state_dict().items()}
    torch.save({"hyper_parameters": {"network": "fcn"}, "state_dict": weights}, checkpoint)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=name)
def test_every_python_block_of_the_page_runs_as_written(page, request, monkeypatch, reader_folder):
    namespace: dict = {}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    parser = doctest.DocTestParser()
    for line, source in blocks(page):
        if "load_mnist" in source:
            monkeypatch.setenv("DLREF_DATA_DIR", str(request.getfixturevalue("mnist_root")))  # skips without MNIST
        if ">>>" not in source:
            exec(compile(source, f"{name(page)}, block at line {line}", "exec"), namespace)
            continue
        test = parser.get_doctest(source, namespace, f"{name(page)}:{line}", str(page), line - 1)
        result = runner.run(test, clear_globs=False)
        assert result.failed == 0, f"the block at {name(page)}:{line} does not print what it shows (see above)"
        namespace = test.globs  # a DocTest runs in a copy: the next block starts from what this one left


def command_lines(text: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each line a reader would paste into a shell: indented code lines and shell fences'."""
    found, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if (fence in SHELL or (fence is None and line.startswith("    "))) and line.strip():
            found.append((number, line.strip()))
    return found


def bare_commands(text: str) -> list[tuple[int, str]]:
    """The command lines of ``text`` that start with an entry point a fresh clone has only in ``.venv/bin/``."""
    bare = []
    for number, line in command_lines(text):
        words = line.split()
        if words[0] in ENTRY_POINTS and not (words[0].endswith(":") or len(words) > 1 and words[1].endswith(":")):
            bare.append((number, line))  # "dlref: error: …" and "dlref demo: error: …" are printed output
    return bare


def test_every_command_line_of_every_page_runs_on_a_fresh_clone():
    bare = [f"{name(page)}:{number}: {line}" for page in PAGES for number, line in bare_commands(page.read_text())]
    assert not bare, "write .venv/bin/... (a fresh clone has no such command on its PATH):\n" + "\n".join(bare)


def test_the_command_line_check_finds_a_bare_command_in_code_and_shell_blocks():
    text = "text\n\n    dlref fit --config c.yaml\n    .venv/bin/dlref fit\n    dlref: error: printed\n\n```sh\n" \
           "python scripts/bench.py\n```\n```python\npython = 1\n```\n"
    assert bare_commands(text) == [(3, "dlref fit --config c.yaml"), (8, "python scripts/bench.py")]


def test_the_quoted_missing_config_sentence_is_the_one_printed(capsys, monkeypatch):
    from dlref.cli import main

    monkeypatch.chdir(REPO)  # make train runs in the repository: configs/ is where it looks
    assert main(["fit", "--config", "configs/CNN.yaml"]) == 2  # what `make train MODEL=CNN` runs
    printed = capsys.readouterr().err.strip()
    assert printed.startswith("dlref: error: ") and f"    {printed}" in page_text("docs/training.md").splitlines()


def test_the_memory_check_trains_the_epochs_the_reliability_page_says():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import memory_epochs
    finally:
        sys.path.remove(str(REPO / "scripts"))
    limit, val = memory_epochs.LIMIT, memory_epochs.VAL_SIZE
    assert f"(`--limit {limit}`: {limit - val:,} training images each, {val} validating)" in " ".join(
        page_text("docs/reliability.md").split())


def test_the_measured_accuracies_the_training_page_and_lesson_4_quote_come_from_one_file():
    results = json.loads((DOCS / "results.json").read_text())
    page = page_text("docs/training.md")
    for network, run in results["runs"].items():
        row = next(line for line in page.splitlines() if line.startswith(f"| {network.upper()}, Lightning |"))
        assert f"**{run['test_accuracy']:.2%}**" in row, f"the training page's {network} row is not results.json's"
        assert f"best val {run['best_val_accuracy']:.2%}, epoch {run['best_epoch']}" in row
    lesson = (REPO / "lessons" / "04_networks.py").read_text()
    assert 'json.loads(Path("../docs/results.json").read_text())' in lesson
    assert not re.search(r"\d\d\.\d\d%", lesson), "lesson 4 types a measured figure instead of reading it"


def test_the_benchmark_tables_are_written_into_the_performance_page():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from benchmarks import harness  # the harness alone: the sections are tests/test_bench.py's
    finally:
        sys.path.remove(str(REPO / "scripts"))
    assert harness.PAGE == DOCS / "performance.md"
    assert "const=str(harness.PAGE)" in (REPO / "scripts" / "bench.py").read_text()  # --write's default
    page = page_text("docs/performance.md")
    assert page.count(harness.BEGIN) == 1 and page.count(harness.END) == 1 and "### core" in page
    assert not (REPO / "BENCHMARKS.md").exists(), "BENCHMARKS.md is docs/performance.md now"
