"""The site's own build steps (MkDocs hooks, named in mkdocs.yml; this file is not a page).

- The README is the home page and ``CHANGELOG.md`` a page, each taken from the repository's root. A link in any
  page to a file of the repository that the site holds (``docs/setup.md``, ``../CHANGELOG.md``,
  ``../lessons/01_how_deep_learning_works.py``) becomes a link to its page, so the same Markdown reads on GitHub
  and on the site.
- The five lessons are pages made from their executed notebooks, outputs and figures included (nbconvert's
  Markdown, each figure a PNG beside its page). The notebooks come from ``lessons/rendered/`` (``make lessons``),
  or from the folder that ``DLREF_RENDERED_LESSONS`` names. The build never runs a lesson whose notebook is there
  and fresh, that is rendered from the lesson's current cells (the fingerprint ``lessons/render.py`` records in
  it). Only a missing or stale one is rendered first, into that folder, by ``lessons/render.py``.
- After the build, no page may load anything from another host: a ``<script>``, ``<link>``, ``<img>`` … whose
  address starts with ``http:``, ``https:`` or ``//``, or a stylesheet's ``url(…)`` or ``@import`` of one, fails
  it (a web font, a CDN's MathJax). Links that a reader follows (``<a href>``) load nothing and are allowed.
"""

import importlib.util
import os
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
RENDERED_ENV = "DLREF_RENDERED_LESSONS"  # another folder of executed lessons (e.g. the one the lesson tests fill)
PAGES_AT_ROOT = {"README.md": "index.md", "CHANGELOG.md": "changelog.md"}  # repository file -> site page
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")
REMOTE = r"""(?:https?:)?//"""
LOADS = [  # (what, pattern) of a load from another host, in built HTML and CSS
    ("an element's src",
     re.compile(rf"""<(?:script|img|iframe|source|audio|video|embed|track)\b[^>]*\bsrc\s*=\s*["']?{REMOTE}""", re.I)),
    # A <link> loads what it names, a stylesheet, a font, an icon …, except a page's address for search engines
    # (rel="canonical", which `mkdocs serve` adds) or another form of the page (rel="alternate").
    ("a <link>", re.compile(r"""<link\b(?![^>]*\brel\s*=\s*["']?(?:canonical|alternate)\b)"""
                            rf"""[^>]*\bhref\s*=\s*["']?{REMOTE}""", re.I)),
    ("a stylesheet's url()", re.compile(rf"""url\(\s*["']?{REMOTE}""", re.I)),
    ("a stylesheet's @import", re.compile(rf"""@import\s+(?:url\()?\s*["']?{REMOTE}""", re.I)),
]


