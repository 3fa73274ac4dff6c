r"""Compiled batch integration: many parameter points of one model in one numba call.

:func:`solve_batch` integrates ``n_pts`` initial states / packed parameter rows of a
:class:`~dynamics.codegen.CompiledModel` over one output grid. The loop over points and
steps, the linear algebra, the dense output and the crossing search all run inside one
numba-compiled function that calls the model's generated ``rhs``/``jac``/``obs`` directly,
so no Python runs per step or per point.

Method
------
``method="auto"`` (default) switches per step, like LSODA, between a non-stiff and a
stiff method, using the analytic Jacobian of the generated code as the stiffness test: while
``h ||J||_inf <= 2`` (well inside the real stability interval of the explicit method) the
step is DOP853 (Dormand-Prince 8(5,3), scipy's coefficients: 12 stages, FSAL, 7th-order
dense output with 3 extra stages when the step has output or events); otherwise it is
Rodas5P. After an accepted DOP853 step with ``h ||J||_inf`` at most a quarter of that
limit, the norm is reused for up to ``_RHO_REUSE`` (8) steps instead of evaluating ``J``
(on the non-stiff benchmark ``h ||J||_inf`` stays near 0.4: ~5% of the solve time saved,
global error unchanged). ``method="rodas4"`` / ``method="rodas5p"`` use that Rosenbrock method throughout.
(Hairer's Jacobian-free test from two DOP853 stages was measured and rejected: see the
comment in the kernel.) A Rodas5P try right after DOP853 steps that is rejected, and whose
retry step would be within DOP853's limit, sends the integrator back to DOP853 at
``_RK_SKIP`` of its stability limit for 1, 2, 4, ... steps before the next try (a retry
still beyond the limit is made at once): without this back-off, a DOP853 step growing past
the limit and a rejected Rodas5P try alternated (measured on the stiff benchmark: 18.7
rejected attempts per solve before, 5.6 after; 240 attempts before, 209 after).

Rodas5P (Steinebach 2023; the coefficients of OrdinaryDiffEq.jl's ``Rodas5PTableau``): an
8-stage, order-5, L-stable, stiffly accurate Rosenbrock method with an embedded order-4
solution (the last stage is the error estimate) and a 4th-order dense output from its stages.
Same Jacobian / Newton-matrix / error norm as RODAS4 below (k = 5 in the controller). On
the stiff benchmark (10-variable logistic flow to t = 1e6, rtol 1e-8) it takes ~240 steps
per solve against RODAS4's ~530 (``"auto"``: ~220), for a ~1.5x faster solve at the same
accuracy.

Linear algebra: one LU factorisation with partial pivoting per step, stored with the
reciprocals of the pivots and a permutation vector, so the solves (eight per Rodas5P step)
are division- and branch-free; for systems up to ``_UNROLL_MAX`` variables the per-model
wrapper replaces the solve by a fully unrolled copy (straight-line code; ~3x faster than the
loop at n = 10, where the solves used to be half of a step's time).

RODAS4 (Hairer & Wanner, *Solving ODEs II*, section VI.4; the coefficients of ``rodas.f``):
a 6-stage, order-4, L-stable, stiffly accurate Rosenbrock method with an embedded order-3
solution. Every step uses the analytic Jacobian and one LU factorisation (partial pivoting)
of ``I/(h gamma) - J``. The flow is taken to be autonomous (the generated right-hand sides
do not depend on ``t``), so no ``df/dt`` term is used. Error norm: RMS of
``err_i / (atol + rtol max(|y_i|, |y_new_i|))`` (DOP853: scipy's error norm). Step-size
controller (:func:`_step_factor`): ``h_new = h clip(0.9 err^{-1/k} G, lo, hi)`` with k = 4
(RODAS4), 5 (Rodas5P), 8 (DOP853), clipped to [0.2, 6] (Rosenbrock) or [0.2, 10]
(DOP853), where ``G = (h / h_last) (err_last / err)^{1/k}`` is Gustafsson's predictive
factor when the previous step was accepted and of the same method (``G = 1`` otherwise),
and with no growth right after a rejection. The elementary controller alone (``G = 1``)
lags behind a step size that grows with t, as on a gradient flow's log-time scale: on the
benchmarks its error settled at ~0.06 (DOP853) and ~0.4 (Rodas5P) of the tolerance; the
predictive factor takes ~10% (non-stiff) and ~5% (stiff) fewer steps at about the same
global error (worst over 32 benchmark points against LSODA at rtol 1e-11, with the
back-off below: 1.84 tolerances against 1.81 before, non-stiff; 3.10 against 3.30, stiff).

RODAS4 steps use the cubic Hermite interpolant of the values and derivatives at both ends
as dense output (the derivative at the new point is the next step's first stage, so it
costs nothing extra); Rodas5P steps use their own 4th-order dense output for the grid and
the Hermite cubic for the crossing search. Output grid points (any number per step) are
filled by evaluating the step's dense output.

Crossings
---------
An event is ``(kind, index, level, direction)``: coordinate ``index`` (``kind="state"``) or
observable ``index`` (``kind="obs"``) crossing ``level``, upwards (+1), downwards (-1) or
either (0). In every accepted step each unfound event is tested on the dense output at the
step ends, 8 interior points and the turning points of the relevant Hermite cubic(s); the first
sign change is refined by bisection to ``1e-13`` relative. On a Rosenbrock step the
interpolant of a coordinate is that cubic, so a double crossing inside one step is always
found; on a DOP853 step (degree-7 dense output) the cubic's turning points approximate the
true ones, and for an observable event the turning points of every coordinate are sampled. Only the first crossing time per event is reported (``nan`` if
none).

Failures
--------
Each point gets a status (:data:`STATUS`, explained by :data:`STATUS_REASON`): ``0`` ok,
``1`` max_steps, ``2`` non-finite (state or derivative became inf/nan, or the Newton matrix
was singular), ``3`` step-size underflow, ``4`` unresolved unstable direction (Rosenbrock
steps that would have damped a strongly growing direction were rejected down to the
smallest step: see the check in the kernel). A failed point keeps the output it reached; the rest of its grid is
``nan``. One bad point never stops the others.

Compilation and caching
-----------------------
Numba cannot cache a function whose arguments are dispatchers (the cache key would contain
the dispatcher object, so every process recompiles). Per model, a tiny wrapper module is
therefore written next to the generated code (``$DYNAMICS_CACHE_DIR``), named by the
generated module and a hash of this file's source; its two entry points (serial and
``prange``-parallel) call the generic kernel here with the model's functions as
compile-time constants and are compiled with ``cache=True``. The first call in a fresh
cache compiles for ~10-20 s; later processes load the machine code.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
import numpy as np

from dynamics.codegen import CompiledModel, load_module
from dynamics.options import Crossing
from dynamics.schedule import Schedule
from dynamics.trajectory import Trajectory

__all__ = [
    "solve_batch",
    "BatchResult",
    "Crossing",
    "STATUS",
    "OK",
    "MAX_STEPS",
    "NON_FINITE",
    "STEP_UNDERFLOW",
    "UNSTABLE",
    "STATUS_REASON",
]

OK, MAX_STEPS, NON_FINITE, STEP_UNDERFLOW, UNSTABLE = 0, 1, 2, 3, 4
#: Per-point status codes.
STATUS = {
    OK: "ok",
    MAX_STEPS: "max_steps",
    NON_FINITE: "non-finite",
    STEP_UNDERFLOW: "step-size underflow",
    UNSTABLE: "unresolved unstable direction",
}
#: What each failure status means, for error messages (a sweep records this text).
STATUS_REASON = {
    OK: "ok",
    MAX_STEPS: "the step budget (max_steps) ran out; raise max_steps or t_max is too long",
    NON_FINITE: "the state or its derivative became inf/nan (a blow-up, or a singular Newton"
    " matrix); check the parameter values",
    STEP_UNDERFLOW: "the step size fell below the resolution of t (the flow is too fast to"
    " follow); check the parameter values",
    UNSTABLE: "a strongly unstable direction (h Re(lambda) >> 1) could not be followed down to"
    " the smallest step; the parameter values make the flow grow too fast to integrate",
}

# ----------------------------------------------------------------------------- RODAS4
_GAMMA = 0.25
_A21 = 1.544
_A31, _A32 = 0.9466785280815826, 0.2557011698983284
_A41, _A42, _A43 = 3.314825187068521, 2.896124015972201, 0.9986419139977817
_A51, _A52, _A53, _A54 = (
    1.221224509226641,
    6.019134481288629,
    12.53708332932087,
    -0.6878860361058950,
)
_C21 = -5.6688
_C31, _C32 = -2.430093356833875, -0.2063599157091915
_C41, _C42, _C43 = -0.1073529058151375, -9.594562251023355, -20.47028614809616
_C51, _C52, _C53, _C54 = (
    7.496443313967647,
    -10.24680431464352,
    -33.99990352819905,
    11.70890893206160,
)
_C61, _C62, _C63, _C64, _C65 = (
    8.083246795921522,
    -7.981132988064893,
    -31.52159432874371,
    16.31930543123136,
    -6.058818238834054,
)

# ----------------------------------------------------------------------------- Rodas5P
# Steinebach (2023), order 5(4), 8 stages, L-stable, stiffly accurate; coefficients in the
# transformed form of OrdinaryDiffEq.jl's ``Rodas5PTableau`` (a_ij, C_ij for the stages
# k_i = (I/(h gamma) - J)^{-1} (f(y + sum_j a_ij k_j) + sum_j C_ij/h k_j); stages 7 and 8
# add the previous stage to the argument, y_new = (stage-8 argument) + k_8, error k_8) and
# its 4th-order dense output (rows of ``_P5_H``).
_P5_GAMMA = 0.21193756319429014
_P5_A = np.zeros((8, 8))
_P5_A[1, :1] = [3.0]
_P5_A[2, :2] = [2.849394379747939, 0.45842242204463923]
_P5_A[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
_P5_A[4, :4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641]
_P5_A[5, :5] = [
    -7.502846399306121,
    2.561846144803919,
    -11.627539656261098,
    -0.18268767659942256,
    0.030198172008377946,
]
_P5_C = np.zeros((8, 8))
_P5_C[1, :1] = [-14.155112264123755]
_P5_C[2, :2] = [-17.97296035885952, -2.859693295451294]
_P5_C[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
_P5_C[4, :4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306]
_P5_C[5, :5] = [
    24.854864614690072,
    -3.0009227002832186,
    47.4931110020768,
    5.5814197821558125,
    -0.6610691825249471,
]
_P5_C[6, :6] = [
    30.91273214028599,
    -3.1208243349937974,
    77.79954646070892,
    34.28646028294783,
    -19.097331116725623,
    -28.087943162872662,
]
_P5_C[7, :7] = [
    37.80277123390563,
    -3.2571969029072276,
    112.26918849496327,
    66.9347231244047,
    -40.06618937091002,
    -54.66780262877968,
    -9.48861652309627,
]
_P5_H = np.array(
    [
        [
            25.948786856663858,
            -2.5579724845846235,
            10.433815404888879,
            -2.3679251022685204,
            0.524948541321073,
            1.1241088310450404,
            0.4272876194431874,
            -0.17202221070155493,
        ],
        [
            -9.91568850695171,
            -0.9689944594115154,
            3.0438037242978453,
            -24.495224566215796,
            20.176138334709044,
            15.98066361424651,
            -6.789040303419874,
            -6.710236069923372,
        ],
        [
            11.419903575922262,
            2.8879645146136994,
            72.92137995996029,
            80.12511834622643,
            -52.072871366152654,
            -59.78993625266729,
            -0.15582684282751913,
            4.883087185713722,
        ],
    ]
)

_N_SAMPLES = 8  # interior samples of the dense output per step for the crossing search
#: DOP853 is used while h ||J||_inf <= this (its real stability interval is ~[-6, 0]; at 4 the
#: global error on the stiff benchmark grew to ~35 tolerances, at 2 it is ~2.5).
_RK_STAB = 2.0
#: DOP853 steps control the local error to this fraction of the tolerance: its global error
#: at the nominal tolerance reached ~20 tolerances on growth phases (as scipy's DOP853 does);
#: a quarter costs ~1.2x more steps.
_RK_TOL = 0.25
#: DOP853 steps taken while a rejected Rodas5P try backs off use this fraction of the
#: stability limit (measured on 32 stiff benchmark points: at 1.0 the global error reached
#: 5.2 tolerances, at 0.75 3.1, against 3.3 before the back-off; 7% more steps).
_RK_SKIP = 0.75
#: After an accepted DOP853 step with h ||J||_inf <= _RK_STAB / 4, the Jacobian's norm is
#: reused (not re-evaluated) for up to this many steps.
_RHO_REUSE = 8
#: ``method`` argument of solve_batch -> kernel mode.
#: Kernel modes: 0 DOP853/RODAS4 switching, 1 RODAS4, 2 Rodas5P, 3 DOP853/Rodas5P switching.
_METHODS = {"auto": 3, "rodas4": 1, "rodas5p": 2}


def _dop853_tables() -> tuple[np.ndarray, ...]:
    """DOP853 (Hairer, Norsett & Wanner) coefficients, as scipy's ``solve_ivp`` uses them."""
    from scipy.integrate._ivp import dop853_coefficients as d

    return tuple(np.ascontiguousarray(x, dtype=float) for x in (d.A, d.B, d.C, d.E3, d.E5, d.D))


