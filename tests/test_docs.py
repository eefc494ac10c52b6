"""The repository is self-contained: code and tests cite documents of the repository, by section
headings that exist, and nothing reads from outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    path
    for folder in ("seqstore", "tests", "bench")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if "data" not in path.relative_to(ROOT).parts
]
CITATION = re.compile(r'docs/([a-z0-9-]+\.md), "([^"]+)"')
# Documents the project once cited that live outside the repository.
OUTSIDE = re.compile(r"spec §|spec [a-z-]+\.md|wire-protocol\.md|quotas\.md|\.\./shared|shared/(spec|testdata)")


def headings(document: Path) -> set[str]:
    return {line[3:].strip() for line in document.read_text().splitlines() if line.startswith("## ")}


def test_every_citation_names_a_section_that_exists() -> None:
    cited = 0
    for path in SOURCES:
        for document, section in CITATION.findall(path.read_text()):
            target = ROOT / "docs" / document
            assert target.exists(), f"{path.relative_to(ROOT)} cites docs/{document}, which does not exist"
            assert section in headings(target), f"{path.relative_to(ROOT)} cites a missing section: {section!r}"
            cited += 1
    assert cited > 10  # the check saw the citations


def test_nothing_cites_or_reads_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SOURCES
        if path != this
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line) and "CRAM spec" not in line
    ]
    assert not found, "\n".join(found)
