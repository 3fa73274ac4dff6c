"""Registered findings of Yüksel, Alvarez Lucendo & Flammarion (2026): none.

Every claim of ``dynamics verify yuksel2026`` holds at its derived tolerance; docs/yuksel2026.md
(section Findings) says why the two readings that once failed are not findings.
"""

from __future__ import annotations

from dynamics.claims import Finding

FINDINGS: tuple[Finding, ...] = ()
