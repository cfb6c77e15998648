"""docs/semantics holds the project's account of the Azure rules the engine implements.

Code cites it as ``docs/semantics/PAGE.md#anchor``: every such citation in src/ must name a page
and an anchor that exist, every link between the pages must resolve, and every page must rest on
at least one Microsoft Learn source. The research notes the code used to cite
(``azure-semantics*.md``, ``notes/*.md``) live outside the repository, so src/ must stop naming
them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "vnetdoctor"
DOCS = REPO / "docs" / "semantics"

CITATION = re.compile(r"docs/semantics/([A-Za-z0-9_.-]+\.md)(?:#([A-Za-z0-9_-]+))?")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
RELATIVE_LINK = re.compile(r"\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]+))?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
OUTSIDE_NOTES = ("azure-semantics", "shared/notes", "notes/dependencies.md")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Explicit ``<a id>`` anchors and heading slugs (``-1``, ``-2`` for repeated headings)."""
    found = set(EXPLICIT_ANCHOR.findall(markdown))
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match is None:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def broken_citations(text: str) -> list[str]:
    """The ``docs/semantics/...`` citations in ``text`` whose page or anchor does not exist."""
    broken = []
    for match in CITATION.finditer(text):
        page, anchor = DOCS / match.group(1), match.group(2)
        if not page.is_file():
            broken.append(f"{match.group(0)}: no such page")
        elif anchor is not None and anchor not in anchors(page.read_text()):
            broken.append(f"{match.group(0)}: no anchor {anchor!r} in {page.name}")
    return broken


def test_the_pages_exist() -> None:
    names = {p.name for p in pages()}
    assert {"index.md", "nsg.md", "routes.md", "terraform.md"} <= names


def test_anchor_reader_finds_explicit_anchors_and_heading_slugs() -> None:
    text = (
        '<a id="nsg-1"></a>\n## Layers: subnet NSG and NIC NSG\n'
        "```\n# not a heading\n```\n## X\n## X\n"
    )
    assert anchors(text) == {"nsg-1", "layers-subnet-nsg-and-nic-nsg", "x", "x-1"}


def test_a_citation_to_a_missing_anchor_or_page_is_reported() -> None:
    text = (
        "see docs/semantics/nsg.md#layers and docs/semantics/nsg.md#no-such-anchor, "
        "docs/semantics/no-such-page.md and docs/semantics/routes.md"
    )
    assert broken_citations(text) == [
        "docs/semantics/nsg.md#no-such-anchor: no anchor 'no-such-anchor' in nsg.md",
        "docs/semantics/no-such-page.md: no such page",
    ]


def test_every_citation_in_src_exists() -> None:
    broken = [
        f"{path.relative_to(REPO)}: {problem}"
        for path in sorted(SRC.rglob("*.py"))
        for problem in broken_citations(path.read_text())
    ]
    assert broken == []


def test_links_between_the_pages_resolve() -> None:
    broken = []
    for page in pages():
        for match in RELATIVE_LINK.finditer(page.read_text()):
            target_text, anchor = match.group(1), match.group(2)
            target = (page.parent / target_text).resolve() if target_text else page
            if not target.is_file():
                broken.append(f"{page.name}: {match.group(0)}: no such file")
            elif (
                anchor is not None
                and target.suffix == ".md"
                and anchor not in anchors(target.read_text())
            ):
                broken.append(f"{page.name}: {match.group(0)}: no anchor {anchor!r}")
    assert broken == []


def test_decision_ids_have_their_anchor() -> None:
    """A decision heading ``### NSG-2: ...`` carries the anchor ``nsg-2`` that code cites."""
    missing = []
    for page in pages():
        text = page.read_text()
        for ident in re.findall(r"^###\s+([A-Z]+-\d+):", text, flags=re.MULTILINE):
            if ident.lower() not in EXPLICIT_ANCHOR.findall(text):
                missing.append(f"{page.name}: {ident}")
    assert missing == []


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_every_page_cites_microsoft_learn(page: Path) -> None:
    assert "https://learn.microsoft.com/" in page.read_text()


def test_src_no_longer_cites_the_notes_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(note in line for note in OUTSIDE_NOTES)
    ]
    assert offenders == []
