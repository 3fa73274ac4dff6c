"""A sweep over a model object against the same sweep by registry name (issue 18, item 7).

Run ``python benchmarks/bench_sweep_spec.py [--quick] [--json FILE]``.

The model is the order-parameter flow of online SGD in a soft committee machine
(Saad & Solla 1995, erf activation, K = M = 2: Q11, Q12, Q22, R11, R12, R21, R22), written
with the closed-form Gaussian integrals I3 and I4 expanded into one large sympy expression
per coordinate: the kind of model whose ``srepr`` (the content hash of
:func:`dynamics.codegen.model_key`) takes a noticeable time. The same sweep is run three
ways in this process, after one warm-up that fills the disk cache:

* **object**: ``sweep(model_object, ...)`` (the object is pickled to the workers);
* **name**: ``sweep("bench-committee", ...)`` after ``registry.register`` (workers rebuild
  the model from the registry; this is the reference);
* **model_key**: the time of one :func:`model_key` call on a fresh copy of the model (what a
  sweep used to pay per task) and on the same object a second time (memoised).

It prints the wall times and the ratio object / name (target: about 1, the overhead of
the object path gone).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import sys
import time

import sympy as sp


def committee(K: int = 2, M: int = 2):
    r"""Saad & Solla's ODEs for the soft committee machine, $g(x) = \mathrm{erf}(x/\sqrt2)$,
    learning rate ``eta`` (parameter, no default), teacher overlaps $T_{nm} = \delta_{nm}$."""
    from dynamics.model import ReducedModel

    Q = {(i, k): sp.Symbol(f"Q{i + 1}{k + 1}", real=True) for i in range(K) for k in range(i, K)}
    R = {(i, n): sp.Symbol(f"R{i + 1}{n + 1}", real=True) for i in range(K) for n in range(M)}
    eta = sp.Symbol("eta", positive=True)

    def C(a, b):  # covariance of the local fields: ("s", i) student, ("t", n) teacher
        (ka, ia), (kb, ib) = a, b
        if ka == "s" and kb == "s":
            return Q[(min(ia, ib), max(ia, ib))]
        if ka == "t" and kb == "t":
            return sp.Integer(1 if ia == ib else 0)
        if ka == "s":
            return R[(ia, ib)]
        return R[(ib, ia)]

    def I3(a, b, c):
        l3 = (1 + C(a, a)) * (1 + C(c, c)) - C(a, c) ** 2
        return 2 / sp.pi / sp.sqrt(l3) * (C(b, c) * (1 + C(a, a)) - C(a, b) * C(a, c)) / (1 + C(a, a))

    def I4(a, b, c, d):
        l4 = (1 + C(a, a)) * (1 + C(b, b)) - C(a, b) ** 2
        l0 = (l4 * C(c, d) - C(b, c) * C(b, d) * (1 + C(a, a)) - C(a, c) * C(a, d) * (1 + C(b, b))
              + C(a, b) * C(a, c) * C(b, d) + C(a, b) * C(a, d) * C(b, c))
        l1 = (l4 * (1 + C(c, c)) - C(b, c) ** 2 * (1 + C(a, a)) - C(a, c) ** 2 * (1 + C(b, b))
              + 2 * C(a, b) * C(a, c) * C(b, c))
        l2 = (l4 * (1 + C(d, d)) - C(b, d) ** 2 * (1 + C(a, a)) - C(a, d) ** 2 * (1 + C(b, b))
              + 2 * C(a, b) * C(a, d) * C(b, d))
        return 4 / sp.pi**2 / sp.sqrt(l4) * sp.asin(l0 / sp.sqrt(l1 * l2))

    S = [("s", i) for i in range(K)]
    T = [("t", n) for n in range(M)]
    field = {}
    for (i, n), r in R.items():
        field[r] = eta * (sum(I3(S[i], T[n], t) for t in T) - sum(I3(S[i], T[n], s) for s in S))
    for (i, k), q in Q.items():
        lin = sum(I3(S[i], S[k], t) for t in T) - sum(I3(S[i], S[k], s) for s in S)
        lin += sum(I3(S[k], S[i], t) for t in T) - sum(I3(S[k], S[i], s) for s in S)
        quad = (sum(I4(S[i], S[k], a, b) for a, b in itertools.product(T, T))
                - 2 * sum(I4(S[i], S[k], s, t) for s, t in itertools.product(S, T))
                + sum(I4(S[i], S[k], s, u) for s, u in itertools.product(S, S)))
        field[q] = eta * lin + eta**2 * quad

    def g(a, b):
        return sp.asin(C(a, b) / sp.sqrt((1 + C(a, a)) * (1 + C(b, b)))) / sp.pi

    eg = (sum(g(a, b) for a in S for b in S) + sum(g(a, b) for a in T for b in T)
          - 2 * sum(g(s, t) for s in S for t in T))
    state = list(Q.values()) + list(R.values())
    return ReducedModel.from_field("bench-committee", state, [eta], [field[s] for s in state],
                                   loss=eg)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 4-point sweep instead of 16")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)

    from dynamics import registry
    from dynamics.codegen import model_key
    from dynamics.phase import sweep
    from dynamics.registry import Derivation

    model = committee()
    registry.register(Derivation("bench-committee", "bench", model=committee,
                                 verify=lambda ctx: []))
    n = 4 if args.quick else 16
    y0 = [0.5, 0.01, 0.5, 0.01, 0.02, 0.01, 0.02]  # Q11 Q12 Q22 R11 R12 R21 R22
    kw = dict(classify="learnable:0.5", t_max=50.0, y0=y0, workers=2, progress=False,
              solver="integrate")
    x = f"eta=0.1:1.5:{n}"
    sweep(model, x, **kw)  # warm-up: fills the disk cache and numba's cache

    copy = pickle.loads(pickle.dumps(model))
    t0 = time.perf_counter()
    model_key(copy)
    key_fresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    model_key(copy)
    key_again = time.perf_counter() - t0

    rows = {}
    for label, spec in (("name", "bench-committee"), ("object", model)):
        best = float("inf")
        for _ in range(1 if args.quick else 3):
            t0 = time.perf_counter()
            res = sweep(spec, x, **kw)
            best = min(best, time.perf_counter() - t0)
        rows[label] = {"seconds": best, "classes": res.classes.tolist()}
    same = rows["name"]["classes"] == rows["object"]["classes"]
    ratio = rows["object"]["seconds"] / rows["name"]["seconds"]
    print(f"model_key, fresh copy of the model: {key_fresh:.3f} s; same object again: "
          f"{key_again * 1e6:.1f} us")
    print(f"sweep of {n} points, workers=2 (best of {1 if args.quick else 3}):")
    print(f"  by registry name: {rows['name']['seconds']:.2f} s")
    print(f"  by model object:  {rows['object']['seconds']:.2f} s")
    print(f"  ratio object / name = {ratio:.2f}; same classes: {same}")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"model_key_fresh_s": key_fresh, "model_key_again_s": key_again,
                       "points": n, **{f"{k}_s": v["seconds"] for k, v in rows.items()},
                       "ratio_object_over_name": ratio, "same_classes": same}, fh, indent=2)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
