"""Each paper's docs page has a "Findings" section that lists exactly the findings its
derivations register (so the docs match the report)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dynamics import registry
from dynamics.claims import Finding

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _page(name: str) -> Path:
    return DOCS / f"{name.split('-')[0]}.md"


def findings_section(text: str) -> str | None:
    """The body of the page's ``## Findings`` section, or None."""
    m = re.search(r"^## Findings[^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return None if m is None else m.group(1)


def listed_ids(section: str, prefix: str) -> set[str]:
    """Claim ids named in backticks at the start of a list item or heading of the section
    (the entries: each must be a registered finding)."""
    return set(re.findall(rf"^(?:[-*]|#+)\s+(?:\*\*)?`({re.escape(prefix)}\.[A-Za-z0-9_.-]+)`", section, re.M))


def mentioned_ids(section: str, prefix: str) -> set[str]:
    """Claim ids named in backticks anywhere in the section (every finding must be)."""
    return set(re.findall(rf"`({re.escape(prefix)}\.[A-Za-z0-9_.-]+)`", section))


PAGES: dict[Path, list[str]] = {}
for _n in registry.names():
    if _page(_n).exists():
        PAGES.setdefault(_page(_n), []).append(_n)


@pytest.mark.parametrize("page", sorted(PAGES), ids=lambda p: p.name)
def test_findings_section_matches_registered_findings(page):
    registered: set[str] = set()
    for name in PAGES[page]:
        d = registry.get(name)
        assert all(isinstance(f, Finding) for f in d.findings)
        registered |= {f.claim for f in d.findings}
    section = findings_section(page.read_text())
    assert section is not None, f"{page.name} has no '## Findings' section"
    prefix = page.stem
    assert registered <= mentioned_ids(section, prefix), "findings missing from the docs"
    assert listed_ids(section, prefix) <= registered, "docs list findings that are not registered"


def test_the_check_sees_a_missing_or_extra_finding():
    """Negative control: a page that lists another id, or none, does not match."""
    text = "# x\n\n## Findings\n\n- `p.a`: one.\n- `p.b`: two.\n\n## Next\n- `p.c`: not here.\n"
    assert listed_ids(findings_section(text) or "", "p") == {"p.a", "p.b"}
    assert not {"p.a", "p.b", "p.c"} <= mentioned_ids(findings_section(text) or "", "p")
    assert findings_section("# x\n## Claims\n") is None