_DOP853 = _dop853_tables()
_KIND = {"state": 0, "obs": 1}


@numba.njit(cache=True)
def _lu(a: np.ndarray, perm: np.ndarray) -> bool:
    """In-place LU with partial pivoting; False if singular or non-finite.

    On return ``a`` holds L (unit lower, below the diagonal), U above it and the *reciprocals*
    of U's diagonal on it, and ``perm`` the row permutation (row ``i`` of ``P A`` is row
    ``perm[i]`` of ``A``), so that :func:`_lu_solve` is branch- and division-free.
    """
    n = a.shape[0]
    for i in range(n):
        perm[i] = i
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > big:
                big = v
                p = i
        if not (big > 0.0) or not math.isfinite(big):
            return False
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
            tp = perm[k]
            perm[k] = perm[p]
            perm[p] = tp
        inv = 1.0 / a[k, k]
        a[k, k] = inv
        for i in range(k + 1, n):
            f = a[i, k] * inv
            a[i, k] = f
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]
    return True


@numba.njit(cache=True)
def _lu_solve(a: np.ndarray, perm: np.ndarray, src: np.ndarray, x: np.ndarray) -> None:
    """``x = A^{-1} src`` from :func:`_lu`'s factors (``src`` and ``x`` must not alias).

    Column-oriented substitution, so consecutive updates are independent. The per-model
    wrapper replaces it by a fully unrolled copy for small systems (:func:`_unrolled_solve`).
    """
    n = a.shape[0]
    for i in range(n):
        x[i] = src[perm[i]]
    for j in range(n):
        xj = x[j]
        for i in range(j + 1, n):
            x[i] -= a[i, j] * xj
    for j in range(n - 1, -1, -1):
        xj = x[j] * a[j, j]
        x[j] = xj
        for i in range(j):
            x[i] -= a[i, j] * xj


#: Systems up to this size get a fully unrolled :func:`_lu_solve` in their wrapper module
#: (straight-line code: about 3x faster at n = 10, where the loop version is bound by
#: short-loop overhead; compile time grows as n^2, ~0.7 s at n = 10, ~3 s at n = 20).
_UNROLL_MAX = 16


#: Systems up to this size also get a fully unrolled :func:`_lu` (pivot search and row swaps
#: stay dynamic; the eliminations become straight-line code): ~1.8x faster at n = 10 (120
#: against 218 ns), ~5% of a stiff solve; its compile time grows as n^3 (~7 s at n = 10).
_UNROLL_LU_MAX = 10


def _unrolled_lu(n: int) -> str:
    """Source of :func:`_lu` for a fixed ``n``: the same operations in the same order."""
    out = ["def _lu(a, perm):"]
    out += [f"    perm[{i}] = {i}" for i in range(n)]
    for k in range(n):
        out += [f"    p = {k}", f"    big = abs(a[{k}, {k}])"]
        for i in range(k + 1, n):
            out += [
                f"    v = abs(a[{i}, {k}])",
                "    if v > big:",
                "        big = v",
                f"        p = {i}",
            ]
        out += ["    if not (big > 0.0) or not math.isfinite(big):", "        return False"]
        if k < n - 1:
            out += [
                f"    if p != {k}:",
                f"        for j in range({n}):",
                f"            tmp = a[{k}, j]",
                f"            a[{k}, j] = a[p, j]",
                "            a[p, j] = tmp",
                f"        tp = perm[{k}]",
                f"        perm[{k}] = perm[p]",
                "        perm[p] = tp",
            ]
        out += [f"    inv = 1.0 / a[{k}, {k}]", f"    a[{k}, {k}] = inv"]
        for i in range(k + 1, n):
            out += [f"    f = a[{i}, {k}] * inv", f"    a[{i}, {k}] = f"]
            if k + 1 < n:
                out.append("    if f != 0.0:")
                out += [f"        a[{i}, {j}] -= f * a[{k}, {j}]" for j in range(k + 1, n)]
    out.append("    return True")
    return "\n".join(out) + "\n"


def _unrolled_solve(n: int) -> str:
    """Source of :func:`_lu_solve` for a fixed ``n``, fully unrolled (same operation order)."""
    lines = ["def _lu_solve(a, perm, src, x):"]
    lines += [f"    x{i} = src[perm[{i}]]" for i in range(n)]
    for j in range(n):
        lines += [f"    x{i} -= a[{i}, {j}] * x{j}" for i in range(j + 1, n)]
    for j in range(n - 1, -1, -1):
        lines.append(f"    x{j} *= a[{j}, {j}]")
        lines += [f"    x{i} -= a[{i}, {j}] * x{j}" for i in range(j)]
    lines += [f"    x[{i}] = x{i}" for i in range(n)]
    return "\n".join(lines) + "\n"


