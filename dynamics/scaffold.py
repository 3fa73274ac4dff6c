r"""``dynamics new NAME``: a new derivation in the project's one shape, green from the start.

The folder it writes is a Python package with the same file names for the same roles as
every ``derivations/<paper>/`` (``docs/api.md``, "A paper package"): ``reduced.py``,
``closed_forms.py``, ``data.py``, ``direct.py``, ``claims.py``, ``findings.py`` and
``verify.py`` (``Settings``, ``RECONSTRUCTED``, ``verify``, ``derivation``), plus a test
file. The example model inside is small and exactly solvable, so that ``dynamics verify
NAME/`` passes at once and every later change is made to a working whole: a two-layer
scalar linear network (one mode of Saxe et al. 2014) with a claim on the integrated flow,
one on direct gradient descent, a negative control in each, a figure and tests.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["package_name", "write_project"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

_INIT = '''\
"""__NAME__: a derivation checked by ``dynamics verify __PKG__/`` (see verify.py)."""
'''

_REDUCED = '''\
r"""Symbols and reduced model of __NAME__.

The example: a two-layer scalar linear network $\\hat y = b\\,a\\,x$ learns a teacher
$y = s\\,x$ from inputs with $\\mathbb{E}\\,x^2 = 1$ by gradient flow on the population loss

.. math:: L(a, b) = \\tfrac12\\,\\mathbb{E}\\,(y - b a x)^2 = \\tfrac12\\,(s - ab)^2 .

Replace it with your model: one sympy symbol per coordinate and parameter, in the paper's
notation and with the equation it comes from, then the loss (or the vector field).
"""

from __future__ import annotations

import sympy as sp
from dynamics.model import ReducedModel

a, b = sp.symbols("a b", real=True)  # first- and second-layer weight
s = sp.Symbol("s", positive=True)  # teacher strength

DEFAULT_S = 2.0


def reduced_model(s_value: float = DEFAULT_S) -> ReducedModel:
    r"""$L = \\tfrac12 (s - ab)^2$; observable $u = ab$ (the network's end-to-end weight)."""
    return ReducedModel.from_loss(
        "__NAME__", [a, b], [s], (s - a * b) ** 2 / 2, observables={"u": a * b},
        defaults={"s": float(s_value)}, title="__NAME__: two-layer scalar linear network",
    )
'''

_CLOSED = '''\
r"""The theory's numbers for __NAME__.

From a balanced start $a = b = \\sqrt{u_0}$ the flow keeps $a = b$ and $u = ab$ obeys
$\\dot u = 2u(s - u)$, the logistic equation:

.. math:: u(t) = \\frac{s}{1 + (s/u_0 - 1)\\,e^{-2st}}, \\qquad
          t_{1/2} = \\frac{\\ln(s/u_0 - 1)}{2s}
          \\quad (u(t_{1/2}) = s/2).
"""

from __future__ import annotations

import math

import numpy as np


def u_closed(t: np.ndarray, s: float, u0: float) -> np.ndarray:
    """$u(t)$ from a balanced start $u_0$."""
    return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * np.asarray(t, dtype=float)))


def half_time(s: float, u0: float) -> float:
    """The time at which $u = s/2$."""
    return math.log(s / u0 - 1.0) / (2.0 * s)
'''

_DATA = '''\
"""Data of __NAME__: inputs whitened exactly, so the empirical loss is the population loss."""

from __future__ import annotations

import numpy as np


def make_data(rng: np.random.Generator, s: float, n: int) -> dict[str, np.ndarray]:
    """``n`` inputs ``x`` with mean(x^2) = 1 exactly and the teacher's labels ``y = s x``."""
    x = rng.standard_normal(n)  # (n,)
    x /= np.sqrt(np.mean(x**2))
    return {"x": x, "y": s * x}  # (n,), (n,)
