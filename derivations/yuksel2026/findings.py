"""Registered findings of Yüksel, Alvarez Lucendo & Flammarion (2026): none.

Every claim of ``dynamics verify yuksel2026`` holds at its derived tolerance. The two
claims that failed before were our own measurement, and both were fixed rather than
registered: ``yuksel2026.tf-boundaries`` timed the stage boundaries where a head's argmax
flips (mid-drop, 400 and 740) instead of where a plateau ends (the loss-drop onset, ~374 and
~581 against the paper's 330 and 575); ``yuksel2026.ode-handoff-argmax`` read the hand-off
by each head's most attended position, which does not move when the recruited head ends
split 0.52 / 0.48 (as in the paper's own Fig. 10), and was dropped in favour of the
mass-based ``yuksel2026.ode-handoff``. docs/yuksel2026.md (section Findings) says the same.
"""

from __future__ import annotations

from dynamics.claims import Finding

FINDINGS: tuple[Finding, ...] = ()