def _terms(n: int, coefs: np.ndarray, cols: range | Sequence[int] | None = None) -> str:
    """``c0 * K[q0 n + j] + c1 * K[q1 n + j] + ...`` (flat stages): the nonzero coefficients
    as literals, the row offsets as constants."""
    qs = range(len(coefs)) if cols is None else cols
    out = [f"{float(coefs[q])!r} * K[{q * n} + j]" for q in qs if coefs[q] != 0.0]
    return _balanced_sum(out) if out else "0.0"


def _balanced_sum(terms: Sequence[str]) -> str:
    """``terms`` summed as a balanced tree, ``(t0 + t1) + (t2 + t3)``: a step's stages are a
    chain (each stage's argument needs the previous stage's RHS), so the latency of each sum
    is on the critical path, and a tree of depth log2(k) replaces a chain of k dependent
    fused multiply-adds (measured on the non-stiff benchmark: 61.0 against 62.7 us per solve,
    best of three alternating runs of 160 passes each; within the machine's noise, kept as
    it costs nothing)."""
    if len(terms) == 1:
        return terms[0]
    mid = (len(terms) + 1) // 2
    return f"({_balanced_sum(terms[:mid])} + {_balanced_sum(terms[mid:])})"


def _unrolled_tableau(n: int) -> str:
    """Source of the tableau helpers (:data:`_TABLEAU_HELPERS`) for a fixed ``n``: the same
    combinations as the table-driven reference versions, with the coefficients as literals,
    zeros dropped, the stage rows at constant offsets of the flat ``K`` / ``F``, and one pass
    over the coordinates per combination.

    The coordinate loops run to the array's length, not to the literal ``n``: LLVM does not
    vectorise a loop with a constant trip count under 16 that needs runtime alias checks,
    and these need one per distinct array (measured at n = 10: the eleven stage arguments
    and the dense-output coefficients of a DOP853 step took ~290 ns with 2-D stages, ~250 ns
    flat with literal trip counts, ~200 ns flat as here, AVX-512 code).

    They are inlined into the kernel (numba's ``inline='always'``): as calls, each passed
    its arrays as structs of 7 words on the stack, and the calls were 12% of a non-stiff
    solve by a profile of the kernel's machine code. Inlined: 70.0/76.5 -> 63.8/68.0 us per
    non-stiff solve (two alternating runs), for ~11 s more compile time per model kernel."""
    jit = "@numba.njit(cache=True, error_model='numpy', fastmath={'contract'}, inline='always')"

    def loop(arr: str, indent: str = "    ") -> str:
        return f"{indent}for j in range({arr}.shape[0]):"

    src = [jit, "def _dop_arg(sg, y, h, K, out):"]
    for i, sg in enumerate([*range(1, 12), 13, 14, 15]):
        src.append(f"    {'if' if i == 0 else 'elif'} sg == {sg}:")
        src.append(loop("out", " " * 8))
        src.append(f"            out[j] = y[j] + h * ({_terms(n, _DA[sg], range(sg))})")
    src += ["", "", jit, "def _dop_new(y, h, K, out):", loop("out")]
    src.append(f"        out[j] = y[j] + h * ({_terms(n, _DB)})")
    src += ["", "", jit, "def _dop_err(K, y, ynew, h, rtol, atol, w):", loop("y")]
    src += [
        f"        w[j] = {_terms(n, _DE5)}",
        f"        w[{n} + j] = {_terms(n, _DE3)}",
        "    e5 = 0.0",
        "    e3 = 0.0",
        f"    for j in range({n}):",
        f"        sc = {_RK_TOL!r} * (atol + rtol * max(abs(y[j]), abs(ynew[j])))",
        "        d5 = w[j] / sc",
        f"        d3 = w[{n} + j] / sc",
        "        e5 += d5 * d5",
        "        e3 += d3 * d3",
        "    if e5 > 0.0 or e3 > 0.0:",
        f"        return h * e5 / math.sqrt((e5 + 0.01 * e3) * {n})",
        "    return 0.0",
    ]
    src += ["", "", jit, "def _dop_dense(y, ynew, f0, f1, h, K, F):", loop("y")]
    src += [
        "        dlt = ynew[j] - y[j]",
        "        F[j] = dlt",
        f"        F[{n} + j] = h * f0[j] - dlt",
        f"        F[{2 * n} + j] = 2.0 * dlt - h * (f1[j] + f0[j])",
    ]
    for r in range(4):
        src += [loop("y"), f"        F[{(3 + r) * n} + j] = h * ({_terms(n, _DD[r])})"]
    src += ["", "", jit, "def _dop_interp(F, y0, s, out):", "    s1 = 1.0 - s", loop("out")]
    src += [
        f"        inner = F[{3 * n} + j] + s * (F[{4 * n} + j] + s1 * (F[{5 * n} + j] + s * F[{6 * n} + j]))",
        f"        out[j] = y0[j] + s * (F[j] + s1 * (F[{n} + j] + s * (F[{2 * n} + j] + s1 * inner)))",
    ]
    src += ["", "", jit, "def _p5_arg(sg, y, K, out):"]
    for sg in range(1, 6):
        src.append(f"    {'if' if sg == 1 else 'elif'} sg == {sg}:")
        src.append(loop("out", " " * 8))
        src.append(f"            out[j] = y[j] + {_terms(n, _P5_A[sg], range(sg))}")
    src += ["", "", jit, "def _p5_corr(sg, hinv, K, dy):"]
    for sg in range(1, 8):
        src.append(f"    {'if' if sg == 1 else 'elif'} sg == {sg}:")
        src.append(loop("dy", " " * 8))
        src.append(f"            dy[j] += hinv * ({_terms(n, _P5_C[sg], range(sg))})")
    src += ["", "", jit, "def _p5_dense(K, F):"]
    for r in range(3):
        src += [f"    for j in range({n}):", f"        F[{r * n} + j] = {_terms(n, _P5_H[r])}"]
    return "\n".join(src) + "\n"


@numba.njit(cache=True)
def _hermite(
    y0: np.ndarray,
    y1: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    h: float,
    s: float,
    out: np.ndarray,
) -> None:
    """Cubic Hermite interpolant at fraction ``s`` of a step of length ``h``."""
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    for i in range(y0.shape[0]):
        out[i] = h00 * y0[i] + h10 * h * f0[i] + h01 * y1[i] + h11 * h * f1[i]


@numba.njit(cache=True)
def _interp(
    kind: int,
    F: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    h: float,
    s: float,
    out: np.ndarray,
) -> None:
    """Dense output at fraction ``s``: ``kind`` 0 the Hermite cubic, 1 DOP853's polynomial
    ``F``, 2 Rodas5P's (``F[:3]`` the dense-output combinations of its stages)."""
    if kind == 0:
        _hermite(y0, y1, f0, f1, h, s, out)
        return
    s1 = 1.0 - s
    if kind == 2:
        for i in range(y0.shape[0]):
            out[i] = s1 * y0[i] + s * (y1[i] + s1 * (F[0, i] + s * (F[1, i] + s * F[2, i])))
        return
    _dop_interp(F.reshape(F.size), y0, s, out)


@numba.njit(cache=True)
def _turning_points(y0: float, y1: float, d0: float, d1: float, out: np.ndarray, m: int) -> int:
    """Append to ``out[m:]`` the fractions in (0, 1) where the Hermite cubic with end values
    ``y0, y1`` and scaled end slopes ``d0 = h f0, d1 = h f1`` has zero slope."""
    # p(s) = a s^3 + b s^2 + d0 s + y0 ; p'(s) = 3a s^2 + 2b s + d0
    a = 2.0 * y0 - 2.0 * y1 + d0 + d1
    b = -3.0 * y0 + 3.0 * y1 - 2.0 * d0 - d1
    qa, qb, qc = 3.0 * a, 2.0 * b, d0
    if qa == 0.0:
        if qb != 0.0:
            r = -qc / qb
            if 0.0 < r < 1.0:
                out[m] = r
                m += 1
        return m
    disc = qb * qb - 4.0 * qa * qc
    if disc < 0.0:
        return m
    sq = math.sqrt(disc)
    q = -0.5 * (qb + math.copysign(sq, qb))
    for r in (q / qa, qc / q if q != 0.0 else -1.0):
        if 0.0 < r < 1.0:
            out[m] = r
            m += 1
    return m


@numba.njit(cache=True)
def _rk_combine(
    y: np.ndarray, h: float, coef: np.ndarray, m: int, K: np.ndarray, out: np.ndarray
) -> None:
    """``out = y + h sum_{q<m} coef[q] K[q]``: an explicit stage's argument (or the new point),
    with the stages as the rows of the flat array ``K`` (row ``q`` at ``q n``).

    The sum runs over q outside and the coordinates inside, skipping the tableau's zeros.
    """
    n = out.shape[0]
    for j in range(n):
        out[j] = 0.0
    for q in range(m):
        cf = h * coef[q]
        if cf != 0.0:
            for j in range(n):
                out[j] += cf * K[q * n + j]
    for j in range(n):
        out[j] += y[j]


_DA, _DB, _DC, _DE3, _DE5, _DD = _DOP853


