r"""Claims and the registered derivation ``yuksel2026`` (Yüksel, Alvarez Lucendo & Flammarion 2026).

Sources (spec ``yuksel2026_sparse_attention_markov.md``): Eq. 4 is the authors' own equation,
read from their public code (spec 3.2); the closed form (spec 3.3), the regression bridge
(5.3) and the analysis of the stages (3.4) are derivations; the theorems were not read, so
no claim restates one. The paper's numbers come from its figures, read off the plots in the
authors' notebooks (spec 4, about +-5%). Stages:

1. Eq. 4 (replicator and J2 forms) derived through the pipeline, its closed form, and the
   ODE claims of :mod:`derivations.yuksel2026.ode_claims`;
2. the regression bridge (:mod:`derivations.yuksel2026.bridge`): full-batch GD on the
   position-only regression model follows the J2 form with time = lr * steps, and the
   pipeline's compiled J2 model reproduces the bridge's own flow in the same coordinates;
3. the minimal transformer (:mod:`derivations.yuksel2026.direct`) against the paper's
   figures;
4. phase diagrams of $t_2, t_3$ over $(m, \log\varepsilon)$ and of the final loss over
   $(h, K)$.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from derivations.yuksel2026 import bridge as B
from derivations.yuksel2026 import ode_claims as O
from derivations.yuksel2026 import reduced as R
from derivations.yuksel2026.findings import FINDINGS
from dynamics.claims import Claim, check, check_equal
from dynamics.integrate import integrate
from dynamics.registry import Derivation
from dynamics.verify import VerifyContext

__all__ = ["Setting", "verify", "derivation", "claim_pipeline_bridge"]

RECONSTRUCTED = (
    "what the paper's theorems state (competitive then cooperative phases, stage-wise convergence): "
    "the theorems were not read (spec 3.5, reconstructed); the claims check the figures and Eq. 4 instead",
    "the closed low-dimensional form of Eq. 4 (spec 3.3, derived)",
    "the regression bridge: iid whitened tokens and position-only attention make Eq. 4's J2 form "
    "the exact population gradient flow (spec 5.3, derived)",
    "the paper's numbers are read off the plots in the authors' notebooks (spec section 4, about +-5%)",
)


@dataclass(frozen=True)
class Setting:
    """Knobs of ``dynamics verify yuksel2026`` (``--set NAME=VALUE``).

    ``T``, ``m``, ``eps``: Eq. 4's positions, hierarchy ratio (g = (m^2, m, 1)) and initial
    noise. ``grid``: points per axis of the (m, log10 eps) phase diagram.
    """

    T: int = 40
    m: float = 1.7
    eps: float = 1e-6
    grid: int = 6

    def __post_init__(self) -> None:
        if not 4 <= self.T <= R.MAX_T:
            raise ValueError(f"T must be in [4, {R.MAX_T}], got {self.T}")
        if not (self.m > 1 and self.eps > 0):
            raise ValueError(f"need m > 1 and eps > 0, got m = {self.m}, eps = {self.eps}")
        if not 3 <= self.grid <= 20:
            raise ValueError(f"grid must be in 3..20, got {self.grid}")


def claim_pipeline_bridge(dev: dict[str, float], tol: float = 1e-5) -> Claim:
    """The pipeline's compiled J2 model against the bridge's hand-written J2 flow."""
    worst = max(dev.values())
    return check(
        "yuksel2026.bridge-pipeline", "The J2 form of Eq. 4 derived and compiled by the pipeline reproduces the "
        "bridge's hand-written J2 flow (same teacher strengths, same start, same time axis): largest "
        "difference in V and s over t in [0, 300].", 0.0, worst, tol=tol, source="derived",
        why="two integrations of the same ODE at rtol 1e-10 / 1e-8: differences well below 1e-5 are "
            "integrator error; a wrong sign, factor or form (replicator vs J2) gives O(1).", details=dev)


def _pipeline_vs_bridge(setting: B.BridgeSetting) -> dict[str, float]:
    flow = B.reference_flow(setting)
    teacher = setting.teacher()
    K = len(setting.spans)
    cm = R.eq4_model(setting.h, K, setting.T, "J2", positions=[sp[0] for sp in setting.spans]).compile()
    theta0, _ = setting.init()
    s0 = np.exp(theta0 - theta0.max(axis=1, keepdims=True))
    s0 /= s0.sum(axis=1, keepdims=True)
    y0 = R.full_state(cm, s0)
    tr = integrate(cm, y0, R.params(cm, list(teacher.g)), t_eval=flow.t, rtol=1e-10, atol=1e-12)
    return {"V": float(np.max(np.abs(R.values(tr) - flow.V))),
            "s": float(np.max(np.abs(R.attention(tr) - flow.s))),
            "loss": float(np.max(np.abs(tr.loss - flow.loss)))}


def _phase_t23(ctx: VerifyContext, s: Setting) -> dict[str, Any]:
    """t_2 and t_3 of the closed form over (m, log10 eps)."""
    from dynamics.batch import solve_batch

    cc = R.closed_model(3, 3).compile()
    ms = np.linspace(1.2, 2.5, s.grid)
    leps = np.linspace(-12, -3, s.grid)
    grid = [(float(m), float(le)) for m in ms for le in leps]
    # every point in one call of the compiled batch integrator (dynamics.batch)
    Y0 = np.stack([R.initial_state(cc, 10**le, 0, T=s.T) for _, le in grid])
    P = np.stack([cc.pack(R.params(cc, R.strengths(m, 3), T=s.T)) for m, _ in grid])
    t_eval = np.concatenate([[0.0], np.geomspace(1e-2, 1e5, 1500)])
    res = solve_batch(cc, Y0, P, t_eval, rtol=1e-8, atol=1e-10)
    t2 = np.full((ms.size, leps.size), np.nan)
    t3 = np.full_like(t2, np.nan)
    for idx in range(len(grid)):
        if res.status[idx] == 0:
            ts = O.transition_times(res.trajectory(idx))
            t2.flat[idx], t3.flat[idx] = ts[1], ts[2]
    ctx.save_arrays("phase_t23", {"m": ms, "log10_eps": leps, "t2": t2, "t3": t3, "status": res.status},
                    {"model": "closed form of Eq. 4, h = 3, K = 3", "T": s.T, "solver": "dynamics.batch",
                     "batch_stats": res.stats})
    return {"m": ms, "log10_eps": leps, "t2": t2, "t3": t3}


def _phase_hK(ctx: VerifyContext, s: Setting, g_full: tuple[float, ...]) -> dict[str, Any]:
    """Final loss of Eq. 4 over heads h = 1..4 and patterns K = 1..3 (patterns beyond K have
    strength 0, which the flow never excites from V = 0)."""
    hs, Ks = [1, 2, 3, 4], [1, 2, 3]
    final = np.full((len(hs), len(Ks)), np.nan)
    predicted = np.full_like(final, np.nan)
    for a, h in enumerate(hs):
        cm = R.eq4_model(h, 3, s.T).compile()
        for b, K in enumerate(Ks):
            g = [*g_full[:K], *([0.0] * (3 - K))]
            y0 = R.initial_state(cm, s.eps, 0)
            tr = integrate(cm, y0, {f"g{j + 1}": x for j, x in enumerate(g)}, t_max=1e5, n_points=400,
                           rtol=1e-8, atol=1e-10)
            final[a, b] = tr.loss[-1]
            predicted[a, b] = 0.5 * sum(x * x for x in g[min(h, K):])
    ctx.save_arrays("phase_hK", {"h": np.array(hs), "K": np.array(Ks), "final_loss": final,
                                 "predicted": predicted}, {"model": "Eq. 4 replicator", "T": s.T})
    return {"h": hs, "K": Ks, "final": final, "predicted": predicted}


def claim_hK(final: np.ndarray, predicted: np.ndarray) -> Claim:
    dev = float(np.max(np.abs(final - predicted)))
    return check(
        "yuksel2026.ode-heads-patterns", "Eq. 4 over h = 1..4 heads and K = 1..3 patterns: the final loss "
        "is 0.5 * sum_{j > min(h, K)} g_j^2 (min(h, K) patterns are fitted, the rest never): largest "
        "deviation over the 12 cells.", 0.0, dev, tol=1e-3, source="derived",
        why="t = 1e5 is far past every transition of these runs (the slowest, h = K = 3, ends near "
            "t ~ 250); the remaining gap decays exponentially, measured below 1e-6.",
        details={"final": final.tolist(), "predicted": predicted.tolist()})


def verify(ctx: VerifyContext) -> list[Claim]:
    s = ctx.settings if isinstance(ctx.settings, Setting) else Setting()
    claims: list[Claim] = []
    with ctx.stage("Eq. 4: derive, compile and integrate (replicator, J2, closed form); ODE claims"):
        res = O.ode_suite(O.OdeSettings(T=s.T, m=s.m, eps=s.eps), quick=ctx.quick)
        claims += res.claims
        ctx.config["ode_numbers"] = res.numbers
        for key in ("rep_h3", "j2_h3", "closed_h3", "rep_h1", "rep_h2"):
            if key in res.trajectories:
                ctx.save_trajectory(f"eq4_{key}", res.trajectories[key])
    with ctx.stage("regression bridge: full-batch GD against the J2 flow"):
        bs = B.BridgeSetting()
        claims += B.bridge_claims(bs)
        claims.append(claim_pipeline_bridge(_pipeline_vs_bridge(bs)))
    g = R.strengths(s.m, 3)
    with ctx.stage("phase diagrams: t2, t3 over (m, log eps); final loss over (h, K)"):
        ph = _phase_t23(ctx, Setting(T=s.T, m=s.m, eps=s.eps, grid=4 if ctx.quick else s.grid))
        hk = _phase_hK(ctx, s, g)
        claims.append(claim_hK(hk["final"], hk["predicted"]))
    with ctx.stage("figures (Eq. 4)"):
        _figures_ode(ctx, res, g, ph, hk)
    claims += verify_transformer(ctx)
    return claims


def _figures_ode(ctx: VerifyContext, res: O.OdeResults, g: tuple[float, ...], ph: dict[str, Any],
                 hk: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    main, j2 = res.trajectories["rep_h3"], res.trajectories.get("j2_h3")
    levels = O.plateau_levels(g)
    fig, ax = plt.subplots(1, 3, figsize=(17, 4.2))
    ax[0].semilogx(main.t[1:], main.loss[1:], label="Eq. 4 (replicator)")
    if j2 is not None:
        ax[0].semilogx(j2.t[1:], j2.loss[1:], label="Eq. 4 (J2, logit flow)")
    for lv in levels:
        ax[0].axhline(lv, color="gray", ls=":", lw=0.8)
    for t in O.transition_times(main):
        if math.isfinite(t):
            ax[0].axvline(t, color="C0", ls="--", lw=0.6)
    ax[0].set(xlabel="t", ylabel="loss", title="loss; dotted: plateaus 0.5 sum_{j>k} g_j^2")
    ax[0].legend(fontsize=8)
    att = R.attention(main)  # (N, h, T)
    lay = R.layout(main)
    for k in range(att.shape[1]):
        for j, p in enumerate(lay.positions):
            ax[1].semilogx(main.t[1:], att[1:, k, p - 1], color=f"C{k}", ls=("-", "--", ":")[j % 3],
                           label=f"head {k + 1}, pattern {j + 1}")
    ax[1].set(xlabel="t", ylabel="s_k(p_j)", title="attention per head on each pattern (Eq. 4)")
    ax[1].legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    for name, tr in res.trajectories.items():
        if name.startswith("rep_h") and name != "rep_h3":
            ax[2].semilogx(tr.t[1:], tr.loss[1:], label=name.replace("rep_", ""))
    ax[2].semilogx(main.t[1:], main.loss[1:], label="h3")
    for lv in levels:
        ax[2].axhline(lv, color="gray", ls=":", lw=0.8)
    ax[2].set(xlabel="t", ylabel="loss", title="fewer heads than patterns: stuck at L_h")
    ax[2].legend(fontsize=8)
    ctx.save_figure(
        "eq4", fig,
        caption="Eq. 4 at T = 40, g = (2.89, 1.7, 1), the notebook's noise draw, log time. Left: the loss "
                "steps down through the levels 0.5 sum_{j>k} g_j^2 (dotted) with drops at the transition "
                "times (dashed); the J2 (logit) flow takes the same steps later. Middle: all heads first "
                "rise together on pattern 1 (competitive), then one head at each later drop moves its mass "
                "to the new pattern; the last one ends split about 0.52 / 0.48 between patterns 1 and 3. "
                "Right: with h = 1 or 2 heads the loss stays at L_1 or L_2.",
        claims=("yuksel2026.ode-plateaus", "yuksel2026.ode-drops", "yuksel2026.ode-final-h1",
                "yuksel2026.ode-final-h2", "yuksel2026.ode-final-h3", "yuksel2026.ode-competitive",
                "yuksel2026.ode-competitive-share", "yuksel2026.ode-handoff", "yuksel2026.ode-j2-order",
                "yuksel2026.ode-j2-slower"))

    fig, ax = plt.subplots(1, 3, figsize=(16, 4.2))
    ext = (ph["log10_eps"][0], ph["log10_eps"][-1], ph["m"][0], ph["m"][-1])
    for a, key in zip(ax[:2], ("t2", "t3"), strict=True):
        im = a.imshow(np.log10(ph[key]), origin="lower", aspect="auto", extent=ext, cmap="viridis")
        a.set(xlabel="log10 eps (initial asymmetry)", ylabel="m (g = (m^2, m, 1))",
              title=f"log10 {key} (closed form of Eq. 4)")
        fig.colorbar(im, ax=a)
    im = ax[2].imshow(hk["final"], origin="lower", aspect="auto", cmap="magma",
                      extent=(0.5, len(hk["K"]) + 0.5, 0.5, len(hk["h"]) + 0.5))
    for a_, h in enumerate(hk["h"]):
        for b_, K in enumerate(hk["K"]):
            v = hk["final"][a_, b_]
            rgb = np.asarray(im.cmap(im.norm(v)), dtype=float)[:3]
            ink = "k" if float(rgb @ [0.299, 0.587, 0.114]) > 0.5 else "w"  # legible on the cell
            ax[2].text(K, h, f"{v:.2f}", ha="center", va="center", fontsize=8, color=ink)
    ax[2].set(xlabel="patterns K", ylabel="heads h", title="final loss of Eq. 4 (t = 1e5)")
    fig.colorbar(im, ax=ax[2])
    ctx.save_figure(
        "phase_diagrams", fig,
        caption="Left and middle: log10 of the second and third transition times of Eq. 4 (closed form) over "
                "the hierarchy ratio m and the initial asymmetry eps: both grow as eps shrinks (the plateaus "
                "are saddles left by amplifying the asymmetry), t3 steeply with m. Right: the final loss over "
                "heads h and patterns K is 0.5 sum_{j > min(h, K)} g_j^2: zero on and below the diagonal "
                "(h >= K), the misspecified levels above it.",
        claims=("yuksel2026.ode-heads-patterns",))


def initial_state(cm: Any) -> np.ndarray:
    """The authors' notebook start (V = 0, attention uniform + 1e-6 noise, seed 0): the
    exactly symmetric start never leaves the first plateau."""
    return R.initial_state(cm, 1e-6, 0)


derivation = Derivation(
    name="yuksel2026",
    title="Yüksel, Alvarez Lucendo & Flammarion 2026: sparse attention learned in stages (Eq. 4, bridge, "
          "minimal transformer)",
    model=lambda: R.eq4_model(3, 3, 40),
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Setting,
    initial_state=initial_state,
    findings=FINDINGS,
)


# ---------------------------------------------------------------------------------------------
# the minimal transformer (spec 2.1, 4, 5.2)

PAPER_BOUNDARIES = (330.0, 575.0)  # Fig. 1 / 6-7 stage boundaries, query init 1e-9 (read off the figure)
#: What the boundary tolerances absorb, in steps (boundary 1, boundary 2), each a ~95% bound,
#: measured on our Fig. 1 runs with teacher/init/data seeds 0-5 (1000 and 800 steps, records
#: every 20; onsets 361-407 and 530-626):
BOUNDARY_SPREAD = {
    # the paper's teacher draw is one draw, ours another: 2 sqrt(2) x the sd over our 6 draws (16.1, 35.7)
    "teacher_draw": (45.5, 101.0),
    # the paper's boundaries read off its figure, +-5% (spec section 4)
    "figure_reading": (16.5, 28.8),
    # where a plateau "ends": departure of ln excess by 1-5% below the plateau's trend instead of the
    # tangent construction (largest difference over the 6 draws)
    "definition": (25.5, 32.7),
    # records every 40 instead of 20 steps (largest change over the 6 draws and both offsets)
    "record_spacing": (13.6, 8.3),
}
#: Independent sources add in quadrature: 56 and 110 steps.
BOUNDARY_TOL = tuple(float(round(math.sqrt(sum(v[k] ** 2 for v in BOUNDARY_SPREAD.values())))) for k in (0, 1))
FIRST_FALL_END = 100.0  # the first fall (uniform attention -> newest span) is over by step 100
PAPER_EXCESS = (0.93, 0.36)  # plateau excess, Fig. 1 and 4-left: ~0.87-1.0 and ~0.35-0.38 (read off the figures)


@dataclass(frozen=True)
class TfJob:
    """One transformer run: ``n`` = 0 means online data; ``keep`` = steps whose parameters
    are kept (attention maps)."""

    name: str
    steps: int
    batch: int
    n: int = 0
    query_init: float = 1e-9
    reverse: bool = False
    every: int = 20
    keep: tuple[int, ...] = ()
    n_eval: int = 1000
    seed: int = 0


def _tf_run(job: TfJob) -> tuple[Any, dict[int, dict[str, np.ndarray]]]:
    from derivations.yuksel2026.direct import MinimalTransformer, train
    from derivations.yuksel2026.teacher import Teacher

    teacher = Teacher(seed=job.seed, reverse=job.reverse)
    model = MinimalTransformer.for_teacher(teacher, query_init=job.query_init)
    val = teacher.dataset(np.random.default_rng([job.seed, 12345]), job.n_eval)
    data = teacher if job.n == 0 else teacher.dataset(np.random.default_rng([job.seed, 7]), job.n)
    kept: dict[int, dict[str, np.ndarray]] = {}

    def keep(step: int, row: dict[str, Any]) -> None:
        if step in job.keep:
            kept[step] = {k: v.copy() for k, v in row["params"].items()}

    rec, _ = train(model, data, job.steps, rng=np.random.default_rng([job.seed, 1]), batch=job.batch,
                   eval_set=val, record_every=job.every, callback=keep, threads=1)
    return rec, kept


def _stage_of(rec: Any, newest_first: bool = True) -> np.ndarray:
    """Structural stage at every record: 1 + the number of older spans held by some head (stage 1:
    every head on the newest, most important span; stage 2: one head has moved to the middle
    span; stage 3: another to the oldest). A head holds the span of its largest attention mass
    when that mass exceeds 0.3 (twice the uniform start's 0.15 per span of 2 lags). Spans oldest
    first; with ``newest_first=False`` (reversed importance) oldest and newest swap roles."""
    sm = rec.span_mass  # (R, H, K)
    K = sm.shape[2]
    top = sm.argmax(axis=2)  # (R, H)
    strong = sm.max(axis=2) > 0.3  # (R, H)
    held = np.stack([((top == j) & strong).any(axis=1) for j in range(K)], axis=1)  # (R, K)
    others = held[:, : K - 1] if newest_first else held[:, 1:]
    return 1 + others.sum(axis=1)


def _boundaries(rec: Any) -> list[float]:
    """First recorded steps of structural stages 2 and 3 (nan if not reached): where a head's
    largest span mass first moves to an older span. These fall in the middle of a loss drop;
    they only say which plateau is which (:func:`_onsets`), not when a stage ends."""
    st = _stage_of(rec)
    out = []
    for k in (2, 3):
        idx = np.nonzero(st >= k)[0]
        out.append(float(rec.steps[idx[0]]) if idx.size else float("nan"))
    return out


def drop_onsets(steps: np.ndarray, excess: np.ndarray, windows: list[tuple[float, float]],
                log: bool = True) -> list[float]:
    r"""Loss-drop onsets: where each plateau ends and the loss starts to drop.

    Definition (the *extrapolated onset*, the tangent construction). On $y = \ln$ (excess
    loss) at the recorded steps, with the per-step decrease rate
    $q_i = -(y_{i+1} - y_i)/(s_{i+1} - s_i)$ of each segment between records:

    1. plateau $k$'s level is $y$ at its flattest segment: the smallest $q_i$ among the
       segments that start inside ``windows[k]`` $= [a_k, b_k)$ (the midpoint of that
       segment, $\bar y_f$);
    2. drop $k$'s steepest segment is the largest $q_i$ after that flattest segment and
       before the next plateau's flattest segment (the end of the run for the last one);
    3. the onset is where the straight line through the steepest segment meets the plateau
       level: $s_* = \bar s_i - (\bar y_f - \bar y_i)/q_i$, with $\bar s_i, \bar y_i$ the
       segment's midpoint.

    It has no threshold and interpolates between records; a plateau's slow creep or its
    record-to-record noise moves the level by a few 1e-3 in $y$, which a steep tangent turns
    into a step or less. ``log=False`` does the same on the excess itself (a variant, for
    the definition's sensitivity). ``nan`` when a window holds no segment or no later drop.
    """
    sv = np.asarray(steps, dtype=float)
    ev = np.asarray(excess, dtype=float)
    y = np.log(np.maximum(ev, 1e-12)) if log else ev
    q = -np.diff(y) / np.diff(sv)  # (R-1,)
    mid_s, mid_y = (sv[1:] + sv[:-1]) / 2, (y[1:] + y[:-1]) / 2
    flats: list[int | None] = []
    for a, b in windows:
        seg = np.nonzero((sv[:-1] >= a) & (sv[:-1] < b))[0] if math.isfinite(a) else np.array([], int)
        flats.append(int(seg[np.argmin(q[seg])]) if seg.size else None)
    out = []
    for k, f in enumerate(flats):
        nxt = flats[k + 1] if k + 1 < len(flats) else None
        seg = np.arange(f + 1, nxt if nxt is not None else q.size) if f is not None else np.array([], int)
        if seg.size == 0 or not np.max(q[seg]) > 0:
            out.append(float("nan"))
            continue
        i = int(seg[np.argmax(q[seg])])
        out.append(float(mid_s[i] - (mid_y[f] - mid_y[i]) / q[i]))
    return out


def _onsets(rec: Any, log: bool = True) -> list[float]:
    """Onsets of the drops that end plateaus 1 and 2 (:func:`drop_onsets`): plateau 1 is
    searched from step 100 (after the first fall) to the first structural boundary, plateau 2
    between the two structural boundaries (:func:`_boundaries`)."""
    b1, b2 = _boundaries(rec)
    end = float(rec.steps[-1]) + 1
    w = [(FIRST_FALL_END, b1 if math.isfinite(b1) else end), (b1, b2 if math.isfinite(b2) else end)]
    return drop_onsets(rec.steps, rec.val_excess, w, log=log)


def _stage_sequence(rec: Any, start: int = 100, min_len: int = 3) -> list[int]:
    """Run-length-compressed structural stages after ``start``, keeping runs of at least
    ``min_len`` records."""
    st = _stage_of(rec)[rec.steps >= start]
    seq: list[int] = []
    i = 0
    while i < st.size:
        j = i
        while j < st.size and st[j] == st[i]:
            j += 1
        if j - i >= min_len and (not seq or seq[-1] != st[i]):
            seq.append(int(st[i]))
        i = j
    return seq


def _kl_minima_order(rec: Any) -> list[int]:
    """Restricted teachers ordered by the step at which KL(A*_{1:k} || model) is smallest."""
    t = [float(rec.steps[int(np.argmin(rec.kl[:, k]))]) for k in range(rec.kl.shape[1])]
    return [int(i) + 1 for i in np.argsort(t, kind="stable")]


def claim_tf_stages(seq: list[int], kl_order: list[int]) -> Claim:
    return check_equal(
        "yuksel2026.tf-stages", "Minimal transformer (spans (2,2,2), m = 1.7, 3 heads, query init 1e-9): three "
        "stages after the first drop (structural stage: 1 + older spans that are some head's argmax), and "
        "KL(A*_{1:k} || model) reaches its minimum in the same order k = 1, 2, 3 (the plateaus sit at the "
        "restricted teachers, paper Fig. 1).", {"stages": [1, 2, 3], "kl_minima": [1, 2, 3]},
        {"stages": seq, "kl_minima": kl_order}, source="paper",
        why="exact sequences; a stage counts when it lasts >= 3 records (60 steps), so noise at a crossing "
            "cannot add or remove one.")


def claim_tf_levels(levels: list[float]) -> Claim:
    return check(
        "yuksel2026.tf-plateau-levels", "Minimal transformer: excess validation loss at the middle of plateaus 1 "
        "and 2 against the paper's Fig. 1 / 4-left levels (~0.93, ~0.36).", list(PAPER_EXCESS), levels,
        tol=0.2, relative=True, source="paper",
        why="levels read off the paper's plots (+-5%), and they depend on the teacher draw: the spec's own "
            "reproduction measured 1.01 against the paper's ~0.87 for plateau 1 (16%); 20% covers both.")


def claim_tf_boundary(k: int, onset: float, predicted: float | None = None,
                      details: dict[str, Any] | None = None) -> Claim:
    """Stage boundary ``k`` (1 or 2): the onset of the loss drop that ends plateau ``k``
    (:func:`drop_onsets`) against the paper's step, within :data:`BOUNDARY_TOL`."""
    if k not in (1, 2):
        raise ValueError(f"boundary k must be 1 or 2, got {k}")
    p = PAPER_BOUNDARIES[k - 1] if predicted is None else float(predicted)
    tol = BOUNDARY_TOL[k - 1]
    parts = ", ".join(f"{name.replace('_', ' ')} {v[k - 1]:g}" for name, v in BOUNDARY_SPREAD.items())
    return check(
        f"yuksel2026.tf-boundary-{k}", f"Minimal transformer (Fig. 1 setting, query init 1e-9): stage "
        f"boundary {k}, where plateau {k} ends and the loss starts to drop, at the paper's step "
        f"{PAPER_BOUNDARIES[k - 1]:g}. Onset of a drop: where the tangent at its steepest point (on ln excess "
        "loss, records every 20 steps) meets the level of the plateau before it (at its flattest point).",
        p, onset, tol=tol, source="paper",
        why=f"+-{tol:g} steps adds in quadrature what moves the boundary without contradicting the paper "
            f"({parts}): the spread over teacher draws (the paper's draw is unknown; our draws 0-5 give "
            "onsets 361-407 and 530-626) dominates, then where exactly a plateau 'ends' (a 1-5% departure "
            "from its trend comes up to 26 / 33 steps earlier than the tangent), the reading of the "
            "paper's figure (+-5%) and the record spacing. The structural boundaries (a head's argmax "
            "flips: 400 and 740 in the main run) come mid-drop and fail both (70 and 165 steps off).",
        details=details)


def claim_tf_competitive(spread: float, newest: bool) -> Claim:
    return check(
        "yuksel2026.tf-competitive", "Minimal transformer, competitive phase: until the first boundary the three "
        "heads' span masses agree (largest difference over heads and spans, at 80% of the first boundary, "
        "the onset of the first loss drop after plateau 1) and "
        "all heads attend most to the newest span.", 0.0, spread if newest else float("inf"), tol=0.02,
        source="paper", why="spec 5.2.2: the heads agree to >= 2 decimals before the first boundary (0.02 "
        "allows a last-digit difference); any head on another span fails outright.")


def claim_tf_cooperative(argmax_mid2: list[int], argmax_end: list[int]) -> Claim:
    ok_mid = sorted(argmax_mid2) == [1, 2, 2]
    ok_end = sorted(argmax_end) == [0, 1, 2]
    return check_equal(
        "yuksel2026.tf-cooperative", "Minimal transformer, cooperative phase: on plateau 2 exactly one head has "
        "moved to the middle span (sorted argmax spans [1, 2, 2], 0 = oldest), and at the end the heads cover "
        "the three spans, one each ([0, 1, 2]).", [True, True], [ok_mid, ok_end], source="paper",
        why="argmax of each head's span mass; exact.", details={"plateau2": argmax_mid2, "end": argmax_end})


def claim_tf_init0(excess_end: float, spread: float, plateau1: float) -> Claim:
    return check(
        "yuksel2026.tf-init0", "Minimal transformer with query init exactly 0: the heads stay identical (largest "
        "span-mass difference) and the excess loss stays on plateau 1 (end of run / plateau-1 level of the "
        "main run).", [0.0, 1.0], [spread, excess_end / plateau1], tol=0.1, source="paper",
        why="symmetric heads are an invariant set (Eq. 4's eps = 0); 0.1 allows the plateau's slow creep "
            "(the spec measured 1.571 -> 1.561 over 600 steps) and is far from the next level (~0.36/0.93).")


def claim_tf_reversed(first_span: int) -> Claim:
    return check_equal(
        "yuksel2026.tf-reversed", "Minimal transformer with reversed importance (oldest span most important): "
        "the first span the heads concentrate on (first record with a head's span mass > 1/2) is the oldest "
        "(0), i.e. importance, not recency, sets the order.", 0, first_span, source="paper",
        why="an index, exact.")


def claim_tf_early_stopping(stages: list[int], ns: list[int]) -> Claim:
    return check_equal(
        "yuksel2026.tf-early-stopping", f"Minimal transformer on n = {ns} training sequences: the best "
        "validation step falls in stage 1 / 2 / 3 (the rung of the ladder matching the sample size).",
        [1, 2, 3], stages, source="paper", why="the structural stage at the best-validation record; exact.")


def verify_transformer(ctx: VerifyContext) -> list[Claim]:
    from dynamics.parallel import map_processes

    q = ctx.quick
    # --quick: the main run is the same Fig. 1 run stopped at step 800 (both drop onsets, ~370
    # and ~580, and the structural stage 3 from ~740 are inside; a smaller batch would move the
    # stages away from the paper's steps); shorter n2000, init-0 and reversed runs
    main_steps = 800 if q else 1000
    keep = (200, 500, main_steps)
    jobs = [  # longest first: two workers finish together
        TfJob("main", main_steps, 3000, n=9000, keep=keep),
        TfJob("n2000", 500 if q else 700, 2000, n=2000, every=10),
        TfJob("init0", 200 if q else 600, 500, query_init=0.0),
        TfJob("reversed", 250 if q else 500, 500 if q else 1000, reverse=True),
        TfJob("n600", 300, 600, n=600, every=10),
    ]
    ctx.config["transformer_jobs"] = [j.__dict__ for j in jobs]
    with ctx.stage(f"minimal transformer: {len(jobs)} runs ({', '.join(j.name for j in jobs)})"):
        def report(i: int, job: TfJob, res: Any) -> None:
            rec = res[0]
            ctx.log(f"{job.name} done: {job.steps} steps in {rec.wall[-1]:.0f} s, final excess "
                    f"{rec.val_excess[-1]:.3f}")

        out = dict(zip([j.name for j in jobs], map_processes(_tf_run, jobs, progress=report), strict=True))
    recs = {k: v[0] for k, v in out.items()}
    arrays: dict[str, np.ndarray] = {}
    for k, r in recs.items():
        arrays |= r.arrays(f"{k}.")
    ctx.save_arrays("transformer_runs", arrays, {"jobs": [j.__dict__ for j in jobs]})
    claims: list[Claim] = []
    main = recs["main"]
    claims.append(claim_tf_stages(_stage_sequence(main), _kl_minima_order(main)))
    st = _stage_of(main)
    levels = []
    for stage in (1, 2):
        idx = np.nonzero((st == stage) & (main.steps >= 100))[0]  # after the first drop
        levels.append(float(main.val_excess[idx[idx.size // 2]]) if idx.size else float("nan"))
    claims.append(claim_tf_levels(levels))
    bounds = _boundaries(main)
    onsets = _onsets(main)
    sub = SimpleNamespace(steps=main.steps[::2], val_excess=main.val_excess[::2], span_mass=main.span_mass[::2])
    det = {"onsets": onsets, "paper": list(PAPER_BOUNDARIES), "structural_boundaries": bounds,
           "onsets_tangent_on_excess": _onsets(main, log=False), "onsets_records_every_40": _onsets(sub),
           "record_every": int(main.steps[1] - main.steps[0]),
           "tolerance_parts": {k: list(v) for k, v in BOUNDARY_SPREAD.items()}}
    claims += [claim_tf_boundary(k, onsets[k - 1], details=det) for k in (1, 2)]
    b1 = onsets[0] if math.isfinite(onsets[0]) else float(main.steps[-1])
    i_pre = int(np.searchsorted(main.steps, 0.8 * b1))
    sm = main.span_mass[i_pre]  # (H, K)
    spread = float(np.max(sm.max(axis=0) - sm.min(axis=0)))
    claims.append(claim_tf_competitive(spread, bool(np.all(sm.argmax(axis=1) == main.span_mass.shape[2] - 1))))
    idx2 = np.nonzero(st == 2)[0]
    mid2 = main.span_mass[idx2[idx2.size // 2]] if idx2.size else main.span_mass[-1]
    claims.append(claim_tf_cooperative(sorted(mid2.argmax(axis=1).tolist()),
                                       sorted(main.span_mass[-1].argmax(axis=1).tolist())))
    r0 = recs["init0"]
    sm0 = r0.span_mass[-1]
    claims.append(claim_tf_init0(float(r0.val_excess[-1]), float(np.max(sm0.max(axis=0) - sm0.min(axis=0))),
                                 levels[0]))
    rv = recs["reversed"]
    hit = np.nonzero(rv.span_mass.max(axis=(1, 2)) > 0.5)[0]
    first = int(np.unravel_index(np.argmax(rv.span_mass[hit[0]]), rv.span_mass.shape[1:])[1]) if hit.size else -1
    claims.append(claim_tf_reversed(first))
    es = []
    for key in ("n600", "n2000", "main"):
        r = recs[key]
        i = int(np.argmin(r.val_loss))
        es.append(int(_stage_of(r)[i]))
    claims.append(claim_tf_early_stopping(es, [600, 2000, 9000]))
    ctx.config["transformer"] = {"boundaries": onsets, "structural_boundaries": bounds, "plateau_excess": levels,
                                 "best_val_steps": {k: int(recs[k].steps[int(np.argmin(recs[k].val_loss))])
                                                    for k in ("n600", "n2000", "main")}}
    with ctx.stage("figures (transformer)"):
        _figures_tf(ctx, recs, out["main"][1], onsets, bounds)
    return claims


def _figures_tf(ctx: VerifyContext, recs: dict[str, Any], kept: dict[int, dict[str, np.ndarray]],
                onsets: list[float], bounds: list[float]) -> None:
    import matplotlib.pyplot as plt

    from derivations.yuksel2026.direct import MinimalTransformer
    from derivations.yuksel2026.teacher import Teacher

    main = recs["main"]
    H = main.span_mass.shape[1]
    span_names = ("oldest", "middle", "newest")

    def marks(a: Any) -> None:
        for b in onsets:
            if math.isfinite(b):
                a.axvline(b, color="k", ls="--", lw=0.9)
        for b in PAPER_BOUNDARIES:
            a.axvline(b, color="r", ls=":", lw=1.0)
        for b in bounds:
            if math.isfinite(b):
                a.axvline(b, color="gray", ls=":", lw=0.7)

    fig, ax = plt.subplots(1, 2, figsize=(14, 4.4))
    ax[0].plot(main.steps, main.val_excess, color="k", label="excess validation loss")
    for k in range(main.kl.shape[1]):
        ax[0].plot(main.steps, main.kl[:, k], lw=0.9, alpha=0.8, label=f"KL(A*_1:{k + 1} || model)")
    for lv in PAPER_EXCESS:
        ax[0].axhline(lv, color="r", ls="-.", lw=0.7)
    marks(ax[0])
    ax[0].set(xlabel="step", ylabel="nats", ylim=(0, 2.5),
              title="main run (Fig. 1 setting): loss and KL to the restricted teachers")
    ax[0].legend(fontsize=7)
    for h in range(H):
        for j, ls in enumerate(("-", "--", ":")):
            ax[1].plot(main.steps, main.span_mass[:, h, j], color=f"C{h}", ls=ls,
                       label=f"head {h + 1}, {span_names[j]} span")
    marks(ax[1])
    ax[1].set(xlabel="step", ylabel="attention mass", title="per-head attention mass per span", ylim=(0, 1))
    ax[1].legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ctx.save_figure(
        "transformer_stages", fig,
        caption="Main run, linear steps. Black dashed: our stage boundaries (loss-drop onsets); red dotted: "
                "the paper's 330 and 575; grey dotted: where a head's argmax flips (mid-drop, not a boundary); "
                "red dash-dot: the paper's plateau levels. Left: the excess loss sits on two plateaus and "
                "each KL(A*_1:k) is smallest on plateau k. Right: the three heads coincide until the first "
                "drop, then one head moves to the middle span at the first drop and one to the oldest at the "
                "second.",
        claims=("yuksel2026.tf-boundary-1", "yuksel2026.tf-boundary-2",
                "yuksel2026.tf-plateau-levels", "yuksel2026.tf-stages",
                "yuksel2026.tf-competitive", "yuksel2026.tf-cooperative"))

    fig, ax = plt.subplots(1, 2, figsize=(14, 4.2))
    for key, ls in (("main", "-"), ("init0", ":"), ("n600", "--"), ("n2000", "-.")):
        r = recs[key]
        line, = ax[0].semilogx(r.steps[1:], r.val_excess[1:], ls=ls, label=key)
        i = int(np.argmin(r.val_loss))
        if key != "init0":
            ax[0].plot(r.steps[i], r.val_excess[i], "o", color=line.get_color(), ms=5)
    ax[0].set(xlabel="step", ylabel="excess validation loss", ylim=(0, 4),
              title="query init 0 and small training sets (dots: best validation)")
    ax[0].legend(fontsize=8)
    rv = recs["reversed"]
    for h in range(H):
        for j, ls in enumerate(("-", "--", ":")):
            ax[1].plot(rv.steps, rv.span_mass[:, h, j], color=f"C{h}", ls=ls,
                       label=f"head {h + 1}, {span_names[j]} span")
    ax[1].set(xlabel="step", ylabel="attention mass", title="reversed importance (oldest span most important)")
    ax[1].legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ctx.save_figure(
        "transformer_variants", fig,
        caption="Left, log steps: with query init 0 the excess stays on plateau 1 (dotted); with n = 600 and "
                "2000 training sequences the best validation (dots) comes in stage 1 and stage 2, after which "
                "the runs overfit; the main run (n = 9000) is best in stage 3. Right: with reversed importance "
                "the heads first concentrate on the oldest span (solid lines).",
        claims=("yuksel2026.tf-init0", "yuksel2026.tf-early-stopping", "yuksel2026.tf-reversed"))

    if kept:
        teacher = Teacher(seed=0)
        model = MinimalTransformer.for_teacher(teacher, query_init=1e-9)
        tokens = teacher.sample(np.random.default_rng(3), 1)
        steps = sorted(kept)
        fig, ax = plt.subplots(len(steps), H, figsize=(3.2 * H, 3.0 * len(steps)), squeeze=False)
        for r_, step in enumerate(steps):
            A = model.attention_maps(kept[step], tokens[:, :-1])[0]  # (H, S, S)
            for h in range(H):
                ax[r_, h].imshow(A[h], cmap="viridis", vmin=0, vmax=1)
                ax[r_, h].set_title(f"step {step}, head {h + 1}", fontsize=9)
                ax[r_, h].set_xticks([])
                ax[r_, h].set_yticks([])
        fig.suptitle("attention maps at the three stages (rows: query position, columns: key position)")
        ctx.save_figure(
            "attention_maps", fig,
            caption=f"Attention of the three heads on one sequence at steps {', '.join(map(str, steps))} "
                    "(rows: query position, columns: key position). First row: all heads on the same band "
                    "along the diagonal (lags 0-1, the newest span; competitive). Middle row: one head has "
                    "moved to the band two lags further back (the middle span). Last row: a third head has "
                    "moved most of its mass to the band four lags back (the oldest span) and keeps part on "
                    "the diagonal, as the head recruited last in Eq. 4 stays split (cooperative).",
            claims=("yuksel2026.tf-competitive", "yuksel2026.tf-cooperative"))
