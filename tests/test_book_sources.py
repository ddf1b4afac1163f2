"""Every citation in the book resolves inside it: no page cites the specs' sections, every
mention of a secondary source S1…S6 links to its entry on the Sources page, and every claim's
document is readable without the specs."""
from __future__ import annotations

import re
from pathlib import Path

from replicate.experiments import rows

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_pages_cite_no_spec_sections_and_link_every_secondary_source():
    sources = (BOOK / "sources.md").read_text()
    for key in range(1, 7):
        assert f"(source-s{key})=" in sources
    for page in sorted(BOOK.glob("*.md")):
        if page.name == "sources.md":
            continue
        text = page.read_text()
        assert "§" not in text and "spec-" not in text, page.name
        bare = [m.group(0) for m in re.finditer(r"(?<![\[\w-])S[1-6]\b(?!\]\(source-s)", text)]
        assert not bare, f"{page.name}: unlinked {bare}"


def test_claim_documents_do_not_send_readers_to_the_specs():
    for r in rows():
        for c in r.claims:
            for text in (c.source.document, c.note, str(c.checkable_here)):
                assert "§" not in text and "spec-" not in text, (r.id, text)