# The tableau combinations of a step, written once against the coefficient tables. They are
# the reference: each model's wrapper module replaces them by copies generated with the
# coefficients as literals, the zeros dropped and one pass over the coordinates per
# combination (:func:`_unrolled_tableau`; measured on the non-stiff benchmark, the eleven
# DOP853 stage arguments of a step took 453 ns as loops over the table and 139 ns generated).
@numba.njit(cache=True)
def _dop_arg(sg: int, y: np.ndarray, h: float, K: np.ndarray, out: np.ndarray) -> None:
    """The argument of DOP853 stage ``sg`` (1-11; 13-15 are the dense-output stages)."""
    _rk_combine(y, h, _DA[sg], sg, K, out)


@numba.njit(cache=True)
def _dop_new(y: np.ndarray, h: float, K: np.ndarray, out: np.ndarray) -> None:
    """DOP853's new point (order 8) from the stages ``K[:12]``."""
    _rk_combine(y, h, _DB, 12, K, out)


@numba.njit(cache=True)
def _dop_err(
    K: np.ndarray,
    y: np.ndarray,
    ynew: np.ndarray,
    h: float,
    rtol: float,
    atol: float,
    w: np.ndarray,
) -> float:
    """DOP853's error norm (scipy's: the order-5 estimate damped by the order-3 one), with the
    tolerance scaled by ``_RK_TOL``; ``w`` (2n) receives the two unscaled estimates."""
    n = y.shape[0]
    for j in range(n):
        d5 = 0.0
        d3 = 0.0
        for q in range(13):
            d5 += _DE5[q] * K[q * n + j]
            d3 += _DE3[q] * K[q * n + j]
        w[j] = d5
        w[n + j] = d3
    e5 = 0.0
    e3 = 0.0
    for j in range(n):
        sc = _RK_TOL * (atol + rtol * max(abs(y[j]), abs(ynew[j])))
        d5 = w[j] / sc
        d3 = w[n + j] / sc
        e5 += d5 * d5
        e3 += d3 * d3
    if e5 > 0.0 or e3 > 0.0:
        return h * e5 / math.sqrt((e5 + 0.01 * e3) * n)
    return 0.0


@numba.njit(cache=True)
def _dop_dense(
    y: np.ndarray,
    ynew: np.ndarray,
    f0: np.ndarray,
    f1: np.ndarray,
    h: float,
    K: np.ndarray,
    F: np.ndarray,
) -> None:
    """DOP853's degree-7 dense-output coefficients ``F`` (stages ``K[:16]`` all computed)."""
    n = y.shape[0]
    for j in range(n):
        dlt = ynew[j] - y[j]
        F[j] = dlt
        F[n + j] = h * f0[j] - dlt
        F[2 * n + j] = 2.0 * dlt - h * (f1[j] + f0[j])
        for r in range(4):
            acc = 0.0
            for q in range(16):
                acc += _DD[r, q] * K[q * n + j]
            F[(3 + r) * n + j] = h * acc


@numba.njit(cache=True)
def _dop_interp(F: np.ndarray, y0: np.ndarray, s: float, out: np.ndarray) -> None:
    """DOP853's dense output at fraction ``s`` of the step, from the flat coefficients ``F``
    (:func:`_interp` with ``kind=1`` on the same numbers)."""
    n = y0.shape[0]
    s1 = 1.0 - s
    for j in range(n):
        inner = F[3 * n + j] + s * (F[4 * n + j] + s1 * (F[5 * n + j] + s * F[6 * n + j]))
        out[j] = y0[j] + s * (F[j] + s1 * (F[n + j] + s * (F[2 * n + j] + s1 * inner)))


@numba.njit(cache=True)
def _p5_arg(sg: int, y: np.ndarray, K: np.ndarray, out: np.ndarray) -> None:
    """The argument ``y + sum_q a_{sg,q} k_q`` of Rodas5P stage ``sg`` (1-5)."""
    n = y.shape[0]
    for j in range(n):
        acc = y[j]
        for q in range(sg):
            acc += _P5_A[sg, q] * K[q * n + j]
        out[j] = acc


@numba.njit(cache=True)
def _p5_corr(sg: int, hinv: float, K: np.ndarray, dy: np.ndarray) -> None:
    """Adds ``sum_q C_{sg,q}/h k_q`` to the right-hand side of Rodas5P stage ``sg`` (1-7)."""
    n = dy.shape[0]
    for j in range(n):
        acc = 0.0
        for q in range(sg):
            acc += _P5_C[sg, q] * K[q * n + j]
        dy[j] += hinv * acc


@numba.njit(cache=True)
def _p5_dense(K: np.ndarray, F: np.ndarray) -> None:
    """Rodas5P's dense-output combinations ``F[:3]`` of its stages ``K[:8]``."""
    n = F.shape[0] // 3
    for r in range(3):
        for j in range(n):
            acc = 0.0
            for q in range(8):
                acc += _P5_H[r, q] * K[q * n + j]
            F[r * n + j] = acc


_TABLEAU_HELPERS = (
    "_dop_arg",
    "_dop_new",
    "_dop_err",
    "_dop_dense",
    "_dop_interp",
    "_p5_arg",
    "_p5_corr",
    "_p5_dense",
)


@numba.njit(cache=True)
def _step_factor(
    err: float, explicit: bool, r5: bool, predict: bool, h_ratio: float, err_last: float
) -> float:
    """``h_new / h`` after a step with error norm ``err`` (DOP853: ``explicit``; else
    Rodas5P if ``r5``, RODAS4 otherwise).

    The elementary controller ``0.9 err^(-1/k)`` (k = 8, 5, 4) lags behind a step size that
    grows with t, as on the log-time scale of a gradient flow: measured on the benchmarks, the
    error settled at ~0.06 (DOP853) and ~0.4 (Rodas5P) of the tolerance, with h/t stuck.
    With ``predict`` (the previous step was accepted and of the same method) it is multiplied
    by Gustafsson's predictive factor ``(h/h_last) (err_last/err)^(1/k)`` (Hairer & Wanner II,
    IV.8), which follows the growth. Clipped to [0.2, 10] (DOP853) or [0.2, 6].
    """
    if explicit:
        inv, lo, hi = 0.125, 0.2, 10.0
    elif r5:
        inv, lo, hi = 0.2, 0.2, 6.0
    else:
        inv, lo, hi = 0.25, 0.2, 6.0
    if err == 0.0:
        return hi
    if predict and err_last > 0.0:
        # one power instead of two (0.9 err^-1/k (err_last / err)^1/k); for DOP853 the
        # eighth root as three square roots (cheaper than pow)
        x = err_last / (err * err)
        r = math.sqrt(math.sqrt(math.sqrt(x))) if explicit else x**inv
        fac = 0.9 * h_ratio * r
    else:
        fac = 0.9 * (1.0 / math.sqrt(math.sqrt(math.sqrt(err))) if explicit else err**-inv)
    return min(hi, max(lo, fac))


@numba.njit(cache=True)
def _wrms(err: np.ndarray, y: np.ndarray, ynew: np.ndarray, rtol: float, atol: float) -> float:
    n = err.shape[0]
    acc = 0.0
    for i in range(n):
        sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
        v = err[i] / sc
        acc += v * v
    return math.sqrt(acc / n)


def _event_value(
    kind: int,
    idx: int,
    level: float,
    y: np.ndarray,
    p: np.ndarray,
    data: np.ndarray,
    bounds: np.ndarray,
    obuf: np.ndarray,
) -> float:
    if kind == 0:
        return y[idx] - level
    _obs(y, p, data, bounds, obuf)
    return obuf[idx] - level


