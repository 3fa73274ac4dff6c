"""Sander, Giryes, Suzuki, Blondel & Peyré (2024), *How do Transformers perform In-Context
Autoregressive Learning?* (spec ``shared/papers/sander2024_in_context_autoregressive.md``).
Registry name ``sander2024`` (the :class:`~dynamics.registry.Derivation` is
:data:`.verify.derivation`).

Files, in reading order:

* :mod:`.monomials`: exact expectations over uniform phases by monomial expansion, the engine
  of the derivations;
* :mod:`.reduced`: the reduced losses of (A0) and (N0) derived in sympy, and the reduced
  models (:class:`~dynamics.model.ReducedModel`);
* :mod:`.closed_forms`: the theory's numbers: optimal one-step-GD steps (A1), GD baselines,
  (N1) and its minimum, the $(H-d)/(H+2)$ law, the PE-only loss and steps to a threshold;
* :mod:`.data`: autoregressive sequences (Monte Carlo, exact angle quadrature), PE-only data;
* :mod:`.direct_augmented`, :mod:`.direct_nonaugmented`, :mod:`.direct_pe_only`: the numpy
  models (augmented-token attention (A0) and M-aug; the diagonal multi-head model (N0); the
  PE-only attention), trained by :func:`dynamics.direct.train`;
* :mod:`.haar`: non-commuting Haar $W$, a multi-layer attention and layer / head sweeps;
* :mod:`.fig3`: the authors' coded Fig. 3 losses and protocol at their sizes, many seeds;
* :mod:`.claims`: one function per claim group; :mod:`.claims_authors`: the claims against
  the authors' own runs (their saved tensors, their Haar experiments);
* :mod:`.experiments`: the verify stages (experiments -> claims -> figures);
  :mod:`.experiments_authors`: the stages that rerun the authors' experiments at their sizes;
* :mod:`.findings`: claims known not to hold, explained;
* :mod:`.verify`: ``Settings``, ``RECONSTRUCTED``, ``verify`` and ``derivation``.
"""
