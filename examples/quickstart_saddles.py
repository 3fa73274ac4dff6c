r"""A diagonal linear network learns in stages: plateau heights and escape rates predicted
from its saddles, checked against the flow, against online SGD, and mapped over a phase
diagram. ``docs/quickstart.md`` (part II) walks through it.

On paper. Regress $y = \beta^*\cdot x$, $x \sim N(0, \Sigma)$, $\Sigma = [[1, \rho], [\rho, 1]]$,
$\beta^* = (1, \beta_2)$, with $\hat y = w\cdot x$, $w_i = u_i^2 - v_i^2$, from
$u = v = \alpha$. The population loss is $L = \tfrac12 (w - \beta^*)^\top \Sigma (w - \beta^*)$.
In units of the initial scale, $u = \alpha\tilde u$ (metric $\alpha^2$, the same flow), so
every start is $\tilde u = \tilde v = 1$ and $\alpha$ is a parameter one can sweep.
Small $\alpha$: $w_1$ is learnt first, then the flow rests at the saddle $w = (1 + \rho\beta_2, 0)$,
with loss $\tfrac12\beta_2^2(1-\rho^2)$, which it leaves at rate $2\beta_2(1-\rho^2)$.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from matplotlib.figure import Figure

from dynamics.analysis import compare, detect_stages, escape_time, fixed_points, linear_fit
from dynamics.claims import Claim, check, check_equal
from dynamics.integrate import integrate
from dynamics.model import ReducedModel
from dynamics.phase import sweep
from dynamics.phase.plot import plot_result
from dynamics.registry import Derivation
from dynamics.report import write_index
from dynamics.trajectory import Trajectory
from dynamics.verify import VerifyContext, run_verify

PARAMS = {"alpha": 1e-4, "rho": 0.3, "beta2": 0.05}
START = {"u1": 1.0, "v1": 1.0, "u2": 1.0, "v2": 1.0}  # u = v = alpha: w = 0


def build_model() -> ReducedModel:
    u1, v1, u2, v2 = sp.symbols("u1 v1 u2 v2", real=True)
    alpha, rho, beta2 = sp.symbols("alpha rho beta2", positive=True)
    w1, w2 = alpha**2 * (u1**2 - v1**2), alpha**2 * (u2**2 - v2**2)
    e1, e2 = w1 - 1, w2 - beta2
    loss = (e1**2 + 2 * rho * e1 * e2 + e2**2) / 2
    return ReducedModel.from_loss("saddles", [u1, v1, u2, v2], [alpha, rho, beta2], loss, metric=[alpha**2] * 4,
                                  observables={"w1": w1, "w2": w2}, defaults=PARAMS)


def sgd(seeds: int, lr: float, t_end: float, rng: np.random.Generator, rho: float, beta2: float,
        alpha: float) -> list[Trajectory]:
    """Online SGD, one fresh sample per step, all seeds at once; time t = lr * step."""
    chol, beta = np.linalg.cholesky([[1.0, rho], [rho, 1.0]]), np.array([1.0, beta2])
    steps = int(round(t_end / lr))
    record = np.unique(np.geomspace(1, steps, 150).astype(int).tolist() + [0])
    u, v, rows = np.full((seeds, 2), alpha), np.full((seeds, 2), alpha), list[np.ndarray]()
    for step in range(steps + 1):
        if step == record[len(rows)]:
            rows.append(np.stack([u[:, 0], v[:, 0], u[:, 1], v[:, 1]], axis=1) / alpha)
        x = rng.normal(size=(seeds, 2)) @ chol.T
        g = np.sum(x * (u * u - v * v - beta), axis=1, keepdims=True) * x  # (y_hat - y) x
        u, v = u - lr * 2 * u * g, v + lr * 2 * v * g
    y = np.array(rows)  # (T, seeds, 4)
    w = alpha**2 * (y[..., [0, 2]] ** 2 - y[..., [1, 3]] ** 2)
    e = w - beta
    loss = 0.5 * (e[..., 0] ** 2 + 2 * rho * e[..., 0] * e[..., 1] + e[..., 1] ** 2)
    return [Trajectory(lr * record, y[:, s], ("u1", "v1", "u2", "v2"),
                       {"loss": loss[:, s], "w1": w[:, s, 0], "w2": w[:, s, 1]}) for s in range(seeds)]


def flow_claims(tr: Trajectory, model: ReducedModel) -> tuple[list[Claim], Any]:
    b2 = PARAMS["beta2"]
    origin = fixed_points(model, guesses=[[0.0] * 4])[0]  # the first plateau
    saddle = fixed_points(model, guesses=[{"u1": 1 / PARAMS["alpha"], "v1": 0, "u2": 0, "v2": 0}],
                          subspace={"v1": 0, "u2": 0, "v2": 0})[0]  # w1 learnt, w2 not yet
    second = [s for s in detect_stages(tr.t, tr.loss) if s.kind == "plateau"][1]
    t_mid = math.sqrt(second.t_start * second.t_end)
    fit = linear_fit(tr.t, np.log(tr["u2"]), window=(second.t_start, second.t_end))
    height = check("saddles.plateau", "The second plateau sits at the loss of the saddle w = (1 + rho b2, 0), "
                   "b2^2 (1 - rho^2) / 2.", saddle.observables["loss"], tr.at(t_mid, "loss"), tol=0.01,
                   relative=True, source="derived", negative_controls={"rho = 0": b2**2 / 2,
                                                                        "first plateau": origin.observables["loss"]},
                   why="On the plateau the flow is off the saddle by the growing w2 (below 1e-3 of b2 at "
                   "its middle) and the settling w1: 0.1% in L. 1% is ten times that and excludes rho = 0 (10% off).")
    rate = check("saddles.escape-rate", "u2 leaves the saddle at its unstable eigenvalue 2 b2 (1 - rho^2).",
                 saddle.escape_rate, fit.slope, tol=0.02, relative=True, source="derived",
                 negative_controls={"rho = 0": 2 * b2, "escape from the origin": origin.escape_rate},
                 why="The fit spans the detected plateau, where w2 << b2 and w1 is settled: their "
                 "corrections to d ln u2/dt are below 0.5%; 2% excludes rho = 0 (10% off).")
    return [height, rate], (saddle, second)


def phase_diagram(ctx: VerifyContext) -> Claim:
    res = sweep(build_model(), "alpha=1e-5:1:7:log", "rho=0:0.6:4", classify="stage", t_max=1e3, y0=START,
                workers=1, progress=False, solver="integrate")  # small: skip compiling a batch kernel
    ctx.save_figure("phase", plot_result(res), claims=["saddles.stages"],
                    caption="Loss drops by t = 1000 over the initial scale alpha and the correlation rho.")
    grid = res.grid()  # (n_alpha, n_rho)
    return check_equal("saddles.stages", "Small alpha learns in two stages, alpha = 1 in one (rich vs lazy).",
                       [2, 1], [int(grid[0, 0]), int(grid[-1, 0])], source="derived",
                       negative_controls={"stages everywhere": [2, 2]}, why="Counts of drops are exact.")


def verify(ctx: VerifyContext) -> list[Claim]:
    model, claims = build_model(), ctx.claims  # claims are kept if a later stage raises
    with ctx.stage("flow and saddles"):
        tr = integrate(model, START, t_max=1e3, n_points=200 if ctx.quick else 400)
        found, (saddle, second) = flow_claims(tr, model)
        claims += found
    with ctx.stage("online SGD"):
        runs = sgd(8, 0.003, 60 if ctx.quick else 100, ctx.rng(1), **{k: PARAMS[k] for k in ("rho", "beta2", "alpha")})
        wrong = integrate(model, START, dict(PARAMS, rho=0.0), t_max=1e3, n_points=400)
        claims.append(compare(runs, tr, ["w1", "w2"], id="saddles.sgd", negative_controls={"rho = 0": wrong}))
        ctx.save_figure("loss", plot(tr, runs, saddle, second), claims=["saddles.plateau", "saddles.sgd"],
                        caption="Flow (black), 8 SGD runs (orange): the second plateau at the saddle's loss (red).")
    with ctx.stage("phase diagram"):
        claims.append(phase_diagram(ctx))
    return claims


def plot(tr: Trajectory, runs: list[Trajectory], saddle: Any, second: Any) -> Figure:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.loglog(tr.t[1:], tr.loss[1:], "k", lw=3, label="flow")
    for r in runs:
        ax.loglog(r.t[1:], r.loss[1:], color="tab:orange", lw=0.6, label="online SGD" if r is runs[0] else None)
    ax.axhline(saddle.observables["loss"], color="r", ls="--", label="loss at the saddle")
    ax.axvspan(second.t_start, second.t_end, color="r", alpha=0.1, label="detected plateau")
    ax.axvline(escape_time(tr.t, tr.loss, second), color="b", ls=":", label="escape (half the plateau)")
    ax.set(xlabel="flow time t", ylabel="population loss", ylim=(1e-6, 1), xlim=(1e-2, 1e3))
    ax.legend(loc="lower left")
    return fig


derivation = Derivation(name="saddles", title="Diagonal linear network: plateaus at saddles", model=build_model,
                        verify=verify)


def main(smoke: bool = False, out_dir: str | None = None) -> dict[str, Any]:
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="dynamics-saddles-"))
    summary = run_verify(derivation, out, quick=smoke, verbose=not smoke)
    report = write_index(out)
    print(f"{summary['counts']['pass']}/{len(summary['claims'])} claims pass; report: {report}")
    return {"summary": summary, "report": report, "figure": out / "saddles" / "loss.png"}


if __name__ == "__main__":
    main()
