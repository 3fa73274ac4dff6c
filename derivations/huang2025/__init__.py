"""Huang, Liang & Yang (2025), *How Transformers Learn Regular Language Recognition*.

Sub-modules, in the order a derivation reads: :mod:`.data` (strings, labels, embeddings,
match patterns), :mod:`.reduced` (the sympy reduced model), :mod:`.closed_forms` (phase-1
expansion, max-margin oracle), :mod:`.direct` (the numpy transformer, CoT inference),
:mod:`.measure`, :mod:`.claims`, :mod:`.findings` (the registered findings) and
:mod:`.verify`. Two registry names: ``huang2025-even-pairs`` and
``huang2025-parity``.
"""

from __future__ import annotations

from derivations.huang2025.findings import EVEN_PAIRS_FINDINGS, PARITY_FINDINGS
from derivations.huang2025.reduced import reduced_model
from derivations.huang2025.verify import RECONSTRUCTED, Setting, verify_even_pairs, verify_parity
from dynamics.registry import Derivation

even_pairs = Derivation(
    name="huang2025-even-pairs",
    title="Huang, Liang & Yang 2025: even pairs, two phases and an O(1/t) loss (exact reduction + direct GD)",
    model=reduced_model,
    verify=verify_even_pairs,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
    findings=EVEN_PAIRS_FINDINGS,
)

parity = Derivation(
    name="huang2025-parity",
    title="Huang, Liang & Yang 2025: parity by chain of thought (inference with the EP model, and CoT training)",
    model=reduced_model,
    verify=verify_parity,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
    findings=PARITY_FINDINGS,
)

__all__ = ["even_pairs", "parity"]
