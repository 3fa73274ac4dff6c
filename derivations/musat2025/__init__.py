"""Musat (2025), *Mechanism and Emergence of Stacked Attention Heads in Multi-Layer
Transformers* (spec ``shared/papers/musat2025_stacked_heads.md``).

Work in progress: :mod:`.data` (the retrieval task generator and the depth bound). The
registry entry ``musat2025`` is added when the verification lands.
"""
