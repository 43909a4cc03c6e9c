"""Run the lessons top to bottom as notebooks: ``make lessons`` and ``tests/test_lessons.py`` both come here.

    python lessons/render.py                  # every lesson → lessons/NN_name.ipynb, with its outputs
    python lessons/render.py 01 03            # the lessons whose names start with 01 or 03
    DLREF_LESSONS_FULL=1 python lessons/render.py     # the full sizes (minutes, not seconds)

Each lesson is a jupytext percent-format ``.py`` file. It is read as a notebook (jupytext), run in a
fresh Python kernel (nbclient, ipykernel) with the lessons folder as its working directory, as
Jupyter runs it, and written out with its outputs and figures beside the ``.py`` file, where Jupyter opens
it and runs it again as it is. A cell that raises stops the run and names the lesson and the cell. The
notebooks are not committed (``lessons/.gitignore``): the ``.py`` files are the lessons.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

LESSONS = Path(__file__).resolve().parent
RENDERED = LESSONS  # NN_name.ipynb beside NN_name.py: its cells find check.py and ../configs as the .py's do
TIMEOUT = 600  # seconds a cell may run; the defaults take seconds, the full sizes minutes


def lessons() -> list[Path]:
    """The lessons, in order: ``NN_name.py`` beside this file."""
    return sorted(p for p in LESSONS.glob("[0-9][0-9]_*.py"))


def execute(lesson: Path, env: dict | None = None, timeout: int = TIMEOUT) -> nbformat.NotebookNode:
    """``lesson`` run top to bottom in a new kernel; raises ``CellExecutionError`` at the first cell that fails.

    What the lesson writes to a temporary folder (its figures, lesson 5's run folder) goes to a folder of its
    own that is removed afterwards, unless ``env`` names a ``TMPDIR``.
    """
    with tempfile.TemporaryDirectory(prefix="dlref-lessons-") as scratch:
        return _execute(lesson, {"TMPDIR": scratch, **(env or {})}, timeout)


def _execute(lesson: Path, env: dict, timeout: int) -> nbformat.NotebookNode:
    notebook = jupytext.read(lesson)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no notice about its local TCP port
                            resources={"metadata": {"path": str(LESSONS)}})
    # One thread unless told otherwise: the lessons' small batches run faster on one, and on a shared 2-core
    # machine far faster than on two threads that wait for each other (as tests/conftest.py's one_thread).
    client.execute(env={"OMP_NUM_THREADS": "1", **os.environ, **env})
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="lessons whose file names start with these (default: all)")
    parser.add_argument("--out", default=str(RENDERED), help=f"folder for the notebooks (default: {RENDERED})")
    args = parser.parse_args(argv)
    env = {}
    if os.environ.get("DLREF_DATA_DIR"):  # the kernels run in lessons/: a relative folder is one from here
        env["DLREF_DATA_DIR"] = str(Path(os.environ["DLREF_DATA_DIR"]).expanduser().resolve())
    chosen = [p for p in lessons() if not args.only or any(p.name.startswith(o) for o in args.only)]
    if not chosen:
        print(f"render.py: no lesson in {LESSONS} starts with {' or '.join(args.only)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for lesson in chosen:
        start = time.perf_counter()
        try:
            notebook = execute(lesson, env)
        except CellExecutionError as error:
            print(f"render.py: {lesson.name} failed:\n{error}", file=sys.stderr)
            return 1
        path = out / lesson.with_suffix(".ipynb").name
        notebook.metadata.pop("jupytext", None)  # a plain notebook: saving it never writes to the .py lesson
        nbformat.write(notebook, path)
        print(f"{lesson.name}: {time.perf_counter() - start:.1f} s -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
