"""Sander, Giryes, Suzuki, Blondel & Peyré (2024), *How do Transformers perform In-Context
Autoregressive Learning?* (spec ``shared/papers/sander2024_in_context_autoregressive.md``).

Sub-modules: :mod:`.data` (autoregressive sequences, exact angle quadrature),
:mod:`.augmented` (the augmented-token linear attention and one-step gradient descent),
:mod:`.nonaugmented` (the diagonal multi-head model (N0) and the PE-only attention),
:mod:`.haar` (non-commuting W), :mod:`.monomials` and :mod:`.reduced` (the derivations),
:mod:`.verify` (the claims) and :mod:`.findings` (claims known not to hold, explained).
"""
