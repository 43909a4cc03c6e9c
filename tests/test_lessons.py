"""The lessons (``lessons/NN_*.py``): each runs top to bottom as a notebook, within its time budget, and together
they hold every code snippet of the deck, each "your turn" cell with its checker and its solution.

The deck's snippets are those ``tests/test_slides.py`` quotes, section by section (its ``# ----`` lines); a new
section there fails ``test_every_slide_section_of_test_slides_is_covered`` until ``SNIPPETS`` lists what a lesson
shows of it. The lessons run as ``make lessons`` runs them (``lessons/render.py``), with the real MNIST.
"""

import ast
import importlib.util
import inspect
import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
BUDGET_S = 60  # each lesson, with its defaults, on the 2-core CPU (the "under a minute")

# The deck's snippets, by the section of tests/test_slides.py that quotes them; each must appear in a lesson.
SNIPPETS = {
    "Parameterization, Layers": ["class Layer { W, B, activate; forward(X) = activate(W·X + B) }",
                                 "ReLU = x > 0 ? x : 0", "W.mul(X).add(B)"],
    "Models": ["model.add(layer1); model.add(layer2); model.add(layer3); Y = model.predict(X)"],
    "Loss function": ["E = −Σ_k t_k log y_k", "E = ½ Σ_k (y_k − t_k)²"],
    "Back propagation, Optimizer": ["optimizer = new SGD(0.001)", "W = optimizer.update(W, gradients)",
                                    "optimizer.update(model.W, loss)",
                                    "optimizer.update([layer1, layer2, layer3], loss)", "W ← W − η ∂L/∂W"],
    "Training": ["train(data) { for (X, target) in data: Y = model.predict(X); loss = LossFunction(Y, target); "
                 "optimizer.update(model.W, loss) }"],
    "Evaluation": ["evaluate(model, data) → {accuracy, loss}", "[train, validation] = split(rawData, 0.8)"],
    "FCN": ["Y = W·X + b", "[[1, 2], [3, 4]]·[5, 6] + [7, 8] = [24, 47]"],
    "CNN": ["(f*g)(t) = Σ_τ f(τ) g(t − τ)", "Y = activate(W * X + B)"],
    "RNN": ["f = σ(x_t W_x^(f) + h_{t−1} W_h^(f) + b^(f))", "g = tanh(x_t W_x^(g) + h_{t−1} W_h^(g) + b^(g))",
            "i = σ(x_t W_x^(i) + h_{t−1} W_h^(i) + b^(i))", "o = σ(x_t W_x^(o) + h_{t−1} W_h^(o) + b^(o))",
            "c_t = f ⊙ c_{t−1} + i ⊙ g", "h_t = o ⊙ tanh(c_t)"],
}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _squeeze(text: str) -> str:
    """Text without what differs between a one-line quote and a notebook's block: spaces, line breaks, ``;``, the
    ``#`` of a markdown cell and Markdown's backticks."""
    return re.sub(r"[\s;#`]", "", text)


def _exercises(lesson: Path) -> list[tuple[str, str]]:
    """``(name, source)`` of each "your turn" stub: a function whose body is ``raise NotImplementedError``."""
    tree = ast.parse(lesson.read_text())
    return [(node.name, ast.get_source_segment(lesson.read_text(), node)) for node in tree.body
            if isinstance(node, ast.FunctionDef) and len(node.body) == 1 and isinstance(node.body[0], ast.Raise)
            and getattr(node.body[0].exc, "id", None) == "NotImplementedError"]


def test_there_are_five_lessons_one_per_part_of_the_deck():
    assert [p.name[:2] for p in LESSON_FILES] == ["01", "02", "03", "04", "05"], LESSON_FILES


def test_every_slide_section_of_test_slides_is_covered():
    sections = re.findall(r"^# ---- ([^:]+):", (ROOT / "tests" / "test_slides.py").read_text(), re.M)
    assert sections == list(SNIPPETS), "tests/test_slides.py's sections and SNIPPETS differ: list what the lessons show"


@pytest.mark.parametrize("section", list(SNIPPETS))
def test_every_snippet_of_the_deck_appears_in_a_lesson(section):
    lessons = {p.name: _squeeze(p.read_text()) for p in LESSON_FILES}
    missing = [s for s in SNIPPETS[section] if not any(_squeeze(s) in text for text in lessons.values())]
    assert not missing, f"the {section} slide's {missing} appear in no lesson"


@pytest.mark.parametrize("lesson", LESSON_FILES, ids=lambda p: p.stem)
def test_each_your_turn_stub_has_its_checker_and_a_solution_with_its_signature(lesson):
    check = _load("lessons_check", LESSONS / "check.py")
    solutions = _load(f"lessons_solution_{lesson.name[:2]}", LESSONS / "solutions" / f"lesson{int(lesson.name[:2])}.py")
    stubs = _exercises(lesson)
    assert stubs, f"{lesson.name} has no 'your turn' cell"
    text = lesson.read_text()
    for name, source in stubs:
        assert re.search(rf"check\.{name}\({name}\b", text), f"{lesson.name}: {name} is never checked"
        assert callable(getattr(check, name, None)), f"lessons/check.py has no checker {name}"
        solution = getattr(solutions, name, None)
        assert solution is not None, f"solutions/lesson{int(lesson.name[:2])}.py has no {name}"
        stub_args = ast.parse(source).body[0].args
        assert [a.arg for a in stub_args.args] == list(inspect.signature(solution).parameters), name


