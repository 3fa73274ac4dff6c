r"""Online SGD in a soft committee machine: plateau and asymptotic error (Saad & Solla 1995).

Saad & Solla, *On-line learning in soft committee machines*, Phys. Rev. E 52, 4225 (1995);
Biehl & Schwarze, *Learning by on-line gradient descent*, J. Phys. A 28, 643 (1995). A
student $\sigma(\xi) = \sum_{i=1}^K g(J_i\cdot\xi/\sqrt N)$ learns a teacher
$\tau(\xi) = \sum_{n=1}^M g(B_n\cdot\xi/\sqrt N)$, $g(x) = \operatorname{erf}(x/\sqrt2)$, from
one fresh Gaussian input per step with noisy labels $\tau + \zeta$,
$\zeta \sim \mathcal N(0, \sigma^2)$, by SGD on $\tfrac12(\sigma - \tau - \zeta)^2$ with rate
$\eta$. For $N \to \infty$ the order parameters $Q_{ik} = J_i\cdot J_k/N$,
$R_{in} = J_i\cdot B_n/N$ follow deterministic ODEs in $\alpha = \mathrm{step}/N$, built here by
:func:`dynamics.gaussian.teacher_student` from the closed-form Gaussian integrals $I_2$,
$I_3$, $I_4$, $J_2$. With $K = M = 2$ and $T = B B^\top/N = I$ (7 coordinates: ``Q11, Q12,
Q22, R11, R12, R21, R22``):

* a **plateau**: from a small random start, $\epsilon_g$ settles near the symmetric fixed
  point ($Q_{11} = Q_{22} = Q_{12}$, all $R_{in}$ equal), a saddle, where the student has
  not yet specialised; its height is the fixed point's $\epsilon_g$;
* an **escape** from it, along the saddle's unstable direction, after a time set by the
  initial asymmetry of the $R_{in}$;
* an **asymptotic error** $\epsilon_\infty > 0$ at finite $\eta$ with label noise: the stable
  specialised fixed point of the same ODEs (the $\eta^2\sigma^2 J_2$ term).

Each is checked against direct online SGD in numpy at finite $N$, several seeds at once,
trained by :func:`dynamics.direct.train` with a sampler. The paper was not read for this
derivation (no spec): the equations are the standard ones, derived here and checked against
Monte Carlo (``tests/unit/test_gaussian.py``); every number below is ours (``RECONSTRUCTED``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erf

from dynamics.analysis import FixedPoint, detect_stages, first_crossing, fixed_points
from dynamics.claims import Claim, check
from dynamics.direct import train
from dynamics.gaussian import teacher_student
from dynamics.integrate import integrate
from dynamics.model import ReducedModel
from dynamics.registry import Derivation
from dynamics.trajectory import Trajectory
from dynamics.validate import int_at_least, positive_float, positive_int
from dynamics.verify import VerifyContext

__all__ = ["RECONSTRUCTED", "Settings", "reduced_model", "plateau_point", "asymptotic_point", "collapsed_point",
           "escape_coordinate", "claim_escape_rate",
           "SoftCommittee", "run_sgd", "flow_from", "claim_plateau", "claim_escape", "claim_asymptote",
           "verify", "derivation"]

COORDS = ("Q11", "Q12", "Q22", "R11", "R12", "R21", "R22")

RECONSTRUCTED = (
    "the paper was not read (no spec): the ODEs are derived from the network's definition by "
    "dynamics.gaussian and checked against Monte Carlo, not copied from the paper",
    "the setting (K = M = 2, T = I, eta = 0.5, label-noise variance 0.1, Q_ii(0) = 0.25 from "
    "Gaussian weights) and the finite-N run (N = 500, seeds, alpha_max = 300) are our choices",
    "the plateau window (the plateau stage that detect_stages finds on the seeds' mean flow), the "
    "escape level (halfway between plateau and asymptote) and the asymptotic window (the last 60 "
    "units of alpha) are our definitions",
)


@dataclass(frozen=True)
class Settings:
    """Knobs of ``dynamics verify teacher_student`` (``--set NAME=VALUE``).

    ``N``: input dimension of the SGD run (``--quick`` halves it); ``seeds``: independent
    runs trained at once, at least 2 (``--quick`` uses 2); ``eta``: learning rate; ``sigma2``: label-noise
    variance; ``q0``: initial $Q_{ii}$ (weights $\\mathcal N(0, q_0)$); ``alpha_max``: length
    in $\\alpha = \\mathrm{step}/N$; ``asymptote_window``: the last so many units of $\\alpha$
    averaged for $\\epsilon_\\infty$; ``plateau_threshold``: the ``threshold`` of
    :func:`~dynamics.analysis.detect_stages` that finds the plateau on the flow.
    """

    N: int = 500
    seeds: int = 4
    eta: float = 0.5
    sigma2: float = 0.1
    q0: float = 0.25
    alpha_max: float = 360.0
    asymptote_window: float = 60.0
    plateau_threshold: float = 0.1

    def __post_init__(self) -> None:
        positive_int("N", self.N)
        # the plateau and escape tolerances are the spread over seeds: one seed has none
        int_at_least("seeds", self.seeds, 2)
        for k in ("eta", "q0", "alpha_max", "asymptote_window", "plateau_threshold"):
            positive_float(k, getattr(self, k))
        if self.sigma2 < 0:
            raise ValueError(f"sigma2 must be >= 0, got {self.sigma2}")
        if self.asymptote_window >= self.alpha_max:
            raise ValueError("asymptote_window must be shorter than alpha_max")


# ------------------------------------------------------------------------ reduced model
def reduced_model(eta: float = Settings.eta, sigma2: float = Settings.sigma2,
                  lr_scaling: str = "online") -> ReducedModel:
    r"""The 7-coordinate ODEs of $K = M = 2$ erf online SGD with label noise, in time $\alpha$.

    Parameters ``eta``, ``T11, T12, T22`` (teacher overlaps, default $I$), ``w1, w2``
    (teacher second layer, 1) and ``sigma2``; the loss observable is $\epsilon_g$.
    ``lr_scaling="small"`` gives the small-rate limit without the $\eta^2$ term (where the
    label noise has no effect), the alternative the negative controls use.
    """
    name = "teacher_student" if lr_scaling == "online" else f"teacher_student-{lr_scaling}"
    return teacher_student(2, 2, "erf", lr_scaling=lr_scaling, label_noise=True, name=name,
                           defaults={"eta": eta, "sigma2": sigma2})


# ------------------------------------------------------------------------- closed forms
#: the unspecialised subspace: both student units alike ($Q_{11} = Q_{22}$), every $R_{in}$ equal
_SYMMETRIC = ["Q11 - Q22", "R11 - R12", "R11 - R21", "R11 - R22"]


def plateau_point(cm: Any, s: Settings) -> FixedPoint:
    r"""The symmetric saddle (unspecialised student, $Q_{12} \ne Q_{11}$) with one unstable
    direction: the plateau's height is its $\epsilon_g$ and its eigenvalue the escape rate.

    The subspace has a second fixed point with $Q_{12} = Q_{11}$ and three unstable
    directions, which a trajectory from a small random start does not approach.
    """
    guess = {"Q11": 0.5, "Q12": 0.3, "Q22": 0.5, "R11": 0.44, "R12": 0.44, "R21": 0.44, "R22": 0.44}
    pts = fixed_points(cm, {"eta": s.eta, "sigma2": s.sigma2}, guesses=[guess], subspace=_SYMMETRIC,
                       backend="numpy")
    if len(pts) != 1 or pts[0].kind != "saddle" or pts[0].unstable_dim != 1:
        raise RuntimeError(f"expected the symmetric saddle with one unstable direction, found "
                           f"{[(p.kind, p.unstable_dim) for p in pts]}")
    return pts[0]


def collapsed_point(cm: Any, s: Settings) -> FixedPoint:
    r"""The other fixed point of the unspecialised subspace, with $Q_{12} = Q_{11}$ (both
    student vectors equal): a wrong plateau prediction, for the negative control."""
    guess = {"Q11": 0.35, "Q12": 0.35, "Q22": 0.35, "R11": 0.4, "R12": 0.4, "R21": 0.4, "R22": 0.4}
    pts = fixed_points(cm, {"eta": s.eta, "sigma2": s.sigma2}, guesses=[guess],
                       subspace=_SYMMETRIC + ["Q11 - Q12"], backend="numpy")
    if len(pts) != 1:
        raise RuntimeError(f"expected one collapsed fixed point, found {len(pts)}")
    return pts[0]


def asymptotic_point(cm: Any, s: Settings) -> FixedPoint:
    r"""The stable specialised fixed point ($R \approx I$): its $\epsilon_g = \epsilon_\infty$."""
    guess = {"Q11": 1.0, "Q12": 0.0, "Q22": 1.0, "R11": 1.0, "R12": 0.0, "R21": 0.0, "R22": 1.0}
    pts = fixed_points(cm, {"eta": s.eta, "sigma2": s.sigma2}, guesses=[guess], backend="numpy")
    if len(pts) != 1 or pts[0].kind != "stable":
        raise RuntimeError(f"expected one stable specialised point, found {[p.kind for p in pts]}")
    return pts[0]


# ------------------------------------------------------------------ direct model and data
def _g(x: np.ndarray) -> np.ndarray:
    return erf(x / math.sqrt(2.0))


def _dg(x: np.ndarray) -> np.ndarray:
    return math.sqrt(2.0 / math.pi) * np.exp(-0.5 * x * x)


@dataclass
class SoftCommittee:
    r"""``seeds`` independent students $J$ of shape (seeds, K, N) against one teacher $B$
    (M, N) with $BB^\top/N = I$, trained at once: the loss is the sum of the seeds' losses,
    so each seed's gradient is its own. ``reduce`` gives each seed's $Q, R$ as
    ``Q11_s``, ..., ``R22_s``."""

    B: np.ndarray  # (M, N)
    K: int
    seeds: int
    q0: float
    sigma2: float
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def N(self) -> int:
        return int(self.B.shape[1])

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"J": math.sqrt(self.q0) * rng.standard_normal((self.seeds, self.K, self.N))}

    def sampler(self, rng: np.random.Generator, step: int) -> dict[str, np.ndarray]:
        """One fresh input per seed and its label noise."""
        return {"xi": rng.standard_normal((self.seeds, self.N)),
                "noise": math.sqrt(self.sigma2) * rng.standard_normal(self.seeds)}

    def loss_and_grad(self, params: dict[str, np.ndarray], batch: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        J, xi = params["J"], batch["xi"]
        rn = math.sqrt(self.N)
        x = np.einsum("skn,sn->sk", J, xi) / rn  # (S, K) student fields
        y = xi @ self.B.T / rn  # (S, M) teacher fields
        e = _g(y).sum(axis=1) + batch["noise"] - _g(x).sum(axis=1)  # (S,) label - output
        d = _dg(x) * e[:, None]  # (S, K)
        return 0.5 * float(e @ e), {"J": -d[:, :, None] * xi[:, None, :] / rn}

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]:
        J = params["J"]
        Q = np.einsum("skn,sln->skl", J, J) / self.N  # (S, K, K)
        R = np.einsum("skn,mn->skm", J, self.B) / self.N  # (S, K, M)
        out: dict[str, float] = {}
        for s in range(self.seeds):
            out |= {f"Q{i + 1}{k + 1}_{s}": float(Q[s, i, k]) for i in range(self.K) for k in range(i, self.K)}
            out |= {f"R{i + 1}{n + 1}_{s}": float(R[s, i, n]) for i in range(self.K) for n in range(self.B.shape[0])}
        return out


def run_sgd(s: Settings, seeds: int, rng: np.random.Generator, n_record: int = 160) -> Trajectory:
    r"""Online SGD of ``seeds`` students for ``alpha_max * N`` steps; the returned trajectory
    has time $\alpha = \mathrm{step}/N$ and each seed's order parameters, recorded at
    ``n_record`` evenly spaced steps plus 40 log-spaced ones (the fast initial fall)."""
    Bq, _ = np.linalg.qr(rng.standard_normal((s.N, 2)))  # (N, M) orthonormal columns
    dm = SoftCommittee(math.sqrt(s.N) * Bq.T, 2, seeds, s.q0, s.sigma2)
    steps = int(round(s.alpha_max * s.N))
    rec = np.unique(np.r_[np.geomspace(1, steps, 40).astype(np.int64),
                          np.linspace(0, steps, n_record + 1).astype(np.int64)])
    n = s.N
    tr, _ = train(dm, None, lr=s.eta, steps=steps, optimizer="sgd", sampler=dm.sampler, rng=rng, record=rec,
                  time=lambda k: k / n)  # online time alpha = step / N
    return tr


def seed_states(tr: Trajectory, seed: int) -> np.ndarray:
    """Seed ``seed``'s order parameters along ``tr``, shape (T, 7) in :data:`COORDS` order."""
    return np.column_stack([tr[f"{c}_{seed}"] for c in COORDS])


