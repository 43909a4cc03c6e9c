"""The README's Python blocks, run as written, top to bottom in one namespace, as a reader would type them.

A block of ``>>>`` lines is a doctest: what it shows it prints must be what it prints (``...``
stands for the rest of a long line). Other Python blocks are executed. The blocks that read MNIST
get the real data's folder through ``DLREF_DATA_DIR``; without MNIST the test stops there and is
skipped (in CI, where the data is always present, the conftest fails it instead).
"""

import doctest
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks() -> list[tuple[int, str]]:
    """``(line, source)`` of each fenced ``python`` block of the README."""
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in FENCE.finditer(text)]


def test_the_readme_has_python_blocks_and_only_fenced_ones_are_python():
    found = blocks()
    assert len(found) >= 6
    assert all(source.strip() for _, source in found)


def test_every_python_block_of_the_readme_runs_as_written(request, monkeypatch):
    namespace: dict = {}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    parser = doctest.DocTestParser()
    for line, source in blocks():
        if "load_mnist" in source:
            monkeypatch.setenv("DLREF_DATA_DIR", str(request.getfixturevalue("mnist_root")))  # skips without MNIST
        if ">>>" not in source:
            exec(compile(source, f"README.md, block at line {line}", "exec"), namespace)
            continue
        test = parser.get_doctest(source, namespace, f"README.md:{line}", str(README), line)
        result = runner.run(test, clear_globs=False)
        assert result.failed == 0, f"the README block at line {line} does not print what it shows (see above)"
        namespace = test.globs  # a DocTest runs in a copy: the next block starts from what this one left


# The entry points a fresh clone has only in .venv/bin/ (the README never activates the venv).
ENTRY_POINTS = ("dlref", "dlref-validate", "dlref-overfit", "dlref-download", "python", "python3", "torchrun", "pytest",
                "ruff", "jupytext")


def test_every_command_line_of_the_readme_runs_on_a_fresh_clone():
    bare = []
    for number, line in enumerate(README.read_text().splitlines(), 1):
        words = line.split()
        if line.startswith("    ") and words and words[0] in ENTRY_POINTS:
            if not (words[0].endswith(":") or len(words) > 1 and words[1].endswith(":")):  # printed output
                bare.append(f"README.md:{number}: {line.strip()}")
    assert not bare, "write .venv/bin/... (a fresh clone has no such command on its PATH):\n" + "\n".join(bare)


def test_the_quoted_missing_config_sentence_is_the_one_printed(capsys, monkeypatch):
    from dlref.cli import main

    monkeypatch.chdir(REPO)  # make train runs in the repository: configs/ is where it looks
    assert main(["fit", "--config", "configs/CNN.yaml"]) == 2  # what `make train MODEL=CNN` runs
    printed = capsys.readouterr().err.strip()
    assert printed.startswith("dlref: error: ") and f"    {printed}" in README.read_text().splitlines()


def test_the_memory_check_trains_the_epochs_the_readme_says():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import memory_epochs
    finally:
        sys.path.remove(str(REPO / "scripts"))
    limit, val = memory_epochs.LIMIT, memory_epochs.VAL_SIZE
    assert f"(`--limit {limit}`: {limit - val:,} training images each, {val} validating)" in " ".join(
        README.read_text().split())


def test_the_measured_accuracies_the_readme_and_lesson_4_quote_come_from_one_file():
    results = json.loads((REPO / "docs" / "results.json").read_text())
    readme = README.read_text()
    for name, run in results["runs"].items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| {name.upper()}, Lightning |"))
        assert f"**{run['test_accuracy']:.2%}**" in row, f"the README's {name} row is not docs/results.json's: {row}"
        assert f"best val {run['best_val_accuracy']:.2%}, epoch {run['best_epoch']}" in row
    lesson = (REPO / "lessons" / "04_networks.py").read_text()
    assert 'json.loads(Path("../docs/results.json").read_text())' in lesson
    assert not re.search(r"\d\d\.\d\d%", lesson), "lesson 4 types a measured figure instead of reading it"
