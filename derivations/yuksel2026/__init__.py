"""Yüksel, Alvarez Lucendo & Flammarion (2026): incremental learning of sparse attention patterns.

Registry name ``yuksel2026`` (``dynamics verify yuksel2026``); the ``Derivation`` object is
:data:`derivations.yuksel2026.verify.derivation`. Files in reading order:

- ``reduced.py``: Eq. 4 (replicator and J2 forms) and its closed form, as ``ReducedModel``\\ s;
- ``closed_forms.py``: plateau levels, final levels and the other predictions;
- ``data.py``: the teacher (the sparse-span Markov chain and its regression targets) and data sets;
- ``direct.py``: the minimal transformer in numpy (hand-written backward pass);
- ``regression.py``: the regression variant's student, the model of the bridge test;
- ``measure.py``: transition times and other measurements on Eq. 4 trajectories;
- ``bridge.py``: GD on the regression variant against the pipeline's J2 flow;
- ``transformer.py``: training the minimal transformer and the analysis of its stages;
- ``claims.py``: measurements -> claims (Eq. 4, the bridge);
- ``claims_transformer.py``: the minimal transformer's claims;
- ``tf_suite.py``: the minimal transformer's verify runs and their measurements;
- ``baselines.py``: Fig. 5's learned restricted models (``--set baselines=true``);
- ``experiments.py``: the Eq. 4 suite and the phase diagrams;
- ``figures.py``: the figures;
- ``findings.py``: registered findings (none);
- ``verify.py``: ``Settings``, ``RECONSTRUCTED``, ``verify`` and ``derivation``.
"""
