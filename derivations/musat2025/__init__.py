"""Musat (2025), *Mechanism and Emergence of Stacked Attention Heads in Multi-Layer
Transformers* (spec ``shared/papers/musat2025_stacked_heads.md``).

Registry name: ``musat2025`` (the :class:`~dynamics.registry.Derivation` ``derivation`` in
:mod:`.verify`). The files, in reading order:

* :mod:`.reduced`: the reduced model R1 (spec 5.2, the spec's proposal);
* :mod:`.data`: the retrieval task generator and the paper's depth bound;
* :mod:`.direct`: the attention-only numpy transformer (hand-written backward pass);
* :mod:`.construct`: the hand-set constructive circuit (one hop per layer);
* :mod:`.doubling`, :mod:`.logdepth`: the depth counting under Assumption 1 and a hand-set
  pointer-doubling circuit, with its claims (issue 17 item 4);
* :mod:`.measure`: structural attention scores, emergence times, order statistics and tests;
* :mod:`.ablation`: heads identified by cause (zero-ablation) and the emergence of each hop level;
* :mod:`.experiments`: training settings, seeded runs and their records;
* :mod:`.units`: the unit carrying each hop level in a run, its emergence, and the emergence
  steps per regime (the interface to R1);
* :mod:`.r1_transformer`: R1's predictions beside the measured emergence steps (issue 17 item 5);
* :mod:`.claims`: one function per claim group;
* :mod:`.findings`: the registered findings;
* :mod:`.figures`, :mod:`.verify`: figures, and ``Settings``, ``RECONSTRUCTED``, the
  verification and the ``derivation``.
"""
