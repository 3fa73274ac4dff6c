"""Sander, Giryes, Suzuki, Blondel & Peyré (2024), *How do Transformers perform In-Context
Autoregressive Learning?* (spec ``shared/papers/sander2024_in_context_autoregressive.md``).

Sub-modules: :mod:`.data` (autoregressive sequences, exact angle quadrature) and
:mod:`.augmented` (the augmented-token linear attention and one-step gradient descent).
"""
