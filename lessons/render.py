"""The lessons as notebooks: ``make lessons`` (run and rendered, to read) and ``make notebook`` (yours, to work in).

    python lessons/render.py                  # every lesson run → lessons/rendered/NN_name.ipynb, with its outputs
    python lessons/render.py 01 03            # the lessons whose names start with 01 or 03
    DLREF_LESSONS_FULL=1 python lessons/render.py     # the full sizes (minutes, not seconds)
    python lessons/render.py --notebook 01    # lessons/01_….ipynb to work in, made once: never replaced

Each lesson is a jupytext percent-format ``.py`` file. ``make lessons`` reads it as a notebook (jupytext), runs it
in a fresh Python kernel (nbclient, ipykernel) with the lessons folder as its working directory, as Jupyter runs
it, and writes it with its outputs and figures into ``lessons/rendered/``: a folder of dlref's, where no learner
works. A cell that raises stops the run and names the lesson and the cell.

``make notebook LESSON=01`` makes the notebook a learner works in, ``lessons/01_….ipynb`` beside the ``.py`` (so its
cells find ``check.py``), once: when it exists it is the learner's, and it is kept as it is.

Nothing here replaces a notebook that holds someone's edits. A rendered notebook records a fingerprint of its
cells; one whose cells no longer match it (edited, or not written here) is kept, and the new rendering goes to the
first free ``NN_name-2.ipynb``, ``-3`` …, as ``dlref predict`` numbers its files. Neither folder is committed
(``lessons/.gitignore``): the ``.py`` files are the lessons.
"""

import argparse
import hashlib
import itertools
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
RENDERED = LESSONS / "rendered"  # make lessons: run notebooks to read; never where a learner works
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


def fingerprint(notebook: nbformat.NotebookNode) -> str:
    """A hash of the notebook's cells (their kinds and sources, not their outputs): changes with any edit."""
    cells = [(cell.cell_type, cell.source) for cell in notebook.cells]
    return hashlib.sha256(repr(cells).encode()).hexdigest()


def _ours(path: Path) -> bool:
    """Whether ``path`` is a rendering of ours that nobody has edited since: then a new rendering may replace it."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # not a notebook we can read: not ours to replace
        return False
    return notebook.metadata.get("dlref", {}).get("fingerprint") == fingerprint(notebook)


def save(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """Write a rendered ``notebook`` to ``path``, or, where a notebook with edits is there, beside it as the first free
    ``NAME-2.ipynb``, ``NAME-3.ipynb`` …; returns where it went. ``open(…, "x")``: never over a file made meanwhile."""
    notebook.metadata["dlref"] = {"fingerprint": fingerprint(notebook)}
    for n in itertools.count(1):
        target = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if target.exists() and _ours(target):
            target.unlink()  # our own earlier rendering, unedited
        try:
            with open(target, "x", encoding="utf-8") as f:
                nbformat.write(notebook, f)
            return target
        except FileExistsError:
            continue


def new_notebook(lesson: Path, folder: Path | None = None) -> tuple[Path, bool]:
    """``folder/NN_name.ipynb`` (by default beside the lesson) made from the lesson, without outputs, unless it
    exists; ``(path, made)``."""
    path = (folder or LESSONS) / lesson.with_suffix(".ipynb").name
    notebook = jupytext.read(lesson)
    notebook.metadata.pop("jupytext", None)  # a plain notebook: saving it never writes to the .py lesson
    try:
        with open(path, "x", encoding="utf-8") as f:
            nbformat.write(notebook, f)
    except FileExistsError:
        return path, False
    return path, True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="lessons whose file names start with these (default: all)")
    parser.add_argument("--out", default=str(RENDERED), help="folder for the rendered notebooks (default: "
                        "lessons/rendered)")
    parser.add_argument("--notebook", action="store_true", help="instead of running them, make each chosen lesson's "
                        "notebook to work in, lessons/NN_name.ipynb, where there is none yet (one is never replaced)")
    args = parser.parse_args(argv)
    chosen = [p for p in lessons() if not args.only or any(p.name.startswith(o) for o in args.only)]
    if not chosen:
        print(f"render.py: expected a lesson whose name starts with {' or '.join(args.only)}, found none in "
              f"{LESSONS}; pass one of {', '.join(p.name[:2] for p in lessons())}.", file=sys.stderr)
        return 2
    if args.notebook:
        for lesson in chosen:
            path, made = new_notebook(lesson)
            print(f"{lesson.name}: {'made' if made else 'kept (yours, as it is)'} {path}; open it with "
                  f".venv/bin/jupyter lab {os.path.relpath(path)}", flush=True)
        return 0
    env = {}
    if os.environ.get("DLREF_DATA_DIR"):  # the kernels run in lessons/: a relative folder is one from here
        env["DLREF_DATA_DIR"] = str(Path(os.environ["DLREF_DATA_DIR"]).expanduser().resolve())
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
        written = save(notebook, path)
        kept = "" if written == path else f" ({path.name} there has edits: kept as it is)"
        print(f"{lesson.name}: {time.perf_counter() - start:.1f} s -> {written}{kept}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
