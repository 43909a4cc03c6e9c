"""The documentation site as a reader gets it: built strictly and offline, then read in a real browser.

The module builds the site once, as ``make docs`` does (``mkdocs build --strict``, into a folder of its own), taking
the lessons' executed notebooks from the session's ``rendered_lessons`` where tests/test_lessons.py has just run them
all, else from ``lessons/rendered/``, running only a lesson whose notebook is missing or stale (then it needs
MNIST). It checks the pages' contents in the built HTML, then serves the folder on 127.0.0.1 and opens the home page
and the lessons' pages in Debian's headless Chromium, driven by Selenium through Debian's chromedriver as in the
demo's browser test: their figures load, the browser logs no error, and every request it makes goes to 127.0.0.1.
``.ci/run`` installs what this needs (``make setup-docs``); elsewhere it is skipped with the reason, in CI it fails
instead.
"""

import functools
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import chromium  # tests/chromium.py: Debian's Chromium, as these machines run it
import pytest

REPO = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.stem for p in (REPO / "lessons").glob("[0-9][0-9]_*.py"))


chromium.require(("selenium", "mkdocs", "material", "mkdocstrings_handlers.python", "nbconvert"), "setup-docs",
                 "the site check")

from mkdocs.exceptions import PluginError  # noqa: E402

pytestmark = pytest.mark.slow  # the site built, then read in a browser


def _hooks():
    """``docs/hooks.py``, the site's own build steps (not a package: loaded from its file)."""
    spec = importlib.util.spec_from_file_location("dlref_docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory, request) -> Path:
    hooks = _hooks()
    render = hooks._render_module()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    shared = request.getfixturevalue("rendered_lessons")  # tests/test_lessons.py's notebooks, when it ran first
    if all(hooks.fresh_notebook(render, lesson, shared) is not None for lesson in render.lessons()):
        env[hooks.RENDERED_ENV] = str(shared)  # every lesson just ran: none runs again
    elif any(hooks.fresh_notebook(render, lesson, hooks.rendered_folder()) is None for lesson in render.lessons()):
        env["DLREF_DATA_DIR"] = str(request.getfixturevalue("mnist_root"))  # lessons to run first: MNIST (or skip)
    folder = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-6000:]}"
    print(f"site built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return folder


def text_of(page: Path) -> str:
    """The words of a built page, its tags removed (enough to find a sentence or an equation in it)."""
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page.read_text())).split())  # "<span>tensor</span>(" too


def test_every_page_of_the_site_is_built(site):
    for page in ["index", "changelog", "setup", "slides", "training", "evaluation", "predict", "demo", "reliability",
                 "performance", "scale-out", "gpu-check", "lessons/index", *(f"lessons/{n}" for n in LESSONS),
                 "api/index", "api/layers", "api/lstm", "api/lightning"]:
        assert (site / f"{page}.html").is_file(), f"the site has no {page}.html"
    home = text_of(site / "index.html")
    assert "tensor([24., 47.]" in home and "The slides in code" in home  # the README, as the home page


def test_each_slide_page_of_the_api_shows_its_equation_and_its_torch_twin(site):
    for page, equation, twin in [("layers", "Y = activate(W·X + B)", "nn.Linear"),
                                 ("loss", "E = −Σ_k t_k log y_k", "F.cross_entropy"),
                                 ("optimizer", "W ← W − η ∂L/∂W", "torch.optim.SGD"),
                                 ("lstm", "c_t = f ⊙ c_{t−1} + i ⊙ g", "nn.LSTM"),
                                 ("cnn", "(f*g)(t)", "nn.Conv2d")]:
        words = text_of(site / "api" / f"{page}.html")
        assert equation in words and twin in words and "Torch twin" in words, f"api/{page}.html lacks them"


def test_the_lesson_pages_are_the_executed_notebooks_with_their_outputs(site):
    lesson1 = text_of(site / "lessons" / f"{LESSONS[0]}.html")
    assert "Lesson 1" in lesson1 and "by hand: [24, 47]" in lesson1  # a cell's printed output, not only its code
    figures = sorted((site / "lessons").glob("*_files/*.png"))
    assert {p.parent.name for p in figures} >= {f"{n}_files" for n in LESSONS[1:]}, "lessons 2-5 draw figures"


def test_a_page_that_would_load_from_another_host_fails_the_build(tmp_path):
    hooks = _hooks()
    (tmp_path / "ok.html").write_text('<a href="https://pytorch.org">torch</a><img src="figures/a.png">'
                                      '<link rel="canonical" href="http://127.0.0.1:8000/">')
    hooks.on_post_build({"site_dir": str(tmp_path)})  # links a reader follows are no loads
    for page in ['<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
                 '<link href="https://fonts.gstatic.com" rel="preconnect"><link rel="canonical" href="/">',
                 '<script src="//cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>',
                 '<style>@font-face{src:url("https://fonts.gstatic.com/s/roboto.woff2")}</style>']:
        (tmp_path / "bad.html").write_text(page)
        with pytest.raises(PluginError, match="loads nothing from another host"):
            hooks.on_post_build({"site_dir": str(tmp_path)})


def test_a_repository_link_becomes_a_link_to_its_page():
    hooks = _hooks()
    readme = "[S](docs/setup.md#data) [1](lessons/01_how_deep_learning.py) [C](CHANGELOG.md) ![f](docs/figures/k.png)"
    assert hooks.site_links(readme, "index.md") == (
        "[S](setup.md#data) [1](lessons/01_how_deep_learning.md) [C](changelog.md) ![f](figures/k.png)")
    assert hooks.site_links("[1](../../lessons/01_x.py) [a](../api/layers.md)", "lessons/index.md") == (
        "[1](01_x.md) [a](../api/layers.md)")


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request in the test's output
        pass


@pytest.fixture(scope="module")
def browser():
    yield from chromium.browser({"browser": "ALL", "performance": "ALL"})  # console errors, every request


FIGURES = """return Array.from(document.querySelectorAll('article img')).map(
    (img) => [img.getAttribute('src'), img.complete && img.naturalWidth > 0]);"""


def read(browser, url: str) -> list[list]:
    """Open ``url``, wait until it has loaded, and return ``[src, loaded]`` for each picture of its article."""
    browser.get(url)
    deadline = time.monotonic() + 30
    while browser.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
        time.sleep(0.1)
    return browser.execute_script(FIGURES)


def test_the_home_page_and_the_lessons_show_their_figures_in_a_browser_without_an_error(served, browser):
    pages = {"index.html": 1, **{f"lessons/{n}.html": 0 if n.startswith("01") else 1 for n in LESSONS}}
    for page, at_least in pages.items():
        figures = read(browser, f"{served}/{page}")
        assert len(figures) >= at_least, f"{page} shows {len(figures)} figures, expected at least {at_least}"
        assert all(loaded for _, loaded in figures), f"{page}: figures that did not load: {figures}"
        if page.startswith("lessons/01"):
            assert "by hand:           [24, 47]" in browser.find_element("tag name", "article").text
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, f"{page}: the browser logged errors: {errors}"
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlsplit(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):
                hosts.add(url.hostname)
    assert hosts == {"127.0.0.1"}, f"the site made requests to other hosts: {hosts - {'127.0.0.1'}}"