'''

_DIRECT = '''\
"""The numpy model of __NAME__, trained directly by :func:`dynamics.direct.train`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ScalarNetwork:
    r"""$\\hat y = b\\,a\\,x$ with the half mean squared error; ``reduce`` gives ``a``, ``b``."""

    u0: float = 1e-3
    groups: dict[str, str] = field(default_factory=dict)

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The balanced start $a = b = \\\\sqrt{u_0}$ (no randomness needed)."""
        r = np.sqrt(self.u0)
        return {"a": np.array(r), "b": np.array(r)}

    def loss_and_grad(self, params: dict[str, np.ndarray], batch: dict[str, np.ndarray]
                      ) -> tuple[float, dict[str, np.ndarray]]:
        a, b = params["a"], params["b"]
        x, y = batch["x"], batch["y"]  # (n,), (n,)
        r = b * a * x - y  # (n,)
        loss = 0.5 * float(np.mean(r**2))
        return loss, {"a": np.array(np.mean(r * b * x)), "b": np.array(np.mean(r * a * x))}

    def reduce(self, params: dict[str, np.ndarray]) -> dict[str, float]:
        return {"a": float(params["a"]), "b": float(params["b"])}
'''

_CLAIMS = '''\
"""The claims of __NAME__: one function per claim, each with a negative control."""

from __future__ import annotations

from dynamics.claims import Claim, check


def claim_half_time_flow(predicted: float, measured: float) -> Claim:
    """The integrated flow reaches u = s/2 at the closed-form half-time."""
    return check(
        "__NAME__.half-time.flow", "The integrated flow reaches u = s/2 at t = ln(s/u0 - 1)/(2s).",
        predicted, measured, tol=1e-7, relative=True, source="derived",
        why="the crossing is located by root finding on the dense output of an integration at "
            "rtol 1e-10; its error is a small multiple of that (measured ~1e-9), so 1e-7 "
            "relative leaves a margin of 100 and still rejects any other rate.",
        negative_controls={"rate s instead of 2s (a one-layer model)": 2 * predicted})


def claim_half_time_direct(predicted: float, measured: float, lr: float, s: float) -> Claim:
    """Gradient descent reaches u = s/2 at the flow's half-time, within O(lr)."""
    return check(
        "__NAME__.half-time.direct", f"Gradient descent at lr = {lr:g} reaches u = s/2 at the "
        "flow's half-time ln(s/u0 - 1)/(2s), within its discretisation error.",
        predicted, measured, tol=lr * s, relative=True, source="derived",
        why=f"GD multiplies a small u by (1 + lr s)^2 per step instead of exp(2 lr s), which "
            f"stretches the half-time by a relative ~lr s/2; the tolerance lr s = {lr * s:g} is "
            "twice that (the crossing is interpolated between recorded steps).",
        negative_controls={"rate s instead of 2s (a one-layer model)": 2 * predicted},
        details={"lr": lr})
'''

_FINDINGS = '''\
"""Registered findings of __NAME__: claims known not to hold, each with its explanation.

Add a :class:`dynamics.claims.Finding` here only after ruling out our own measurement (the
window, the definition, the tolerance, the reconstruction); a finding never turns a claim
green, it explains one that is not.
"""

from __future__ import annotations

from dynamics.claims import Finding