def test_every_checker_is_used_by_a_lesson():
    check = _load("lessons_check", LESSONS / "check.py")
    checkers = {name for name, fn in vars(check).items() if callable(fn) and getattr(fn, "__wrapped__", None)}
    used = {name for lesson in LESSON_FILES for name, _ in _exercises(lesson)}
    assert checkers == used


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSON_FILES, ids=lambda p: p.stem)
def test_each_lesson_runs_top_to_bottom_within_its_budget(lesson, mnist_root, rendered_lessons, monkeypatch, capsys):
    # Rendered into the session's folder, from which tests/test_site.py builds the lessons' pages without running
    # them again.
    render = _load("lessons_render", LESSONS / "render.py")
    monkeypatch.setenv("DLREF_DATA_DIR", str(mnist_root))
    monkeypatch.delenv("DLREF_LESSONS_FULL", raising=False)  # the defaults: the sizes the budget is for
    mine = rendered_lessons / lesson.with_suffix(".ipynb").name  # a learner's notebook where the rendering goes
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42  # mine")]), mine)
    before = mine.read_bytes()
    start = time.perf_counter()
    code = render.main([lesson.name[:2], "--out", str(rendered_lessons)])  # as `make lessons` runs it
    seconds = time.perf_counter() - start
    assert code == 0, f"{lesson.name} stopped at a cell that raised (its traceback above)"
    assert mine.read_bytes() == before, "make lessons replaced a notebook with the learner's edits"
    notebook = nbformat.read(rendered_lessons / f"{lesson.stem}-2.ipynb", as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert not [o for o in outputs if o.output_type == "error"]
    for name, _ in _exercises(lesson):  # each checker ran on its stub and said so
        assert f"… {name}: not written yet" in text, f"{lesson.name}: no verdict from check.{name}"
    assert "✘" not in text, f"{lesson.name}: a checker found a shipped cell wrong"
    assert any("image/png" in o.get("data", {}) for o in outputs) or lesson.name.startswith("01")
    assert seconds < BUDGET_S, f"{lesson.name} took {seconds:.1f} s, over its budget of {BUDGET_S} s"
    print(f"{lesson.name}: {seconds:.1f} s")


def test_render_refuses_a_selection_that_names_no_lesson(tmp_path, capsys):
    render = _load("lessons_render", LESSONS / "render.py")
    assert render.main(["99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "expected a lesson whose name starts with 99, found none" in err and "01, 02" in err
    assert not list(tmp_path.iterdir())


def test_rendering_never_replaces_a_notebook_with_edits_and_goes_where_no_learner_works(tmp_path):
    render = _load("lessons_render", LESSONS / "render.py")
    assert render.RENDERED != LESSONS and render.RENDERED.parent == LESSONS  # make lessons: lessons/rendered/
    lesson = LESSON_FILES[0]
    rendered = jupytext.read(lesson)
    path = tmp_path / lesson.with_suffix(".ipynb").name
    assert render.save(rendered, path) == path
    assert render.save(jupytext.read(lesson), path) == path  # our own, unedited: replaced
    assert not (tmp_path / f"{lesson.stem}-2.ipynb").exists()
    mine = nbformat.read(path, as_version=4)  # the learner adds a cell of their own and saves
    mine.cells.append(nbformat.v4.new_code_cell("answer = 42  # mine"))
    nbformat.write(mine, path)
    assert render.save(jupytext.read(lesson), path) == tmp_path / f"{lesson.stem}-2.ipynb"
    assert nbformat.read(path, as_version=4).cells[-1].source == "answer = 42  # mine"
    jupyter = tmp_path / "other.ipynb"  # a notebook that jupytext or Jupyter wrote: no fingerprint of ours
    nbformat.write(jupytext.read(lesson), jupyter)
    before = jupyter.read_bytes()
    assert render.save(jupytext.read(lesson), jupyter) == tmp_path / "other-2.ipynb" and jupyter.read_bytes() == before


def test_make_notebook_makes_the_learners_notebook_once_and_then_keeps_it(tmp_path, monkeypatch, capsys):
    render = _load("lessons_render", LESSONS / "render.py")
    lesson = LESSON_FILES[0]
    path, made = render.new_notebook(lesson, tmp_path)
    assert made and path == tmp_path / lesson.with_suffix(".ipynb").name
    notebook = nbformat.read(path, as_version=4)
    assert "jupytext" not in notebook.metadata and any("import check" in c.source for c in notebook.cells)
    notebook.cells[0].source += "\nmy note"
    nbformat.write(notebook, path)
    before = path.read_bytes()
    assert render.new_notebook(lesson, tmp_path) == (path, False) and path.read_bytes() == before
    monkeypatch.setattr(render, "LESSONS", tmp_path)  # main() as `make notebook LESSON=01` runs it, in tmp_path
    monkeypatch.setattr(render, "lessons", lambda: [lesson])
    assert render.main(["--notebook", "01"]) == 0 and path.read_bytes() == before
    assert "kept (yours, as it is)" in capsys.readouterr().out