def _render_module():
    """``lessons/render.py`` (not a package: loaded from its file), for its fingerprint and its renderer."""
    spec = importlib.util.spec_from_file_location("dlref_lessons_render", LESSONS / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered_folder() -> Path:
    """Where the executed lessons are taken from: ``$DLREF_RENDERED_LESSONS``, else ``lessons/rendered/``."""
    folder = os.environ.get(RENDERED_ENV)
    return Path(folder).expanduser().resolve() if folder else LESSONS / "rendered"


def fresh_notebook(render, lesson: Path, folder: Path):
    """The executed notebook of ``lesson`` in ``folder`` whose cells are the lesson's current cells and were not
    edited since it was rendered (``NN_name.ipynb``, or ``NN_name-2.ipynb`` … where an edited one was kept), or None."""
    import jupytext
    import nbformat

    wanted = render.fingerprint(jupytext.read(lesson))
    for path in sorted(folder.glob(f"{lesson.stem}*.ipynb")):
        if path.stem != lesson.stem and not re.fullmatch(rf"{re.escape(lesson.stem)}-\d+", path.stem):
            continue
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # not a notebook we can read: not one to publish
            continue
        if notebook.metadata.get("dlref", {}).get("fingerprint") == wanted == render.fingerprint(notebook):
            return notebook
    return None


def lesson_notebooks() -> dict[Path, object]:
    """Each lesson's executed notebook, rendering first (and only) those that are missing or stale."""
    render, folder = _render_module(), rendered_folder()
    found = {lesson: fresh_notebook(render, lesson, folder) for lesson in render.lessons()}
    stale = [lesson for lesson, notebook in found.items() if notebook is None]
    if stale:
        print(f"docs: rendering {', '.join(p.name for p in stale)} into {folder} (missing or older than the "
              "lesson)", file=sys.stderr, flush=True)
        if render.main([*(p.name[:2] for p in stale), "--out", str(folder)]) != 0:
            raise PluginError("a lesson failed to run (above); the site shows lessons only as they run")
        found.update({lesson: fresh_notebook(render, lesson, folder) for lesson in stale})
    return found


def lesson_page(notebook, stem: str) -> tuple[str, dict[str, bytes]]:
    """The Markdown of an executed notebook and its figures (``{name: PNG bytes}``, in ``stem_files/``)."""
    from nbconvert import MarkdownExporter

    markdown, resources = MarkdownExporter().from_notebook_node(
        notebook, resources={"output_files_dir": f"{stem}_files", "unique_key": stem})
    return markdown, resources.get("outputs", {})


def site_path(repo_path: str) -> str | None:
    """The site's file for a file of the repository (POSIX, from the root), or None where the site has none."""
    if repo_path in PAGES_AT_ROOT:
        return PAGES_AT_ROOT[repo_path]
    if repo_path.startswith("docs/"):
        return repo_path[len("docs/"):]
    match = re.fullmatch(r"lessons/(\d\d_\w+)\.py", repo_path)
    return f"lessons/{match.group(1)}.md" if match else None


def repo_source(src_uri: str) -> str:
    """Where the page ``src_uri`` of the site lives in the repository."""
    inverse = {page: source for source, page in PAGES_AT_ROOT.items()}
    if src_uri in inverse:
        return inverse[src_uri]
    match = re.fullmatch(r"lessons/(\d\d_\w+)\.md", src_uri)
    return f"lessons/{match.group(1)}.py" if match and not src_uri.endswith("index.md") else f"docs/{src_uri}"


def site_links(markdown: str, src_uri: str) -> str:
    """``markdown`` of the page ``src_uri`` with each relative link to a repository file made one to its page."""
    source_dir = posixpath.dirname(repo_source(src_uri))
    page_dir = posixpath.dirname(src_uri)

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"[a-z]+:|#|/", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        site = site_path(posixpath.normpath(posixpath.join(source_dir, path)))
        if site is None:
            return match.group(0)  # left for MkDocs to judge (strict: a link to nothing fails the build)
        new = posixpath.relpath(site, page_dir or ".") + (f"#{anchor}" if anchor else "")
        return f"{match.group(1)}{new}{match.group(3)}"

    return LINK.sub(fix, markdown)


def on_files(files, config):
    for source, page in PAGES_AT_ROOT.items():
        files.append(File.generated(config, page, content=(ROOT / source).read_text(encoding="utf-8")))
    for lesson, notebook in lesson_notebooks().items():
        markdown, figures = lesson_page(notebook, lesson.stem)
        files.append(File.generated(config, f"lessons/{lesson.stem}.md", content=markdown))
        for name, data in figures.items():
            files.append(File.generated(config, f"lessons/{name}", content=data))
    return files


def on_page_markdown(markdown, page, config, files):
    return site_links(markdown, page.file.src_uri)


def on_post_build(config):
    site, found = Path(config["site_dir"]), []
    for path in sorted([*site.rglob("*.html"), *site.rglob("*.css")]):
        text = path.read_text(encoding="utf-8", errors="replace")
        for what, pattern in LOADS:
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(site)}: {what} from another host: {match.group(0)[:120]}")
    if found:
        raise PluginError("expected a site that loads nothing from another host (it must work offline), found:\n"
                          + "\n".join(found[:20]))
