"""The README's Python blocks, run as written, top to bottom in one namespace, as a reader would type them.

A block of ``>>>`` lines is a doctest: what it shows it prints must be what it prints (``...``
stands for the rest of a long line). Other Python blocks are executed. The blocks that read MNIST
get the real data's folder through ``DLREF_DATA_DIR``; without MNIST the test stops there and is
skipped (in CI, where the data is always present, the conftest fails it instead).
"""

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
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