FINDINGS: tuple[Finding, ...] = ()
'''

_VERIFY = '''\
"""The derivation __NAME__: settings, what is reconstructed, and the verify function.

Run ``dynamics verify __PKG__/`` (or ``dynamics verify __PKG__/verify.py``) and open the
report; ``dynamics phase __PKG__/ --x s=0.5:4:8 --t-max 5`` draws a phase diagram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from dynamics.analysis import first_crossing
from dynamics.claims import Claim
from dynamics.direct import train
from dynamics.integrate import integrate
from dynamics.options import Crossing
from dynamics.registry import Derivation
from dynamics.validate import positive_float, positive_int
from dynamics.verify import VerifyContext

from .claims import claim_half_time_direct, claim_half_time_flow
from .closed_forms import half_time, u_closed
from .data import make_data
from .direct import ScalarNetwork
from .findings import FINDINGS
from .reduced import reduced_model

# What is not the paper's own text: one line each, with the Settings field that changes it
# (and "reconstruction" in the docstring and Claim.source of what uses it).
RECONSTRUCTED: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """The ``--set`` fields of ``dynamics verify __PKG__/``.

    Attributes
    ----------
    s : float
        Teacher strength.
    u0 : float
        Balanced start $u_0 = ab$, below s.
    lr : float
        Learning rate of the direct run (``--quick``: twice as large).
    n_samples : int
        Inputs of the direct run.
    """

    s: float = 2.0
    u0: float = 1e-3
    lr: float = 0.01
    n_samples: int = 64

    def __post_init__(self) -> None:
        positive_float("s", self.s)
        positive_float("u0", self.u0)
        positive_float("lr", self.lr)
        positive_int("n_samples", self.n_samples)
        if self.u0 >= self.s:
            raise ValueError(f"u0 must lie below s, got u0={self.u0}, s={self.s}")


def balanced_start(cm: object, u0: float = 1e-3) -> np.ndarray:
    """The start ``dynamics phase`` uses: a = b = sqrt(u0) (receives the CompiledModel)."""
    return np.full(2, math.sqrt(u0))


def verify(ctx: VerifyContext) -> list[Claim]:
    """Half-time of the flow and of gradient descent against the closed form, and a figure."""
    import matplotlib.pyplot as plt

    st: Settings = ctx.settings or Settings()
    lr = 2 * st.lr if ctx.quick else st.lr
    t_half = half_time(st.s, st.u0)
    t_max = 3 * t_half
    ctx.config.update({"t_max": t_max, "lr": lr})
    claims = ctx.claims  # kept even if a later stage raises
    with ctx.stage("flow"):
        cm = reduced_model(st.s).compile()
        y0 = np.full(2, math.sqrt(st.u0))
        flow = integrate(cm, y0, t_max=t_max, rtol=1e-10, atol=1e-12,
                         events=[Crossing("u", st.s / 2, +1)])
        ctx.save_trajectory("flow", flow)
        claims.append(claim_half_time_flow(t_half, flow.stats["events"][f"u={st.s / 2:g}"][0]))
    with ctx.stage("direct gradient descent"):
        data = make_data(ctx.rng(0), st.s, st.n_samples)
        traj, _ = train(ScalarNetwork(st.u0), None, data, lr=lr, steps=round(t_max / lr),
                        rng=ctx.rng(1), record="all")
        ctx.save_trajectory("direct", traj)
        u_gd = traj["a"] * traj["b"]
        claims.append(claim_half_time_direct(t_half, first_crossing(traj.t, u_gd, st.s / 2, "up"),
                                             lr, st.s))
    with ctx.stage("figure"):
        fig, ax = plt.subplots(figsize=(6, 4))
        t = np.linspace(0, t_max, 300)
        ax.plot(t, u_closed(t, st.s, st.u0), "k-", lw=3, alpha=0.3, label="closed form")
        ax.plot(flow.t, flow["u"], "C0-", label="integrated flow")
        ax.plot(traj.t[::10], u_gd[::10], "C1o", ms=3, label=f"gradient descent, lr={lr:g}")
        ax.axvline(t_half, color="k", ls=":", lw=1, label="predicted half-time")
        ax.axhline(st.s / 2, color="0.5", ls=":", lw=1)
        ax.set(xlabel="flow time t", ylabel="u = ab", title="__NAME__: end-to-end weight")
        ax.legend(fontsize=8)
        ctx.save_figure("u", fig, caption="The flow (line) and gradient descent (dots) lie on the "
                        "closed form (grey) and cross s/2 at the predicted half-time (dotted).",
                        claims=("__NAME__.half-time.flow", "__NAME__.half-time.direct"))
        plt.close(fig)
    return claims


derivation = Derivation(
    name="__NAME__",
    title="__NAME__: two-layer scalar linear network (the dynamics new example)",
    model=reduced_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Settings,
    initial_state=balanced_start,
    findings=FINDINGS,
)
'''

_TEST = '''\
"""Tests of __NAME__, named after the claims they check; each has a negative control.