def flow_from(cm: Any, y0: np.ndarray, alpha: np.ndarray, s: Settings) -> Trajectory:
    """The ODEs integrated from ``y0`` on the times ``alpha``."""
    return integrate(cm, dict(zip(COORDS, y0, strict=True)), params={"eta": s.eta, "sigma2": s.sigma2},
                     t_eval=alpha, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------- claims
def plateau_window(alpha: np.ndarray, eg_flow: np.ndarray, eg_star: float, threshold: float) -> tuple[float, float]:
    """The plateau stage of the seeds' mean flow whose level is closest to the saddle's error,
    found by :func:`~dynamics.analysis.detect_stages`."""
    stages = [st for st in detect_stages(alpha, eg_flow.mean(axis=0), threshold=threshold) if st.kind == "plateau"]
    if not stages:
        raise RuntimeError("the flow shows no plateau stage")
    best = min(stages, key=lambda st: abs(0.5 * (st.loss_start + st.loss_end) - eg_star))
    return best.t_start, best.t_end


def claim_plateau(alpha: np.ndarray, eg_sgd: np.ndarray, eg_flow: np.ndarray, eg_star: float,
                  window: tuple[float, float], controls: Mapping[str, float] | None = None) -> Claim:
    r"""The SGD error on the plateau against the saddle's $\epsilon_g$.

    ``eg_sgd``, ``eg_flow``: (seeds, T), the SGD error and the flow's from each seed's start;
    ``window``: the plateau's range of $\alpha$ (:func:`plateau_window`); ``controls``: wrong
    predictions that the same measurement must refute.
    """
    near = (alpha >= window[0]) & (alpha <= window[1])
    if near.sum() < 3:
        raise RuntimeError(f"fewer than 3 records in the plateau window {window}")
    per_seed = eg_sgd[:, near].mean(axis=1)  # (S,)
    if per_seed.size < 2:
        raise ValueError("the plateau claim needs at least 2 seeds (its tolerance is their spread)")
    se = float(per_seed.std(ddof=1) / math.sqrt(per_seed.size))
    mean_flow = eg_flow[:, near].mean(axis=0)
    flow_spread = float(mean_flow.max() - mean_flow.min())
    return check(
        "teacher_student.plateau", "On the plateau, the SGD generalisation error (mean over seeds "
        "and the window) equals the error at the symmetric saddle of the ODEs.", eg_star,
        float(per_seed.mean()), tol=3 * se + flow_spread, source="reconstruction",
        why="3 standard errors of the seed mean (the run's own finite-N fluctuations, about "
            "1/sqrt(N) per seed) plus the range of the seeds' mean flow over the window: a start "
            "with R asymmetries of order 1/sqrt(N) drifts along the plateau by that much, so the "
            "plateau's level is defined no better (measured on the flow, not on the prediction).",
        details={"window": [float(alpha[near][0]), float(alpha[near][-1])], "per_seed": per_seed.tolist(),
                 "seed_se": se, "flow_spread": flow_spread}, negative_controls=controls)


def escape_times(alpha: np.ndarray, eg: np.ndarray, level: float, after: float) -> np.ndarray:
    """Per row of ``eg`` (seeds, T): the first downward crossing of ``level`` after ``after``."""
    m = alpha >= after
    return np.array([first_crossing(alpha[m], e[m], level, "down") for e in eg])


def claim_escape(alpha: np.ndarray, eg_sgd: np.ndarray, eg_flow: np.ndarray, level: float,
                 after: float, controls: Mapping[str, float] | None = None) -> Claim:
    r"""The SGD's escape time from the plateau against the flow's from the same start.

    Escape: the first crossing of ``level`` (between plateau and asymptote) after ``after``.
    """
    t_sgd = escape_times(alpha, eg_sgd, level, after)
    t_flow = escape_times(alpha, eg_flow, level, after)
    diff = t_sgd - t_flow
    se = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else float(abs(diff[0]))
    return check(
        "teacher_student.escape", "The SGD escapes the plateau (its error falls through the level "
        "halfway to the asymptote) when the ODEs started from its own initial order parameters "
        "do (mean over seeds).", float(t_flow.mean()), float(t_sgd.mean()), tol=3 * se,
        source="reconstruction",
        why="the escape time is set by the asymmetry of the R's, and SGD noise adds an asymmetry "
            "of the same order 1/sqrt(N) as the initial one, so each seed's escape moves by O(1/lambda) "
            "at any N: 3 standard errors of the seeds' SGD-minus-flow differences.",
        details={"level": level, "sgd": t_sgd.tolist(), "flow": t_flow.tolist(), "diff_se": se},
        negative_controls=controls)


def escape_coordinate(states: np.ndarray, saddle: FixedPoint, cm: Any, params: np.ndarray) -> np.ndarray:
    r"""The distance from the saddle along its unstable direction: the projection of
    ``states - saddle`` (T, 7) on the left eigenvector of the leading eigenvalue, which grows
    like $e^{\lambda\alpha}$ while the linearisation holds."""
    J = np.empty((7, 7))
    cm.jac(0.0, saddle.state, params, cm.data, cm.bounds, J)
    w, vl = np.linalg.eig(J.T)
    left = np.real(vl[:, int(np.argmax(np.real(w)))])
    return (states - saddle.state) @ left


def claim_escape_rate(alpha: np.ndarray, proj_sgd: np.ndarray, proj_flow: np.ndarray, rate: float,
                      after: float, band: tuple[float, float] = (0.03, 0.3),
                      controls: Mapping[str, float] | None = None) -> Claim:
    r"""The SGD's growth rate along the saddle's unstable direction against its eigenvalue.

    ``proj_sgd``, ``proj_flow``: (seeds, T) :func:`escape_coordinate` of the SGD and of the
    flow from its start. Each seed's rate is the slope of $\ln|p|$ on $\alpha$ where, after
    ``after``, the flow's $|p|$ lies in ``band``: out of the initial transient, below the
    nonlinear regime.
    """
    from dynamics.analysis import linear_fit

    rates, flow_rates = [], []
    for ps, pf in zip(proj_sgd, proj_flow, strict=True):
        m = (alpha >= after) & (np.abs(pf) >= band[0]) & (np.abs(pf) <= band[1])
        if m.sum() < 5:
            raise RuntimeError(f"fewer than 5 records with the flow's |p| in {band} after alpha = {after:g}")
        rates.append(linear_fit(alpha[m], np.log(np.abs(ps[m]))).slope)
        flow_rates.append(linear_fit(alpha[m], np.log(np.abs(pf[m]))).slope)
    r = np.array(rates)
    se = float(r.std(ddof=1) / math.sqrt(r.size)) if r.size > 1 else float(abs(r[0]))
    return check(
        "teacher_student.escape-rate", "Leaving the plateau, the SGD's distance from the saddle "
        "along its unstable direction grows at the saddle's leading eigenvalue (mean of the "
        "seeds' fitted rates).", rate, float(r.mean()), tol=3 * se, source="reconstruction",
        why="3 standard errors of the seeds' mean rate: SGD noise of order 1/sqrt(N) on a "
            "distance of 0.03-0.3 moves each seed's fitted slope by several percent. The "
            "window stops at |p| = 0.3, where the flow's own slope is within 2% of the "
            "eigenvalue (the nonlinearity), far inside that.",
        details={"per_seed": r.tolist(), "se": se, "band": list(band), "flow_rates": flow_rates},
        negative_controls=controls)


def claim_asymptote(alpha: np.ndarray, eg_sgd: np.ndarray, eg_flow: np.ndarray, eg_inf: float,
                    window: float, relax_rate: float, controls: Mapping[str, float] | None = None) -> Claim:
    r"""The SGD's late error against the stable fixed point's $\epsilon_\infty$.

    ``relax_rate``: the slowest decay rate at the fixed point (the smallest $|\mathrm{Re}\,\lambda|$),
    which sets how many independent values one seed's window holds.
    """
    late = alpha >= alpha[-1] - window
    per_seed = eg_sgd[:, late].mean(axis=1)
    # two estimates of the seed mean's standard error, the larger taken: the spread over seeds,
    # and each seed's fluctuation over the window divided by its number of independent values
    # (window * relax_rate, the window over the correlation time 1/relax_rate, at least 1)
    n_eff = max(1.0, window * relax_rate)
    se_time = float(np.sqrt(np.mean(eg_sgd[:, late].var(axis=1, ddof=1)) / n_eff / per_seed.size))
    se_seeds = float(per_seed.std(ddof=1) / math.sqrt(per_seed.size)) if per_seed.size > 1 else 0.0
    se = max(se_time, se_seeds)
    mean_flow = eg_flow[:, late].mean(axis=0)
    flow_spread = float(mean_flow.max() - mean_flow.min())
    return check(
        "teacher_student.asymptote", "The SGD's asymptotic generalisation error (mean over seeds "
        "and the last window) equals the error at the stable specialised fixed point.", eg_inf,
        float(per_seed.mean()), tol=3 * se + flow_spread, source="reconstruction",
        why="3 standard errors of the seed mean (finite-N fluctuations around the fixed point: the "
            "larger of the spread over seeds and each seed's fluctuation over the window divided "
            "by the window's number of correlation times 1/|slowest rate|) plus the range of the "
            "seeds' mean flow over the window (how far from converged it still is).",
        details={"window": [float(alpha[late][0]), float(alpha[-1])], "per_seed": per_seed.tolist(),
                 "se_seeds": se_seeds, "se_time": se_time, "n_eff": n_eff, "flow_spread": flow_spread},
        negative_controls=controls)


# ------------------------------------------------------------------------------- verify
def verify(ctx: VerifyContext) -> list[Claim]:
    """Fixed points of the ODEs, online SGD at finite N, and the three comparisons."""
    import matplotlib.pyplot as plt

    s: Settings = ctx.settings if isinstance(ctx.settings, Settings) else Settings()
    if ctx.quick:
        s = dataclasses.replace(s, N=max(s.N // 2, 50), seeds=min(s.seeds, 2))
    seeds = s.seeds
    ctx.config.update({"settings": dataclasses.asdict(s), "backend": "numpy"})
    with ctx.stage("derive the ODEs and their fixed points"):
        # sympy.lambdify (the "numpy" backend): generating and compiling this model for numba
        # takes about 8 s of CPU, more than the whole integration needs
        cm = reduced_model(s.eta, s.sigma2).compile("numpy")
        sad, fin = plateau_point(cm, s), asymptotic_point(cm, s)
        eg_star, eg_inf = sad.observables["loss"], fin.observables["loss"]
        # the alternatives of the negative controls: the collapsed fixed point, and the
        # small-rate limit without the eta^2 term (no effect of the label noise)
        eg_collapsed = collapsed_point(cm, s).observables["loss"]
        eg_small = plateau_point(reduced_model(s.eta, s.sigma2, "small").compile("numpy"), s).observables["loss"]
        ctx.config.update({"plateau_point": sad.coords, "eg_plateau": eg_star, "escape_rate": sad.escape_rate,
                           "asymptotic_point": fin.coords, "eg_asymptote": eg_inf})
    with ctx.stage(f"online SGD, N = {s.N}, {seeds} seeds at once"):
        tr = run_sgd(s, seeds, ctx.rng(0))
        ctx.save_trajectory("sgd", tr)
    with ctx.stage("the ODEs from each seed's start"):
        p = cm.pack({"eta": s.eta, "sigma2": s.sigma2})
        eg_sgd = np.array([cm.observables(seed_states(tr, k), p)["loss"] for k in range(seeds)])
        flows = [flow_from(cm, seed_states(tr, k)[0], tr.t, s) for k in range(seeds)]
        eg_flow = np.array([f.loss for f in flows])
        ctx.save_trajectory("flow_seed0", flows[0])
    level = 0.5 * (eg_star + eg_inf)
    window = plateau_window(tr.t, eg_flow, eg_star, s.plateau_threshold)
    ctx.config["plateau_window"] = list(window)
    with ctx.stage("the claims, and their negative controls"):
        # the same ODEs at half the learning rate, escape measured at their own halfway level
        half = dataclasses.replace(s, eta=s.eta / 2)
        slow = np.array([flow_from(cm, seed_states(tr, k)[0], tr.t, half).loss for k in range(seeds)])
        level_slow = 0.5 * (plateau_point(cm, half).observables["loss"] + asymptotic_point(cm, half).observables["loss"])
        t_slow = float(np.mean(escape_times(tr.t, slow, level_slow, window[0])))
        claims = ctx.claims  # kept, with the error, if a later stage raises
        claims.append(claim_plateau(tr.t, eg_sgd, eg_flow, eg_star, window, controls={
            "the collapsed fixed point (Q12 = Q11)": eg_collapsed,
            "the small-rate limit's saddle (no eta^2 term, so no label-noise effect)": eg_small}))
        controls = {"no plateau: the escape where the plateau stage starts": window[0]}
        # (if the slow flows have not escaped by alpha_max, alpha_max is the earliest they could)
        controls["the ODEs at half the learning rate, from the same starts"] = t_slow if math.isfinite(t_slow) \
            else float(tr.t[-1])
        claims.append(claim_escape(tr.t, eg_sgd, eg_flow, level, window[0], controls=controls))
        pe = cm.pack({"eta": s.eta, "sigma2": s.sigma2})
        p_sgd = np.array([escape_coordinate(seed_states(tr, k), sad, cm, pe) for k in range(seeds)])
        p_flow = np.array([escape_coordinate(np.column_stack([f[c] for c in COORDS]), sad, cm, pe) for f in flows])
        claims.append(claim_escape_rate(tr.t, p_sgd, p_flow, sad.escape_rate, window[0], controls={
            "the collapsed fixed point's leading eigenvalue": collapsed_point(cm, s).escape_rate,
            "the saddle's eigenvalue at half the learning rate": plateau_point(cm, half).escape_rate}))
        relax = float(np.min(np.abs(np.real(fin.eigenvalues))))
        claims.append(claim_asymptote(tr.t, eg_sgd, eg_flow, eg_inf, s.asymptote_window, relax, controls={
            "the small-rate limit (no eta^2 term): zero error": 0.0, "the plateau's error": eg_star}))
    with ctx.stage("figure"):
        fig, ax = plt.subplots(1, 2, figsize=(13, 4.5))
        for k in range(seeds):
            col = f"C{k}"
            ax[0].plot(tr.t, eg_sgd[k], color=col, lw=1.2, label=f"SGD seed {k}")
            ax[0].plot(tr.t, eg_flow[k], "--", color=col, lw=1.2, label="ODEs from its start" if k == 0 else None)
        ax[0].axhline(eg_star, color="k", ls=":", lw=1, label=f"saddle eps = {eg_star:.4f}")
        ax[0].axhline(eg_inf, color="gray", ls="-.", lw=1, label=f"stable point eps = {eg_inf:.4f}")
        ax[0].axvspan(*window, color="0.9", zorder=0, label="plateau window")
        ax[0].axhline(level, color="0.6", ls="--", lw=0.8, label="escape level")
        ax[0].set(yscale="log", xlabel="alpha = step / N", ylabel="generalisation error",
                  title=f"online SGD (N = {s.N}, eta = {s.eta:g}, sigma^2 = {s.sigma2:g}) vs ODEs")
        ax[0].legend(fontsize=7)
        for k in range(seeds):
            ys = seed_states(tr, k)
            ax[1].plot(tr.t, ys[:, 3], color=f"C{k}", lw=1, label=f"R11 seed {k}")
            ax[1].plot(tr.t, ys[:, 4], color=f"C{k}", lw=1, ls=":")
        ax[1].plot(flows[0].t, flows[0]["R11"], "k--", lw=1, label="ODEs, seed 0: R11, R12")
        ax[1].plot(flows[0].t, flows[0]["R12"], "k--", lw=1)
        ax[1].set(xlabel="alpha = step / N", ylabel="R_1n", title="specialisation: R11 (solid) and R12 (dotted)")
        ax[1].legend(fontsize=7)
        ctx.save_figure(
            "plateau", fig,
            caption="Left: each seed's SGD error (solid) follows the ODEs from its own start (dashed): "
                    "a plateau at the saddle's error (dotted) over the grey window, an escape through "
                    "the level halfway down, then the stable point's error (dash-dot). Right: the "
                    "student's first unit specialises to one teacher unit.",
            claims=("teacher_student.plateau", "teacher_student.escape", "teacher_student.escape-rate",
                    "teacher_student.asymptote"))
    return claims


derivation = Derivation(
    name="teacher_student",
    title="Online SGD in a soft committee machine, K = M = 2: plateau, escape, asymptotic error "
          "(Saad & Solla 1995)",
    model=reduced_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Settings,
)