def _solve_point(
    i: int,
    Y0: np.ndarray,
    P: np.ndarray,
    data: np.ndarray,
    bounds: np.ndarray,
    t_eval: np.ndarray,
    rtol: float,
    atol: float,
    max_steps: int,
    h0: float,
    hmax: float,
    ev_kind: np.ndarray,
    ev_idx: np.ndarray,
    ev_level: np.ndarray,
    ev_dir: np.ndarray,
    n_obs: int,
    Yout: np.ndarray,
    status: np.ndarray,
    counts: np.ndarray,
    tcross: np.ndarray,
    mode: int,
) -> None:
    """Integrate point ``i`` (results written into row ``i`` of the output arrays)."""
    n = Y0.shape[1]
    n_t = t_eval.shape[0]
    n_ev = ev_kind.shape[0]
    p = P[i].copy()
    y = Y0[i].copy()
    ynew = np.empty(n)
    ytmp = np.empty(n)
    f0 = np.empty(n)
    f1 = np.empty(n)
    dy = np.empty(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    J = np.empty((n, n))
    E = np.empty((n, n))
    # DOP853 stages (12), f_new, 3 dense-output stages; DOP853 dense-output polynomial. The
    # tableau helpers get the flat arrays: rows at constant offsets of one base pointer, so
    # their loops vectorise (2-D indexing left one runtime alias check per row)
    Kf = np.empty(16 * n)
    K = Kf.reshape((16, n))
    Ff = np.empty(7 * n)
    F = Ff.reshape((7, n))
    w2 = np.empty(2 * n)  # DOP853's two error estimates
    perm = np.empty(n, dtype=np.int64)
    obuf = np.empty(max(n_obs, 1))
    samp = np.empty(_N_SAMPLES + 2 * n + 2)
    g_prev = np.empty(max(n_ev, 1))
    found = np.zeros(max(n_ev, 1), dtype=np.bool_)
    for k in range(n_t):
        for j in range(n):
            Yout[i, k, j] = np.nan
    for e in range(n_ev):
        tcross[i, e] = np.nan
    nst = 0
    nacc = 0
    nrhs = 0
    njac = 0
    t = t_eval[0]
    t_end = t_eval[n_t - 1]
    for j in range(n):
        Yout[i, 0, j] = y[j]
    kout = 1
    _rhs(t, y, p, data, bounds, f0)
    nrhs += 1
    st = OK
    for j in range(n):
        if not math.isfinite(y[j]) or not math.isfinite(f0[j]):
            st = NON_FINITE
    for e in range(n_ev):
        g_prev[e] = _event_value(ev_kind[e], ev_idx[e], ev_level[e], y, p, data, bounds, obuf)
    # initial step (Hairer-Wanner II.4 heuristic, first part)
    h = h0
    if h <= 0.0:
        d0 = 0.0
        d1 = 0.0
        for j in range(n):
            sc = atol + rtol * abs(y[j])
            d0 += (y[j] / sc) ** 2
            d1 += (f0[j] / sc) ** 2
        d0 = math.sqrt(d0 / n)
        d1 = math.sqrt(d1 / n)
        h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h = min(h, 1e-3 * (t_end - t) + 1e-300)
        # (no absolute floor: a flow with a rate of 1e30 needs a first step near 1e-32)
        h = max(h, 1e-12 * abs(t) + 1e-300)
    h = min(h, hmax)
    rejected = False
    nonfinite_attempt = False
    unstable_attempt = False
    switching = mode == 0 or mode == 3
    # the last accepted step: method (-1 none, 0 DOP853, 1 Rosenbrock), size, error
    meth_last = -1
    h_last = 0.0
    err_last = 0.0
    rho = 0.0  # ||J||_inf at the last Jacobian, and the steps since
    rho_age = 0
    skip = 0  # explicit steps to take at the stability limit before the next Rosenbrock try
    backoff = 1
    while st == OK and t < t_end:
        if nst >= max_steps:
            st = MAX_STEPS
            break
        use_rk = False
        if (
            switching
            and meth_last == 0
            and not rejected
            and rho_age < _RHO_REUSE
            and h * rho <= 0.25 * _RK_STAB
        ):
            # far inside the stability limit after an accepted DOP853 step: the last
            # Jacobian's norm stands in for a few steps (no Jacobian evaluated)
            rho_age += 1
            use_rk = True
        else:
            _jac(t, y, p, data, bounds, J)
            njac += 1
            rho_age = 0
        if switching and rho_age == 0:  # a fresh Jacobian: the stiffness test
            # ||J||_inf >= spectral radius: an explicit step only well inside DOP853's
            # stability interval. (Hairer's free estimate of h |lambda| from two stages was
            # tried instead and measured: it sees the smooth directions once the stiff
            # component has settled, lets DOP853 run too close to its stability limit, and
            # the stiff benchmark's global error grew from <= 2 to 29 tolerances.)
            rho = 0.0
            for a in range(n):
                racc = 0.0
                for b in range(n):
                    racc += abs(J[a, b])
                rho = max(rho, racc)
            use_rk = h * rho <= _RK_STAB
            if not use_rk and skip > 0:
                # a recent Rosenbrock try from here was rejected: DOP853 at its stability
                # limit until the next try (without this, a DOP853 step growing past the
                # limit and a rejected Rosenbrock step alternated on the stiff benchmark)
                skip -= 1
                h = _RK_SKIP * _RK_STAB / rho
                use_rk = True
        last = False
        if t + h >= t_end or t + 1.01 * h >= t_end:
            h = t_end - t
            last = True
        hmin = 1e-14 * max(abs(t), 1e-300) + 1e-300
        if h < 4.0 * 2.220446049250313e-16 * abs(t) or h <= hmin:
            if unstable_attempt:
                st = UNSTABLE
            elif nonfinite_attempt:
                st = NON_FINITE
            else:
                st = STEP_UNDERFLOW
            break
        nst += 1
        r5 = mode >= 2
        gam = _P5_GAMMA if r5 else _GAMMA
        ok = True
        err = 0.0
        if use_rk:
            # ---- DOP853 (explicit, order 8 with order-5/3 error estimate, FSAL)
            for j in range(n):
                K[0, j] = f0[j]
            for sg in range(1, 12):
                _dop_arg(sg, y, h, Kf, ytmp)
                _rhs_hot(t + _DC[sg] * h, ytmp, p, data, bounds, K[sg])
            _dop_new(y, h, Kf, ynew)
            _rhs(t + h, ynew, p, data, bounds, f1)
            nrhs += 12
            for j in range(n):
                K[12, j] = f1[j]
            err = _dop_err(Kf, y, ynew, h, rtol, atol, w2)
            ok = math.isfinite(err)
            for j in range(n):
                if not math.isfinite(f1[j]):
                    ok = False
        else:
            # Newton matrix E = I/(h gamma) - J
            fac = 1.0 / (h * gam)
            for a in range(n):
                for b in range(n):
                    E[a, b] = -J[a, b]
                E[a, a] += fac
            ok = _lu(E, perm)
        # A Rosenbrock step along a strongly unstable direction (h gamma lambda > 1) damps it
        # (L-stability: R(z) -> 0 also for z -> +inf) and its error estimate does not see it
        # (both solutions are damped alike): a trajectory that should grow stays put and is
        # reported as a success. Test (O(n), on the first stage the step computes anyway):
        # k1 = (I/(h gamma) - J)^-1 f pointing against f, f . k1 < 0 in the error weights.
        # In J's eigenbasis f . k1 = sum f_i^2 / (1/(h gamma) - lambda_i): negative only when
        # f lies mostly along eigenvalues beyond 1/(h gamma); it cannot happen where J's
        # symmetric part is negative semi-definite. (The sign of det(I/(h gamma) - J), also
        # O(n) from the LU, was tried and rejected: it also flags unstable directions that f
        # has no component along, e.g. next to a valley of the loss with a curvature of 1e30,
        # and held the step at 1e-16 for 100000 steps.) The step is rejected and h shrunk
        # until the growth is resolved; if h underflows, the status says so.
        unstable = False
        if ok and not use_rk and r5 and not unstable:
            # ---- Rodas5P: stages in K[0:8]
            hinv = 1.0 / h
            _lu_solve(E, perm, f0, K[0])
            qf = 0.0
            for j in range(n):
                sc = atol + rtol * abs(y[j])
                qf += K[0, j] * f0[j] / (sc * sc)
            unstable = qf < 0.0
        if ok and not use_rk and r5 and not unstable:
            for sg in range(1, 8):
                if sg < 6:
                    _p5_arg(sg, y, Kf, ytmp)
                else:
                    for j in range(n):
                        ytmp[j] += K[sg - 1, j]
                _rhs(t, ytmp, p, data, bounds, dy)
                _p5_corr(sg, hinv, Kf, dy)
                _lu_solve(E, perm, dy, K[sg])
            for j in range(n):
                ynew[j] = ytmp[j] + K[7, j]
                k6[j] = K[7, j]
            nrhs += 7
            err = _wrms(k6, y, ynew, rtol, atol)
            ok = math.isfinite(err)
        elif ok and not use_rk and not r5 and not unstable:
            _lu_solve(E, perm, f0, k1)
            qf = 0.0
            for j in range(n):
                sc = atol + rtol * abs(y[j])
                qf += k1[j] * f0[j] / (sc * sc)
            unstable = qf < 0.0
        if ok and not use_rk and not r5 and not unstable:
            hc21, hc31, hc32 = _C21 / h, _C31 / h, _C32 / h
            hc41, hc42, hc43 = _C41 / h, _C42 / h, _C43 / h
            hc51, hc52, hc53, hc54 = _C51 / h, _C52 / h, _C53 / h, _C54 / h
            hc61, hc62, hc63, hc64, hc65 = _C61 / h, _C62 / h, _C63 / h, _C64 / h, _C65 / h
            for j in range(n):
                ytmp[j] = y[j] + _A21 * k1[j]
            _rhs(t, ytmp, p, data, bounds, dy)
            for j in range(n):
                dy[j] += hc21 * k1[j]
            _lu_solve(E, perm, dy, k2)
            for j in range(n):
                ytmp[j] = y[j] + _A31 * k1[j] + _A32 * k2[j]
            _rhs(t, ytmp, p, data, bounds, dy)
            for j in range(n):
                dy[j] += hc31 * k1[j] + hc32 * k2[j]
            _lu_solve(E, perm, dy, k3)
            for j in range(n):
                ytmp[j] = y[j] + _A41 * k1[j] + _A42 * k2[j] + _A43 * k3[j]
            _rhs(t, ytmp, p, data, bounds, dy)
            for j in range(n):
                dy[j] += hc41 * k1[j] + hc42 * k2[j] + hc43 * k3[j]
            _lu_solve(E, perm, dy, k4)
            for j in range(n):
                ytmp[j] = y[j] + _A51 * k1[j] + _A52 * k2[j] + _A53 * k3[j] + _A54 * k4[j]
            _rhs(t, ytmp, p, data, bounds, dy)
            for j in range(n):
                dy[j] += hc51 * k1[j] + hc52 * k2[j] + hc53 * k3[j] + hc54 * k4[j]
            _lu_solve(E, perm, dy, k5)
            for j in range(n):
                ytmp[j] += k5[j]  # embedded (order 3) solution
            _rhs(t, ytmp, p, data, bounds, dy)
            for j in range(n):
                dy[j] += hc61 * k1[j] + hc62 * k2[j] + hc63 * k3[j] + hc64 * k4[j] + hc65 * k5[j]
            _lu_solve(E, perm, dy, k6)
            for j in range(n):
                ynew[j] = ytmp[j] + k6[j]
            nrhs += 5
            err = _wrms(k6, y, ynew, rtol, atol)
            ok = math.isfinite(err)
        if unstable:
            unstable_attempt = True
            rejected = True
            h *= 0.2
            continue
        if not ok:
            nonfinite_attempt = True
            rejected = True
            h *= 0.2
            continue
        if err <= 1.0:
            if not use_rk:
                _rhs(t + h, ynew, p, data, bounds, f1)
                nrhs += 1
                good = True
                for j in range(n):
                    if not math.isfinite(f1[j]):
                        good = False
                if not good:
                    nonfinite_attempt = True
                    rejected = True
                    h *= 0.2
                    continue
            nonfinite_attempt = False
            unstable_attempt = False
            t_new = t_end if last else t + h
            if r5 and not use_rk and kout < n_t and t_eval[kout] <= t_new:
                # Rodas5P dense output (grid points only; crossings use the Hermite cubic)
                _p5_dense(Kf, Ff)
            if use_rk and (n_ev > 0 or (kout < n_t and t_eval[kout] <= t_new)):
                # DOP853 dense output: three more stages, then the degree-7 polynomial
                for sg in range(13, 16):
                    _dop_arg(sg, y, h, Kf, ytmp)
                    _rhs_hot(t + _DC[sg] * h, ytmp, p, data, bounds, K[sg])
                nrhs += 3
                _dop_dense(y, ynew, f0, f1, h, Kf, Ff)
            # ---- output grid points in (t, t_new]
            while kout < n_t and t_eval[kout] <= t_new:
                s = (t_eval[kout] - t) / h
                if s >= 1.0:
                    for j in range(n):
                        Yout[i, kout, j] = ynew[j]
                else:
                    if use_rk:
                        _dop_interp(Ff, y, s, Yout[i, kout])
                    else:
                        _interp(2 if r5 else 0, F, y, ynew, f0, f1, h, s, ytmp)
                        for j in range(n):
                            Yout[i, kout, j] = ytmp[j]
                kout += 1
            # ---- crossings
            for e in range(n_ev):
                if found[e]:
                    continue
                kind = ev_kind[e]
                idx = ev_idx[e]
                lev = ev_level[e]
                m = 0
                for q in range(_N_SAMPLES):
                    samp[m] = (q + 1.0) / (_N_SAMPLES + 1.0)
                    m += 1
                if kind == 0:
                    m = _turning_points(y[idx], ynew[idx], h * f0[idx], h * f1[idx], samp, m)
                else:
                    for j in range(n):
                        m = _turning_points(y[j], ynew[j], h * f0[j], h * f1[j], samp, m)
                samp[m] = 1.0
                m += 1
                srt = np.sort(samp[:m])
                ga = g_prev[e]
                sa = 0.0
                for q in range(m):
                    sb = srt[q]
                    if sb >= 1.0:
                        gb = _event_value(kind, idx, lev, ynew, p, data, bounds, obuf)
                    else:
                        _interp(1 if use_rk else 0, F, y, ynew, f0, f1, h, sb, ytmp)
                        gb = _event_value(kind, idx, lev, ytmp, p, data, bounds, obuf)
                    d = ev_dir[e]
                    up = ga < 0.0 and gb >= 0.0
                    down = ga > 0.0 and gb <= 0.0
                    if (up and d >= 0) or (down and d <= 0):
                        lo = sa
                        hi = sb
                        glo = ga
                        for _ in range(200):
                            if (hi - lo) * h <= 1e-13 * max(abs(t), abs(t_new)) or hi - lo <= 1e-16:
                                break
                            mid = 0.5 * (lo + hi)
                            _interp(1 if use_rk else 0, F, y, ynew, f0, f1, h, mid, ytmp)
                            gm = _event_value(kind, idx, lev, ytmp, p, data, bounds, obuf)
                            if (glo < 0.0 and gm >= 0.0) or (glo > 0.0 and gm <= 0.0):
                                hi = mid
                            else:
                                lo = mid
                                glo = gm
                        tcross[i, e] = t + hi * h
                        found[e] = True
                        break
                    if gb != 0.0:
                        ga = gb
                    sa = sb
                g_prev[e] = _event_value(kind, idx, lev, ynew, p, data, bounds, obuf)
            # ---- accept
            t = t_new
            for j in range(n):
                y[j] = ynew[j]
                f0[j] = f1[j]
            meth = 0 if use_rk else 1
            nacc += 1
            hnew = h * _step_factor(err, use_rk, r5, meth_last == meth and not rejected, h / h_last if h_last > 0.0 else 1.0, err_last)
            if rejected:
                hnew = min(hnew, h)
            if not use_rk:
                backoff = 1
            rejected = False
            meth_last = meth
            h_last = h
            err_last = err
            h = min(hnew, hmax)
        elif (
            switching
            and not use_rk
            and meth_last == 0
            and h * _step_factor(err, False, r5, False, 1.0, 0.0) * rho <= _RK_STAB
        ):
            # a rejected Rosenbrock try after DOP853 steps, whose retry would be a step that
            # DOP853 can take as well: back to DOP853 (near its stability limit, next step)
            # for 1, 2, 4, ... steps before trying again. (A retry still beyond DOP853's
            # limit is an ordinary rejection, below: Rosenbrock is worth it already.)
            skip = backoff
            backoff = min(2 * backoff, 64)
        else:
            rejected = True
            h *= _step_factor(err, use_rk, r5, False, 1.0, 0.0)
    status[i] = st
    counts[i, 0] = nst
    counts[i, 1] = nrhs
    counts[i, 2] = njac
    counts[i, 3] = nst - nacc


# ----------------------------------------------------------------------------- wrappers
# Placeholders for the model's generated functions. The kernel below (plain Python here) is
# copied into a per-model wrapper module where these names are the model's numba dispatchers,
# so numba sees them as global functions (cacheable) rather than as dispatcher arguments.
def _rhs(
    t: float, y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray
) -> None:
    raise NotImplementedError("placeholder: replaced by the model's rhs in the wrapper module")


#: The RHS at the DOP853 stage sites (the hot calls): in the wrapper module, the model's rhs
#: inlined there for models of up to :data:`_INLINE_RHS_MAX` coordinates (measured: ~5% off
#: the non-stiff benchmark solve), the plain call above that (compile time).
_rhs_hot = _rhs
_INLINE_RHS_MAX = 16


def _jac(
    t: float, y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray
) -> None:
    raise NotImplementedError("placeholder: replaced by the model's jac in the wrapper module")


def _obs(
    y: np.ndarray, p: np.ndarray, data: np.ndarray, bounds: np.ndarray, out: np.ndarray
) -> None:
    raise NotImplementedError("placeholder: replaced by the model's obs in the wrapper module")


_KERNEL_IMPORTS = (
    (
        "math",
        "np",
        "OK",
        "MAX_STEPS",
        "NON_FINITE",
        "STEP_UNDERFLOW",
        "_N_SAMPLES",
        "_lu",
        "_lu_solve",
        "UNSTABLE",
        "_hermite",
        "_interp",
        "_RK_STAB",
        "_RK_TOL",
        "_RK_SKIP",
        "_RHO_REUSE",
        "_turning_points",
        "_wrms",
        "_step_factor",
        "_DC",
    )
    + _TABLEAU_HELPERS
    + tuple(k for k in list(globals()) if k[:2] in ("_A", "_C") and k[2:].isdigit())
    + ("_GAMMA", "_P5_GAMMA", "_P5_A", "_P5_C", "_P5_H")
)

_WRAPPER = """\
# Generated by dynamics.batch ({tag}) for {gen}. Do not edit.
import numba

from dynamics.batch import {imports}
from dynamics.codegen import load_module

_gen = load_module({gen_path!r})
_rhs = _gen.rhs
{rhs_hot}
_jac = _gen.jac
_obs = _gen.obs
{lu_solve}{lu}

{tableau}
@numba.njit(cache=True, error_model="numpy")
{event_value}

@numba.njit(cache=True, error_model="numpy")
{solve_point}

@numba.njit(cache=True, error_model="numpy")
def solve_serial(Y0, P, data, bounds, t_eval, rtol, atol, max_steps, h0, hmax, ev_kind, ev_idx,
                 ev_level, ev_dir, n_obs, Yout, status, counts, tcross, mode):
    for i in range(Y0.shape[0]):
        _solve_point(i, Y0, P, data, bounds, t_eval, rtol, atol, max_steps, h0, hmax, ev_kind,
                     ev_idx, ev_level, ev_dir, n_obs, Yout, status, counts, tcross, mode)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def solve_parallel(Y0, P, data, bounds, t_eval, rtol, atol, max_steps, h0, hmax, ev_kind, ev_idx,
                   ev_level, ev_dir, n_obs, Yout, status, counts, tcross, mode):
    for i in numba.prange(Y0.shape[0]):
        _solve_point(i, Y0, P, data, bounds, t_eval, rtol, atol, max_steps, h0, hmax, ev_kind,
                     ev_idx, ev_level, ev_dir, n_obs, Yout, status, counts, tcross, mode)
"""

_WRAPPERS: dict[str, ModuleType] = {}


def _read_sources() -> tuple[str, str, str]:
    """This file's hash and the kernel's source, read once when the module is imported: read
    later, an edit of the file in between (a development checkout) handed the wrapper a
    different kernel than the one imported (seen as a failed run during a benchmark)."""
    with open(__file__, "rb") as fh:
        tag = hashlib.sha256(fh.read() + numba.__version__.encode()).hexdigest()[:12]
    return tag, inspect.getsource(_solve_point), inspect.getsource(_event_value)


def _source_tag() -> str:
    """Hash of this file: a changed integrator gets new wrapper files (and a fresh cache)."""
    return _SOURCES[0]


_SOURCES = _read_sources()  # at import: see _read_sources


def _remove_stale_wrappers(gen: Path, keep: Path) -> None:
    """Delete this model's wrapper modules written by other versions of this file (and their
    numba cache files), so the cache does not grow with every change of the integrator."""
    for old in gen.parent.glob(f"batch_{gen.stem}_*.py"):
        if old == keep:
            continue
        stale = [old, *gen.parent.glob(f"__pycache__/{old.stem}.*")]
        for f in stale:
            try:
                f.unlink()
            except OSError:  # another process may be removing it too
                pass


def _kernel_source(n: int) -> str:
    """:func:`_solve_point`'s source with the state size ``n`` as a constant."""
    src = _SOURCES[1]
    line = "    n = Y0.shape[1]\n"
    if src.count(line) != 1:
        raise RuntimeError("batch kernel: the state-size line to specialise is missing")
    return src.replace(line, f"    n = {n}\n")


def _wrapper(cm: CompiledModel) -> ModuleType:
    if cm.backend != "numba" or cm.module_path is None:
        raise ValueError(
            f"solve_batch needs a model compiled with backend='numba', got {cm.backend!r}"
        )
    gen = Path(cm.module_path)
    tag = _source_tag()
    path = gen.with_name(f"batch_{gen.stem}_{tag}.py")
    key = str(path)
    if key in _WRAPPERS:
        return _WRAPPERS[key]
    text = _WRAPPER.format(
        tag=tag,
        gen=gen.name,
        gen_path=str(gen),
        imports=", ".join(_KERNEL_IMPORTS),
        lu_solve=(
            "\n\n@numba.njit(cache=True, error_model='numpy')\n" + _unrolled_solve(cm.n_state)
            if cm.n_state <= _UNROLL_MAX
            else ""
        ),
        lu=(
            "\n\n@numba.njit(cache=True, error_model='numpy')\n" + _unrolled_lu(cm.n_state)
            if cm.n_state <= _UNROLL_LU_MAX
            else ""
        ),
        tableau=_unrolled_tableau(cm.n_state),
        rhs_hot=(
            "_rhs_hot = numba.njit(inline='always', error_model='numpy')(_gen.rhs.py_func)"
            if cm.n_state <= _INLINE_RHS_MAX
            else "_rhs_hot = _rhs"
        ),
        event_value=_SOURCES[2],
        # the state size as a constant: every coordinate loop gets a fixed trip count
        # (measured: the non-stiff benchmark solve ~1.19x faster at n = 10)
        solve_point=_kernel_source(cm.n_state),
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        _remove_stale_wrappers(gen, keep=path)
    mod = load_module(path)
    _WRAPPERS[key] = mod
    return mod


# ----------------------------------------------------------------------------- public API
@dataclass(frozen=True, eq=False)
class BatchResult:
    """Output of :func:`solve_batch`.

    Attributes
    ----------
    t : ndarray (n_t,)
        The output grid.
    y : ndarray (n_pts, n_t, n)
        States on the grid; ``nan`` after a failure.
    status : ndarray (n_pts,) of int
        :data:`STATUS` codes (0 ok).
    n_steps, n_rhs, n_jac : ndarray (n_pts,) of int
        Step attempts (accepted and rejected), RHS and Jacobian evaluations.
    n_rejected : ndarray (n_pts,) of int
        The rejected step attempts among ``n_steps`` (error too large, a non-finite stage,
        or a Rosenbrock try after DOP853 steps that was not accepted).
    crossings : ndarray (n_pts, n_events)
        First crossing time of each event (``nan`` if none).
    events : tuple of Crossing
    params : ndarray (n_pts, n_p)
        The packed runtime rows used.
    stats : dict
        ``rtol``, ``atol``, ``wall_s``, ``threads``, ``method``.
    """

    cm: CompiledModel
    t: np.ndarray
    y: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray
    n_rhs: np.ndarray
    n_jac: np.ndarray
    n_rejected: np.ndarray
    crossings: np.ndarray
    events: tuple[Crossing, ...]
    params: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the points that reached the final time."""
        return self.status == OK

    def status_names(self) -> list[str]:
        return [STATUS[int(s)] for s in self.status]

    def trajectory(self, i: int) -> Trajectory:
        """Point ``i`` as a :class:`Trajectory` (observables from the generated ``obs``).

        For a failed point only the grid rows reached before the failure are included.
        """
        n_pts = self.y.shape[0]
        if not (-n_pts <= i < n_pts):
            raise IndexError(f"point {i} out of range for {n_pts} points")
        y = self.y[i]
        good = np.all(np.isfinite(y), axis=1)
        k = y.shape[0] if good.all() else int(np.argmin(good))
        yk = np.ascontiguousarray(y[:k])
        p = self.params[i]
        obs = (
            self.cm.observables(yk, p)
            if k
            else {nm: np.empty(0) for nm in self.cm.observable_names}
        )
        m = self.cm.model
        stats = {
            "method": f"batch-{self.stats.get('method', 'auto')}",
            "status": STATUS[int(self.status[i])],
            "reason": STATUS_REASON[int(self.status[i])],
            "nsteps": int(self.n_steps[i]),
            "nfev": int(self.n_rhs[i]),
            "njev": int(self.n_jac[i]),
            "nrejected": int(self.n_rejected[i]),
            "rtol": self.stats.get("rtol"),
            "atol": self.stats.get("atol"),
            "events": {
                e.name: (
                    [float(self.crossings[i, j])] if math.isfinite(self.crossings[i, j]) else []
                )
                for j, e in enumerate(self.events)
            },
        }
        n_par = len(m.params)
        meta = {
            "model": m.name,
            "params": dict(zip(m.param_names, map(float, p[:n_par]), strict=True)),
            "factors": dict(zip(m.group_names, map(float, p[n_par:]), strict=True)),
            "y0": dict(zip(m.state_names, map(float, self.y[i, 0]), strict=True)),
            "backend": self.cm.backend,
            "batch_index": int(i) % n_pts,
        }
        return Trajectory(self.t[:k].copy(), yk, m.state_names, obs, stats, meta)


def _events(
    cm: CompiledModel,
    events: Sequence[Crossing | tuple[str, float] | tuple[str, float, int]] | None,
) -> tuple[tuple[Crossing, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    evs: list[Crossing] = []
    for e in events or ():
        if isinstance(e, Crossing):
            evs.append(e)
        elif isinstance(e, tuple) and len(e) in (2, 3):
            evs.append(Crossing(str(e[0]), float(e[1]), int(e[2]) if len(e) == 3 else 0))
        else:
            raise ValueError(
                f"an event must be a Crossing or (name, level[, direction]), got {e!r}"
            )
    names = cm.model.state_names
    onames = cm.observable_names
    kind = np.zeros(len(evs), dtype=np.int64)
    idx = np.zeros(len(evs), dtype=np.int64)
    level = np.zeros(len(evs))
    direction = np.zeros(len(evs), dtype=np.int64)
    for k, e in enumerate(evs):
        if e.name in names:
            kind[k], idx[k] = _KIND["state"], names.index(e.name)
        elif e.name in onames:
            kind[k], idx[k] = _KIND["obs"], onames.index(e.name)
        else:
            raise ValueError(
                f"event on unknown name {e.name!r}; coordinates: {list(names)}, "
                f"observables: {list(onames)}"
            )
        if not math.isfinite(e.level):
            raise ValueError(f"event level must be finite, got {e.level!r} for {e.name!r}")
        if e.direction not in (-1, 0, 1):
            raise ValueError(f"event direction must be -1, 0 or 1, got {e.direction!r}")
        level[k], direction[k] = e.level, e.direction
    return tuple(evs), kind, idx, level, direction


def _scaled(cm: CompiledModel, P: np.ndarray, factors: Mapping[str, float]) -> np.ndarray:
    """Rows ``P`` with each group's factor column multiplied by ``factors[group]``."""
    if not factors:
        return P
    out = P.copy()
    n_par = len(cm.model.params)
    for j, g in enumerate(cm.model.group_names):
        out[:, n_par + j] *= float(factors.get(g, 1.0))
    return out


class _Kernel:
    """One call of the compiled kernel on a grid (fresh output arrays each time)."""

    def __init__(
        self,
        mod: ModuleType,
        cm: CompiledModel,
        rtol: float,
        atol: float,
        max_steps: int,
        h0: float | None,
        hmax: float | None,
        ev: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        mode: int,
        threads: int,
    ) -> None:
        self.mod, self.cm, self.threads = mod, cm, threads
        self.fixed = (
            rtol,
            atol,
            max_steps,
            float(h0) if h0 else 0.0,
            float(hmax) if hmax else math.inf,
            *ev,
        )
        self.mode = mode

    def __call__(
        self, Y0: np.ndarray, P: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n_pts, n = Y0.shape
        Yout = np.empty((n_pts, T.size, n))
        status = np.zeros(n_pts, dtype=np.int64)
        counts = np.zeros((n_pts, 4), dtype=np.int64)
        tcross = np.empty((n_pts, self.fixed[5].shape[0]))
        args = (
            np.ascontiguousarray(Y0),
            np.ascontiguousarray(P),
            self.cm.data,
            self.cm.bounds,
            np.ascontiguousarray(T),
            *self.fixed,
            len(self.cm.observable_names),
            Yout,
            status,
            counts,
            tcross,
            self.mode,
        )
        if self.threads == 1:
            self.mod.solve_serial(*args)
        else:
            old = numba.get_num_threads()
            numba.set_num_threads(
                min(self.threads, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))
            )
            try:
                self.mod.solve_parallel(*args)
            finally:
                numba.set_num_threads(old)
        return Yout, status, counts, tcross


def solve_batch(
    cm: CompiledModel,
    y0: np.ndarray | Sequence[float] | Sequence[Sequence[float]],
    params: np.ndarray | Sequence[float] | Sequence[Sequence[float]],
    t_eval: np.ndarray | Sequence[float],
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 100_000,
    events: Sequence[Crossing | tuple[str, float] | tuple[str, float, int]] | None = None,
    h0: float | None = None,
    hmax: float | None = None,
    threads: int = 1,
    method: str = "auto",
    schedule: Schedule | None = None,
) -> BatchResult:
    r"""Integrate many points of one model to the grid ``t_eval`` (see the module docstring).

    Parameters
    ----------
    cm : CompiledModel
        Compiled with the numba backend.
    y0 : array (n_pts, n) or (n,)
        Initial states (a single row is used for every point).
    params : array (n_pts, n_p) or (n_p,)
        Packed runtime rows (:meth:`CompiledModel.pack`: parameters then group factors).
    t_eval : array (n_t,)
        Strictly increasing output times, ``t_eval[0]`` the initial time; ``n_t >= 2``.
    rtol, atol : float
        Local error tolerances (positive; ``rtol >= 1e-14``).
    max_steps : int
        Step attempts per point before status ``max_steps``.
    events : sequence of Crossing or (name, level[, direction])
        Crossings of coordinates or observables to locate.
    h0, hmax : float, optional
        Initial step (default: heuristic) and largest step (default: none).
    threads : int
        1: serial loop over points; > 1: numba ``prange`` over points with that many threads.
    method : {"auto", "rodas4", "rodas5p"}
        ``"auto"``: DOP853 on non-stiff steps, Rodas5P on stiff ones; otherwise that
        Rosenbrock method on every step.
    schedule : Schedule, optional
        Piecewise-constant learning-rate factors (:class:`~dynamics.schedule.Schedule`),
        integrated piece by piece as :func:`dynamics.integrate.integrate` does: every piece
        restarts the solver at its break with each group's factor in the rows multiplied by
        the piece's factor. Counters are summed over the pieces, a crossing is the first
        over all pieces, and a point that fails in one piece stays failed (with ``nan``
        after). ``stats["pieces"]`` is the number of pieces.

    Returns
    -------
    BatchResult
    """
    t_start = time.perf_counter()
    if not isinstance(cm, CompiledModel):
        raise ValueError(f"cm must be a CompiledModel, got {type(cm).__name__}")
    n = cm.n_state
    n_p = len(cm.model.params) + len(cm.model.group_names)
    Y0 = np.asarray(y0, dtype=float)
    P = np.asarray(params, dtype=float)
    if Y0.ndim not in (1, 2) or Y0.shape[-1] != n:
        raise ValueError(f"y0 must have shape (n_pts, {n}) or ({n},), got {Y0.shape}")
    if P.ndim not in (1, 2) or P.shape[-1] != n_p:
        raise ValueError(
            f"params must have shape (n_pts, {n_p}) or ({n_p},) (packed rows: "
            f"parameters then group factors, see CompiledModel.pack), got {P.shape}"
        )
    sizes = {a.shape[0] for a in (Y0, P) if a.ndim == 2}
    if len(sizes) > 1:
        raise ValueError(
            f"y0 and params have different numbers of points: {Y0.shape[0]} vs {P.shape[0]}"
        )
    n_pts = sizes.pop() if sizes else 1
    if n_pts < 1:
        raise ValueError("need at least one point")
    # fresh writable C arrays (a read-only view would compile another specialisation)
    Y0 = np.array(np.broadcast_to(Y0, (n_pts, n)), dtype=float, order="C")
    P = np.array(np.broadcast_to(P, (n_pts, n_p)), dtype=float, order="C")
    for label, arr in (("y0 contains", Y0), ("params contain", P)):
        bad = np.nonzero(~np.isfinite(arr).all(axis=1))[0]
        if bad.size:
            raise ValueError(f"{label} non-finite values (rows {bad[:5].tolist()})")
    T = np.array(t_eval, dtype=float, order="C")
    if T.ndim != 1 or T.size < 2:
        raise ValueError(f"t_eval must be a 1-d array of at least 2 times, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("t_eval contains non-finite values")
    if np.any(np.diff(T) <= 0):
        raise ValueError("t_eval must be strictly increasing")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or not (math.isfinite(v) and v > 0)
        ):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if rtol < 1e-14:
        raise ValueError(f"rtol must be >= 1e-14 (double precision), got {rtol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int | np.integer) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    for name, opt in (("h0", h0), ("hmax", hmax)):
        if opt is not None and not (math.isfinite(opt) and opt > 0):
            raise ValueError(f"{name} must be a positive finite number, got {opt!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(_METHODS)}")
    evs, ev_kind, ev_idx, ev_level, ev_dir = _events(cm, events)

    mod = _wrapper(cm)
    run = _Kernel(
        mod,
        cm,
        float(rtol),
        float(atol),
        int(max_steps),
        h0,
        hmax,
        (ev_kind, ev_idx, ev_level, ev_dir),
        _METHODS[method],
        threads,
    )
    schedule = schedule if schedule is not None else Schedule.constant()
    schedule.check_groups(cm.model.group_names)
    pieces = schedule.pieces(float(T[0]), float(T[-1]))
    if len(pieces) == 1:
        Yout, status, counts, tcross = run(Y0, _scaled(cm, P, pieces[0][2]), T)
    else:
        Yout = np.full((n_pts, T.size, n), np.nan)
        status = np.zeros(n_pts, dtype=np.int64)
        counts = np.zeros((n_pts, 4), dtype=np.int64)
        tcross = np.full((n_pts, len(evs)), np.nan)
        y_start = Y0
        for a, b, factors in pieces:
            inside = np.flatnonzero((T >= a) & (T <= b))
            sub = T[inside]
            lead = sub.size == 0 or sub[0] > a  # the break itself is not an output time
            if lead:
                sub = np.concatenate([[a], sub])
            if sub[-1] < b:
                sub = np.concatenate([sub, [b]])
            y_p, st_p, c_p, tc_p = run(y_start, _scaled(cm, P, factors), sub)
            vals = y_p[:, 1:, :] if lead else y_p
            vals = vals[:, : inside.size, :]
            ok = status == OK  # a point that failed before keeps its status and its nan
            Yout[np.ix_(np.flatnonzero(ok), inside)] = vals[ok]
            counts[ok] += c_p[ok]
            status[ok] = st_p[ok]
            first = ok[:, None] & np.isnan(tcross) & ~np.isnan(tc_p)
            tcross[first] = tc_p[first]
            y_start = np.ascontiguousarray(y_p[:, -1, :])
            bad = ~np.isfinite(y_start).all(axis=1)
            y_start[bad] = 0.0  # failed points: any finite start; their results are ignored
    stats = {
        "method": method,
        "rtol": float(rtol),
        "atol": float(atol),
        "threads": threads,
        "pieces": len(pieces),
        "wall_s": time.perf_counter() - t_start,
    }
    return BatchResult(
        cm,
        T,
        Yout,
        status,
        counts[:, 0].copy(),
        counts[:, 1].copy(),
        counts[:, 2].copy(),
        counts[:, 3].copy(),
        tcross,
        evs,
        P,
        stats,
    )