Run ``python -m pytest __PKG__/`` from the folder that holds ``__PKG__``.
"""

from __future__ import annotations

import numpy as np
from dynamics.claims import check
from dynamics.direct import check_grad
from dynamics.integrate import integrate
from dynamics.options import Crossing

from .claims import claim_half_time_flow
from .closed_forms import half_time, u_closed
from .data import make_data
from .direct import ScalarNetwork
from .reduced import reduced_model


def test_half_time_flow():
    s, u0 = 2.0, 1e-3
    tr = integrate(reduced_model(s).compile("python"), np.full(2, u0**0.5), t_max=3.0,
                   rtol=1e-10, atol=1e-12, events=[Crossing("u", s / 2, +1)])
    claim = claim_half_time_flow(half_time(s, u0), tr.stats["events"]["u=1"][0])
    assert claim.passed, claim
    assert all(c["refuted"] for c in claim.negative_controls)
    # negative control: the same measurement rejects a wrong half-time
    wrong = claim_half_time_flow(1.01 * half_time(s, u0), tr.stats["events"]["u=1"][0])
    assert not wrong.passed


def test_flow_follows_the_closed_form():
    s, u0 = 2.0, 1e-3
    tr = integrate(reduced_model(s).compile("python"), np.full(2, u0**0.5), t_max=3.0,
                   rtol=1e-10, atol=1e-12)
    err = float(np.max(np.abs(tr["u"] - u_closed(tr.t, s, u0)) / s))
    assert check("flow", "u(t)", 0.0, err, tol=1e-7, why="rtol 1e-10, amplified <= 1e3").passed
    assert not check("flow", "u(t)", 0.0, float(np.max(np.abs(tr["u"] - u_closed(tr.t, s, 2 * u0)))),
                     tol=1e-7, why="a wrong start").passed


def test_direct_gradients():
    model = ScalarNetwork()
    data = make_data(np.random.default_rng(0), 2.0, 16)
    params = {"a": np.array(0.3), "b": np.array(-0.7)}
    res = check_grad(lambda p: model.loss_and_grad(p, data), params)
    assert res.ok, res
    # negative control: gradients off by a factor 2 are caught
    wrong = {k: 2 * v for k, v in model.loss_and_grad(params, data)[1].items()}
    assert not check_grad(lambda p: model.loss_and_grad(p, data)[0], params, grads=wrong).ok
'''

_FILES = {
    "__init__.py": _INIT,
    "reduced.py": _REDUCED,
    "closed_forms.py": _CLOSED,
    "data.py": _DATA,
    "direct.py": _DIRECT,
    "claims.py": _CLAIMS,
    "findings.py": _FINDINGS,
    "verify.py": _VERIFY,
}


def package_name(name: str) -> str:
    """The folder (package) name of derivation ``name``: ``-`` becomes ``_``.

    Raises ``ValueError`` unless ``name`` is a letter followed by letters, digits, ``-``
    or ``_``.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a letter followed by letters, digits, '-' or '_', "
                         f"got {name!r}")
    return name.replace("-", "_")


def write_project(name: str, parent: str | Path = ".") -> Path:
    """Write the derivation ``name`` as the package ``parent/<package_name(name)>``.

    Returns the folder. Raises ``ValueError`` for a bad name, a ``parent`` that is not a
    folder, or a target that already exists (nothing is overwritten); files are written
    to a temporary folder renamed at the end, so an interrupted call leaves nothing.
    """
    pkg = package_name(name)
    parent = Path(parent)
    if not parent.is_dir():
        raise ValueError(f"parent folder {str(parent)!r} does not exist")
    target = parent / pkg
    if target.exists():
        raise ValueError(f"{target} already exists; choose another name or folder")
    tmp = parent / f".{pkg}.tmp"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir()
    files = dict(_FILES)
    files[f"test_{pkg}.py"] = _TEST
    for fname, text in files.items():
        (tmp / fname).write_text(text.replace("__NAME__", name).replace("__PKG__", pkg))
    tmp.rename(target)
    return target
