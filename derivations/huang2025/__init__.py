"""Huang, Liang & Yang (2025), *How Transformers Learn Regular Language Recognition*.

Two registry names: ``huang2025-even-pairs`` and ``huang2025-parity`` (the
:class:`~dynamics.registry.Derivation` objects ``even_pairs`` and ``parity`` in :mod:`.verify`).
The files, in reading order:

* :mod:`.reduced`: the symbols and the exact symmetry-reduced model (35 coordinates);
* :mod:`.closed_forms`: the phase-1 expansion constants, the max-margin oracle, accuracy;
* :mod:`.data`: strings, labels, embeddings, match patterns, the CoT format;
* :mod:`.direct`: the numpy one-layer transformer (hand-written backward pass), CoT inference;
* :mod:`.measure`: measurements on trajectories (separation time, 1 - cos to the max-margin
  direction, attention drift and its laws, the onset of log growth, the saddle);
* :mod:`.experiments`: the runs (flow, direct GD, reduced GD map, saddle experiment, the
  full-model flow);
* :mod:`.cot`: CoT training into phase 2 (GD, then the full-model flow; the earlier format as contrast);
* :mod:`.claims`: one function per claim;
* :mod:`.findings`: the registered findings;
* :mod:`.figures`, :mod:`.verify`: figures, and ``Settings``, ``RECONSTRUCTED``, the two
  verifications and the two derivations.
"""
