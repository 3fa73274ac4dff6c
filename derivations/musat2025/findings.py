"""Registered findings of ``musat2025``: claims known not to hold, with their explanation.

None at present. The two findings of the first transformer experiment (``musat2025.curriculum``:
IC-A supervised labels no causal model can know; ``musat2025.order-seeds``: the roles compared
were two co-requisites of one circuit, read off a coarse grid without a tie tolerance) were
retired with those claims by issue 17: IC-A now supervises only determined labels
(:func:`~derivations.musat2025.data.RetrievalTask`), the curriculum is a rate over seeds per
regime and the order is that of the stacked hop-level heads identified by ablation
(:mod:`derivations.musat2025.ablation`). A finding added here must name a claim the
derivation produces (the tests check it).
"""

from __future__ import annotations

from dynamics.claims import Finding

__all__ = ["FINDINGS"]

FINDINGS: tuple[Finding, ...] = ()
