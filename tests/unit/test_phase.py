"""Phase diagrams: axes, classifiers against closed forms, failures, resume, interrupt,
refinement, local processes and a real Dask cluster giving the same classes."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from dynamics import phase
from dynamics.cli import main
from dynamics.model import ReducedModel
from dynamics.phase import (
    POINT_DONE,
    POINT_FAILED,
    POINT_PENDING,
    Axis,
    AxisError,
    PhaseResult,
    make_classifier,
    sweep,
)
from dynamics.trajectory import Trajectory

from . import _interrupt

U0 = 0.01  # balanced start a = b = 0.1


def one_mode() -> ReducedModel:
    """L = (s - ab)^2 / 2: u = ab follows the logistic curve of Saxe et al."""
    a, b = sp.symbols("a b", real=True)
    s = sp.Symbol("s", positive=True)
    return ReducedModel.from_loss(
        "phase-one-mode",
        [a, b],
        [s],
        (s - a * b) ** 2 / 2,
        observables={"u": a * b},
        defaults={"s": 1.0},
    )


def blow_up() -> ReducedModel:
    """da/dt = s a^3: from a = 1 it reaches infinity at t = 1/(2 s) for s > 0."""
    a = sp.Symbol("a", real=True)
    s = sp.Symbol("s", real=True)
    return ReducedModel.from_loss("phase-blow-up", [a], [s], -s * a**4 / 4 + 1, defaults={"s": 0.0})


@pytest.fixture(scope="module")
def mode() -> ReducedModel:
    return one_mode()


def u_closed(t: float, s: float, u0: float = U0) -> float:
    return s / (1.0 + (s / u0 - 1.0) * math.exp(-2.0 * s * t))


def ratio_closed(t: float, s: float, u0: float = U0) -> float:
    return ((s - u_closed(t, s, u0)) / (s - u0)) ** 2


def t_learn_closed(frac: float, s: float, u0: float = U0) -> float:
    u = s - math.sqrt(frac) * (s - u0)
    return math.log((s / u0 - 1.0) / (s / u - 1.0)) / (2.0 * s)


# ---------------------------------------------------------------------------- parsing
def test_axis_parse_and_values():
    ax = Axis.parse("s1=0.5:4:8")
    assert (ax.param, ax.lo, ax.hi, ax.n, ax.log) == ("s1", 0.5, 4.0, 8, False)
    np.testing.assert_allclose(ax.values, np.linspace(0.5, 4, 8))
    lg = Axis.parse(" lr = 1e-3 : 1 : 4 : log ")
    np.testing.assert_allclose(lg.values, [1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(lg.value(0.5), math.sqrt(1e-3 * 1e-2))
    assert str(lg) == "lr=0.001:1:4:log"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("s1=0:1", "PARAM=LO:HI:N"),
        ("s1", "PARAM=LO:HI:N"),
        ("=0:1:3", "PARAM=LO:HI:N"),
        ("s1=a:1:3", "numbers"),
        ("s1=0:1:2.5", "integer"),
        ("s1=0:1:0", ">= 1"),
        ("s1=0:1:3:cubic", "'log'"),
        ("s1=0:1:3:log", "LO, HI > 0"),
        ("s1=1:1:3", "equal"),
        ("s1=0:inf:3", "finite"),
    ],
)
def test_axis_errors(spec, words):
    with pytest.raises(AxisError, match=words.replace("(", r"\(").replace(".", r"\.")):
        Axis.parse(spec)


def test_unknown_name_message_is_short_and_suggests():
    """A model with 129 coordinates (yuksel2026) used to get all of them in one line: the
    listing is cut to 12 with the count, and a near miss is suggested; an exact short list
    is printed whole."""
    from dynamics.phase.axis import _unknown

    state = [f"theta_{i}" for i in range(129)]
    msg = _unknown(["g4"], ["g1", "g2", "g3"], state, "m")
    assert "unknown parameter 'g4'" in msg and "['g1', 'g2', 'g3']" in msg
    assert "(129 in all)" in msg and "theta_64" not in msg and len(msg) < 400
    assert "did you mean" in msg and "'g1'" in msg.split("did you mean")[1]
    assert "did you mean" not in _unknown(["zzz"], ["g1"], [], "m")
    assert _unknown(["q"], ["s"], [], "m", as_list=True).startswith("unknown parameter(s) ['q']")


def test_unknown_parameter_is_named(mode):
    with pytest.raises(AxisError, match=r"unknown parameter 'q'.*\['s'\]"):
        sweep(mode, "q=0:1:3", classify="learnable", t_max=1.0, workers=1, progress=False)
    with pytest.raises(AxisError, match=r"unknown parameter.*'zz'"):
        sweep(mode, "s=0.5:1:3", fixed={"zz": 1.0}, t_max=1.0, workers=1, progress=False)
    with pytest.raises(AxisError, match="same parameter"):
        sweep(mode, "s=0.5:1:3", "s=1:2:3", t_max=1.0, workers=1, progress=False)


def test_classifier_specs():
    assert make_classifier("learnable:0.05").fraction == 0.05
    c = make_classifier("order:u1,u2:1.5")
    assert c.observables == ("u1", "u2") and c.level == 1.5
    assert c.labels()[0] == "none" and "u2<u1" in c.labels().values()
    for bad in ("nope", "learnable:2", "order", "order:u1,u1", "stage:u1,u1", "stage::0.5",
                "stage:u1:2"):
        with pytest.raises(ValueError, match="classifier"):
            make_classifier(bad)


def test_builtin_classifiers_on_synthetic_curves():
    t = np.concatenate([[0.0], np.geomspace(1e-2, 1e4, 400)])
    z = 4.0 * (np.log(np.maximum(t, 1e-9)) - np.log(10.0))
    two = np.exp(-2.0 / (1 + np.exp(-z)) - 2.0 / (1 + np.exp(-(z - 4.0 * np.log(100.0)))))
    tr = Trajectory(t, np.zeros((t.size, 1)), ("a",), {"loss": two})
    assert phase.StageClassifier()(tr)[0] == 2  # two sigmoidal drops, at t = 10 and 1000
    assert phase.LearnableClassifier(0.1)(tr)[0] == 1
    power = Trajectory(t, np.zeros((t.size, 1)), ("a",), {"loss": 1.0 / (1.0 + t)})
    c, q = phase.SlopeClassifier()(power)
    assert c == 1 and q["slope"] == pytest.approx(-1.0, abs=1e-3)
    flat = Trajectory(t, np.zeros((t.size, 1)), ("a",), {"loss": np.ones_like(t)})
    assert phase.SlopeClassifier()(flat)[0] == 0 and phase.StageClassifier()(flat)[0] == 0


# ------------------------------------------------------------------------- 1-D sweeps
def test_1d_learnable_matches_closed_form(mode, tmp_path):
    t_max, frac = 2.0, 0.1
    y0 = {"a": math.sqrt(U0), "b": math.sqrt(U0)}
    res = sweep(
        mode,
        "s=0.5:4:15",
        classify=f"learnable:{frac}",
        t_max=t_max,
        y0=y0,
        workers=1,
        progress=False,
        out=tmp_path / "p",
    )
    s = Axis.parse("s=0.5:4:15").values
    ratio = np.array([ratio_closed(t_max, si) for si in s])
    assert np.all(np.abs(np.log(ratio / frac)) > 0.1)  # no point too close to the boundary
    expected = (ratio < frac).astype(int)
    assert 0 < expected.sum() < s.size  # the sweep crosses the boundary
    assert np.all(res.status == POINT_DONE)
    np.testing.assert_array_equal(res.grid(), expected)
    np.testing.assert_allclose(res.quantities["loss_ratio"], ratio, rtol=1e-4)
    learned = expected == 1
    tl = np.array([t_learn_closed(frac, si) for si in s[learned]])
    # linear interpolation between log-spaced samples (about 30 per decade): < 1 %
    np.testing.assert_allclose(res.quantities["t_learn"][learned], tl, rtol=1e-2)
    assert np.all(np.isnan(res.quantities["t_learn"][~learned]))
    back = PhaseResult.load(tmp_path / "p")
    np.testing.assert_array_equal(back.classes, res.classes)
    assert back.labels == {0: "not learned", 1: "learned"} and back.config["t_max"] == t_max
    png = tmp_path / "p.png"
    back.plot(png)
    assert png.stat().st_size > 5000


def test_order_on_registered_saxe2014_matches_half_times():
    # u_k = a_k b_k rises from u0 = 1e-4 to s_k; half-way times ln(s/u0 - 1)/(2s) (closed
    # form, up to the small u0 shift of the half-way level) order the modes
    res = sweep(
        "saxe2014",
        "s3=0.75:4.75:9",
        classify="order:u1,u2,u3",
        t_max=30.0,
        workers=1,
        progress=False,
        solver="integrate",
    )
    labels = res.labels
    s1, s2 = 3.0, 2.0
    for s3, c, st in zip(res.x, res.classes, res.status, strict=True):
        assert st == POINT_DONE
        th = {f"u{k + 1}": math.log(sk / 1e-4 - 1) / (2 * sk) for k, sk in enumerate((s1, s2, s3))}
        assert labels[int(c)] == "<".join(sorted(th, key=th.get)), s3
    assert len(set(res.classes.tolist())) == 3


# ---------------------------------------------------------------- 2-D, user classifier
def rounded_u(tr: Trajectory) -> tuple[int, dict[str, float]]:
    """Module level, so it pickles by reference."""
    u = float(tr["u"][-1])
    return int(round(u)), {"u_final": u}


def test_2d_user_classifier_with_initial_state_axis_and_refinement(mode, tmp_path):
    # u -> s from any positive start, so the class is round(s) whatever a(0) is
    res = sweep(
        mode,
        "s=0.2:3.2:7",
        "a=0.05:0.5:3",
        fixed={"b": 0.1},
        classify=rounded_u,
        t_max=300.0,
        workers=1,
        progress=False,
        refine=1,
        out=tmp_path / "p2",
    )
    g = res.grid()
    assert g.shape == (7, 3)
    expected = np.round(Axis.parse("s=0.2:3.2:7").values).astype(int)
    np.testing.assert_array_equal(g, np.repeat(expected[:, None], 3, axis=1))
    base = res.level == 0
    np.testing.assert_allclose(res.quantities["u_final"][base], res.x[base], rtol=1e-5)  # u -> s
    # refinement: only x-midpoints between base neighbours of different class
    ref = ~base
    assert ref.sum() == 3 * int(np.sum(expected[1:] != expected[:-1]))
    for i, j in zip(res.ix[ref], res.iy[ref], strict=True):
        assert i % 1 == 0.5 and j % 1 == 0
        assert g[int(i - 0.5), int(j)] != g[int(i + 0.5), int(j)]
    assert res.config["classify"].endswith("test_phase.rounded_u")
    res.plot(tmp_path / "p2.png")
    assert (tmp_path / "p2.png").stat().st_size > 5000


def test_refine_adds_points_only_at_the_boundary(mode):
    t_max = 2.0
    y0 = {"a": 0.1, "b": 0.1}
    res = sweep(
        mode,
        "s=0.5:4:8",
        classify="learnable",
        t_max=t_max,
        y0=y0,
        workers=1,
        progress=False,
        refine=3,
    )
    base = res.level == 0
    xb, cb = res.x[base], res.classes[base]
    k = int(np.flatnonzero(cb[1:] != cb[:-1])[0])
    assert np.sum(cb[1:] != cb[:-1]) == 1
    added = res.x[~base]
    assert added.size == 3  # one midpoint per round, bisecting the boundary interval
    assert np.all((added > xb[k]) & (added < xb[k + 1]))
    np.testing.assert_array_equal(res.level[~base], [1, 2, 3])
    for x, c in zip(added, res.classes[~base], strict=True):
        assert c == int(ratio_closed(t_max, x) < 0.1)


# ------------------------------------------------------------------------------ failures
def fails_at_half(tr: Trajectory) -> int:
    if tr.meta["params"]["s"] == -0.5:
        raise ValueError("no class for s = -0.5")
    return int(tr.loss[-1] < tr.loss[0])


@pytest.mark.parametrize("solver", ["integrate", "auto"])
def test_failed_points_are_recorded_and_others_succeed(tmp_path, solver):
    res = sweep(
        blow_up(),
        "s=-1:1:5",
        classify=fails_at_half,
        y0=[1.0],
        t_max=0.8,  # blow-up times 1/(2 s): s = 1 at 0.5 (fails), s = 0.5 at 1.0 (after t_max)
        workers=1,
        progress=False,
        out=tmp_path / "f",
        solver=solver,
    )
    s = res.x
    st = dict(zip(s.tolist(), res.status.tolist(), strict=True))
    err = dict(zip(s.tolist(), res.errors, strict=True))
    assert st[-1.0] == POINT_DONE and st[0.0] == POINT_DONE and st[0.5] == POINT_DONE
    assert st[1.0] == POINT_FAILED and err[1.0]  # blows up at t = 0.5
    assert st[-0.5] == POINT_FAILED and "classify: ValueError: no class for s = -0.5" in err[-0.5]
    assert res.classes[res.status == POINT_FAILED].tolist() == [-1] * int((res.status == POINT_FAILED).sum())
    methods = res.config["methods"]  # points solved per integration method
    assert sum(methods.values()) == 4  # every point but the blow-up produced a trajectory
    assert solver == "auto" or set(methods) == {"odeint"}
    back = PhaseResult.load(tmp_path / "f")
    assert back.errors == res.errors and back.status.tolist() == res.status.tolist()


# ----------------------------------------------------------------- interrupt and resume
CALLS: list[float] = []


class Counting:
    """Counts classified points; raises KeyboardInterrupt at the call number ``stop_at``."""

    def __init__(self, stop_at: int | None = None):
        self.stop_at = stop_at

    def __call__(self, tr: Trajectory) -> int:
        CALLS.append(float(tr["u"][-1]))
        if self.stop_at is not None and len(CALLS) >= self.stop_at:
            raise KeyboardInterrupt
        return int(tr.loss[-1] < 0.1 * tr.loss[0])


def test_interrupt_leaves_partial_file_and_resume_skips_done_points(mode, tmp_path):
    out = tmp_path / "r"
    kw = dict(classify=Counting(), t_max=2.0, y0={"a": 0.1, "b": 0.1}, workers=1, progress=False)
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        sweep(mode, "s=0.5:4:12", out=out, **{**kw, "classify": Counting(stop_at=6)})
    part = PhaseResult.load(out)  # valid after the interrupt
    assert part.n_points == 12
    assert int((part.status == POINT_DONE).sum()) == 5 and int((part.status == POINT_PENDING).sum()) == 7
    assert not part.complete
    done_before = part.status == POINT_DONE
    CALLS.clear()
    res = sweep(mode, "s=0.5:4:12", out=out, **kw)
    assert len(CALLS) == 7  # only the pending points were computed
    assert res.complete and np.all(res.status == POINT_DONE)
    # the resumed points are exactly the ones that were pending
    u_resumed = np.array(sorted(CALLS))
    s_pending = res.x[~done_before]
    np.testing.assert_allclose(u_resumed, np.sort([u_closed(2.0, s) for s in s_pending]), rtol=1e-4)
    fresh = sweep(mode, "s=0.5:4:12", **kw)
    np.testing.assert_array_equal(res.classes, fresh.classes)
    CALLS.clear()
    sweep(mode, "s=0.5:4:12", out=out, **kw)
    assert CALLS == []  # nothing left to do
    with pytest.raises(ValueError, match="different configuration.*t_max"):
        sweep(mode, "s=0.5:4:12", out=out, **{**kw, "t_max": 3.0})


# -------------------------------------------------------- processes and a Dask cluster
def test_local_processes_and_dask_cluster_give_the_same_classes(monkeypatch, tmp_path):
    pytest.importorskip(
        "dask.distributed",
        reason="dask[distributed] is not installed (pip install 'dask[distributed]')",
    )
    from dask.distributed import Client, LocalCluster

    args = ("saxe2014", "s3=0.75:4.75:6", "s2=0.5:4:4")
    kw = dict(classify="order:u1,u2,u3", t_max=30.0, progress=False, solver="integrate")
    serial = sweep(*args, workers=1, **kw)
    monkeypatch.setattr(phase.execute, "SPAWN_S", 0.0)  # force workers even for this small sweep
    monkeypatch.setattr(phase.execute, "TARGET_TASK_S", 0.0)  # several chunks per worker
    procs = sweep(*args, workers=2, out=tmp_path / "procs", **kw)
    np.testing.assert_array_equal(procs.classes, serial.classes)
    assert procs.config["executors"] == ["processes"] and serial.config["executors"] == ["serial"]
    with pytest.raises(ValueError, match="module-level classifier"):
        sweep(*args, workers=2, classify=lambda tr: 0, t_max=30.0, progress=False)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cl,
        Client(cl) as client,
    ):
        dist = sweep(*args, scheduler=client, out=tmp_path / "dask", **kw)
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        # the command line with the scheduler's address (its own Client, closed afterwards)
        argv = ["phase", "saxe2014", "--x", args[1], "--y", args[2], "--classify", kw["classify"],
                "--t-max", "30", "--scheduler", cl.scheduler_address,
                "--out", str(tmp_path / "cli"), "--quiet"]
        assert main(argv) == 0
        # Ctrl-C while the cluster works (KeyboardInterrupt after the first finished chunk):
        # the partial file is valid, the cluster's queued chunks are cancelled, and the
        # rerun on the same cluster completes it with the classes of the serial sweep
        finish = phase.execute._Runner._finish
        calls = []

        def interrupted_finish(self, res, results, bar):
            finish(self, res, results, bar)
            calls.append(len(results))
            raise KeyboardInterrupt

        monkeypatch.setattr(phase.execute._Runner, "_finish", interrupted_finish)
        with pytest.raises(KeyboardInterrupt):
            sweep(*args, scheduler=client, out=tmp_path / "dask-int", **kw)
        monkeypatch.setattr(phase.execute._Runner, "_finish", finish)
        part = PhaseResult.load(tmp_path / "dask-int")
        n_done = int((part.status == POINT_DONE).sum())
        assert calls and 1 <= n_done < part.n_points and not part.complete
        deadline = time.monotonic() + 20
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(client.processing().values())  # nothing left running on the cluster
        resumed = sweep(*args, scheduler=client, out=tmp_path / "dask-int", **kw)
    assert resumed.complete
    np.testing.assert_array_equal(resumed.classes, serial.classes)
    assert len(pids) == 2 and dist.config["executors"] == ["dask"]
    np.testing.assert_array_equal(dist.classes, serial.classes)
    assert np.all(dist.status == POINT_DONE)
    np.testing.assert_allclose(dist.quantities["t_u1"], serial.quantities["t_u1"], rtol=1e-9)
    assert PhaseResult.load(tmp_path / "dask").complete
    via_cli = PhaseResult.load(tmp_path / "cli" / "phase")
    np.testing.assert_array_equal(via_cli.classes, serial.classes)
    assert via_cli.config["executors"] == ["dask"]


def test_registered_initial_state_is_the_default_start() -> None:
    """A registry name sweeps from its derivation's initial_state (Eq. 4's symmetric start
    0.01 everywhere would never leave the first plateau); a model object keeps 0.01."""
    from derivations.yuksel2026 import reduced as R
    from dynamics.phase.execute import _default_start
    from dynamics.registry import get

    cm = get("yuksel2026").model().compile()
    y0 = _default_start("yuksel2026", cm)
    np.testing.assert_array_equal(y0, R.initial_state(cm, 1e-6, 0))
    np.testing.assert_array_equal(_default_start(cm.model, cm), np.full(cm.n_state, 0.01))


# ------------------------------------------------- Ctrl-C with worker processes (real SIGINT)
SLOW_CLASSIFIER = '''
import os, time

def slow_learned(tr):
    time.sleep(float(os.environ.get("SLOW_S", "0")))
    return int(tr["u1"][-1] > 1.0)
'''

SWEEP_SCRIPT = '''
import sys
from dynamics.phase import sweep
import slowcls

if __name__ == "__main__":
    try:
        sweep("saxe2014", "s1=0.2:3:120", classify=slowcls.slow_learned, t_max=20.0,
              out="sweep", workers=2, progress=False)
    except KeyboardInterrupt:
        sys.exit(130)
'''


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_with_worker_processes_leaves_partial_file_and_resumes(tmp_path, monkeypatch):
    """A terminal's Ctrl-C (SIGINT to the process group) during a sweep on local worker
    processes: the sweep stops at once, the output file is valid and holds every point
    finished before the interrupt, no worker is left running, and the rerun computes only the
    rest and gives the classes of an uninterrupted sweep."""
    (tmp_path / "slowcls.py").write_text(SLOW_CLASSIFIER)
    out = tmp_path / "sweep"
    proc = _interrupt.start(SWEEP_SCRIPT, tmp_path, env={"SLOW_S": "0.25"})

    def some_done() -> bool:
        try:
            part = PhaseResult.load(out)
        except Exception:  # not written yet (or being replaced: the write is atomic)
            return False
        return int((part.status == POINT_DONE).sum()) >= 4

    _interrupt.wait_until(some_done, proc, timeout=180)
    t0 = time.monotonic()
    _interrupt.interrupt_group(proc)
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert elapsed < 5.0, f"took {elapsed:.1f} s to stop (120 points x 0.25 s were queued)"
    deadline = time.monotonic() + 10
    while _interrupt.live_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _interrupt.live_in_group(proc.pid) == []
    part = PhaseResult.load(out)
    n_done = int((part.status == POINT_DONE).sum())
    assert 4 <= n_done < 120 and int((part.status == POINT_PENDING).sum()) == 120 - n_done
    assert part.config["executors"] == ["serial", "processes"] or part.config["executors"] == [
        "processes"
    ]
    # resume here, fast (the classifier's sleep is off), and compare with a fresh sweep
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SLOW_S", "0")
    import slowcls

    done_before = part.status == POINT_DONE
    kw = dict(classify=slowcls.slow_learned, t_max=20.0, workers=1, progress=False)
    res = sweep("saxe2014", "s1=0.2:3:120", out=out, **kw)
    assert res.complete and np.all(res.status == POINT_DONE)
    fresh = sweep("saxe2014", "s1=0.2:3:120", **kw)
    np.testing.assert_array_equal(res.classes, fresh.classes)
    np.testing.assert_array_equal(res.classes[done_before], part.classes[done_before])
    assert 0 < int(fresh.classes.sum()) < 120  # both classes occur: the comparison has teeth


# ------------------------------------------------------- per-component stage classifier
def three_modes() -> ReducedModel:
    """Three independent Saxe modes with their loss contributions as observables."""
    a = sp.symbols("a1:4", real=True)
    b = sp.symbols("b1:4", real=True)
    s = sp.symbols("s1:4", positive=True)
    ell = {f"ell{i + 1}": (s[i] - a[i] * b[i]) ** 2 / 2 for i in range(3)}
    return ReducedModel.from_loss(
        "phase-three-modes",
        [*a, *b],
        list(s),
        sum(ell.values()),
        observables=ell,
        defaults={"s1": 1.0, "s2": 1.0, "s3": 1.0},
    )


def test_component_stage_classifier_counts_each_mode_exactly(mode):
    """``stage:ell1,ell2,ell3`` = the number of modes whose loss contribution fell below half
    of its start by t_max, against the closed-form half-times at every point; the loss-based
    ``stage`` classifier merges the close drops there. Negative control: the count predicted
    with the wrong fraction (0.1) disagrees."""
    m = three_modes()
    kw = dict(
        fixed={"s2": 2.6, "s3": 2.2}, t_max=1.6, y0={n: 0.1 for n in m.state_names},
        workers=1, progress=False,
    )
    res = sweep(m, "s1=0.4:3:14", classify="stage:ell1,ell2,ell3", **kw)
    assert np.all(res.status == POINT_DONE)
    t_half = [t_learn_closed(0.5, s) for s in (2.6, 2.2)]

    def predicted(frac: float) -> np.ndarray:
        return np.array(
            [sum(t_learn_closed(frac, s) < 1.6 for s in (s1, 2.6, 2.2)) for s1 in res.x]
        )

    np.testing.assert_array_equal(res.classes, predicted(0.5))
    assert set(res.classes.tolist()) == {2, 3} and t_half[0] < 1.6 and t_half[1] < 1.6
    # crossing times interpolate linearly between the output samples (a 200-point log grid):
    # 3e-4 relative here, so 1e-3
    np.testing.assert_allclose(res.quantities["t_ell2"], t_learn_closed(0.5, 2.6), rtol=1e-3)
    assert np.any(predicted(0.1) != res.classes)  # the wrong prediction fails
    assert res.label(3) == "3 of 3 dropped"
    loss_based = sweep(m, "s1=0.4:3:14", classify="stage", **kw)
    assert np.any(loss_based.classes < res.classes)  # close drops merged on the total loss
    with pytest.raises(ValueError, match=r"unknown observable\(s\) \['ell9'\]"):
        sweep(m, "s1=0.4:3:3", classify="stage:ell1,ell9", **kw)
    with pytest.raises(ValueError, match="fraction must be in"):
        make_classifier("stage:ell1:1.5")


@pytest.mark.parametrize("solver", ["batch", "integrate"])
def test_schedule_rescales_time_in_a_sweep(mode, tmp_path, solver):
    """A learning-rate factor c = 2 until t = 0.5 is the unscheduled flow at effective time
    t + 0.5: the loss ratio at t_max equals the closed form there, with both solvers (the
    schedule-free closed form is the negative control); the schedule is part of the
    configuration (resume with another one is refused); unknown groups are named."""
    from dynamics.schedule import Schedule

    sched = Schedule.switch(0.5, before={"default": 2.0})
    y0 = {"a": math.sqrt(U0), "b": math.sqrt(U0)}
    kw = dict(classify="learnable:0.1", t_max=1.0, y0=y0, workers=1, progress=False,
              solver=solver)
    res = sweep(mode, "s=0.5:4:9", schedule=sched, out=tmp_path / "s", **kw)
    assert np.all(res.status == POINT_DONE)
    s = res.x
    with_sched = np.array([ratio_closed(1.5, si) for si in s])
    without = np.array([ratio_closed(1.0, si) for si in s])
    np.testing.assert_allclose(res.quantities["loss_ratio"], with_sched, rtol=1e-5)
    assert np.max(np.abs(res.quantities["loss_ratio"] / without - 1)) > 0.5  # control
    np.testing.assert_array_equal(res.classes, (with_sched < 0.1).astype(int))
    assert res.config["schedule"] == sched.to_dict()
    with pytest.raises(ValueError, match="different configuration.*schedule"):
        sweep(mode, "s=0.5:4:9", schedule=Schedule.switch(0.5, before={"default": 3.0}),
              out=tmp_path / "s", **kw)
    with pytest.raises(ValueError, match=r"unknown group\(s\) \['attn'\]"):
        sweep(mode, "s=0.5:4:9", schedule=Schedule.switch(0.5, before={"attn": 3.0}), **kw)
