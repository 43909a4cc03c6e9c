"""The README is the front door: short, and every link in it leads to a page of the site.

Its Python blocks, its command lines and the sentences it quotes are checked with every other page's in
``tests/test_docs.py``.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_fits_on_a_few_screens():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"the README has {len(lines)} lines; move reference material to a page of docs/"


def test_the_readme_has_the_two_commands_the_tables_and_the_worked_example():
    text = README.read_text()
    for needed in ("    make train", "    make test", "| slide | dlref |", "| lesson | the deck's slides |",
                   "| command | what it does |", "tensor([24., 47.]"):
        assert needed in text, f"the README lacks {needed!r}"


def test_every_link_of_the_readme_leads_to_a_file_and_every_page_is_linked():
    targets = [t for t in LINK.findall(README.read_text()) if not re.match(r"[a-z]+:|#", t)]
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert not missing, f"the README links to files that are not there: {missing}"
    pages = {str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")} | {"docs/lessons/index.md",
                                                                                 "docs/api/index.md", "CHANGELOG.md"}
    assert not pages - {t.split("#")[0] for t in targets}, f"pages the README does not link: {pages - set(targets)}"
