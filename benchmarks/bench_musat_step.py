"""One training step of the musat2025 attention-only transformer: our numpy model vs PyTorch.

Run ``python benchmarks/bench_musat_step.py [--layers L] [--heads H] [--d-model D]
[--batch B] [--repeats N] [--quick] [--no-large] [--no-alone] [--verify-task] [--json FILE]``.

A *step* is forward + backward + Adam update on one fixed, pre-sampled batch: data
generation (``RetrievalTask.sample``) is excluded from every timing. The variants:

* ``numpy float64``: ``AttentionOnlyTransformer.loss_and_grad`` (hand-written backward) and
  the Adam update of ``dynamics.direct.train`` (as ``derivations/musat2025/experiments.py``
  calls it)
  (bias-corrected moments, constant lr, its finite-gradient check included);
* ``numpy float32``: the same with float32 parameters, so every pass and the Adam moments run
  in single precision (what ``dynamics verify musat2025`` trains with, ``TrainConfig.dtype``);
* ``torch float64``: the same architecture in PyTorch eager mode on the CPU (token +
  position embeddings; per layer H heads with W_Q, W_K, W_V (H, d, d_h) and W_O (H, d_h, d);
  causal softmax with scale 1/sqrt(d_h); residual add; no MLP or LayerNorm; unembedding
  W_U (d, V) onto the value tokens; mean cross-entropy over the positions with target >= 0),
  ``loss.backward()`` and ``torch.optim.Adam``, at torch's default thread count, at 2 threads
  when the default differs, and at 1 thread; ``torch float32``: the same in single precision.

These run in one process, timed round-robin (one step of each per round, so load from
elsewhere hits all alike) after warm-up steps; median and best of N, and the minor page
faults per step. Then, unless ``--no-alone``, some run *alone* in fresh subprocesses (numpy
without torch imported): numpy at the default BLAS threads and at 1 thread
(``OPENBLAS_NUM_THREADS=1`` etc.; BLAS threads are fixed at import), and numpy and torch
float64 at 1 thread with glibc malloc told not to return freed memory to the OS
(``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``, "malloc no-trim": then the large
temporaries of a step do not page-fault afresh at every step). The ratio printed is time /
numpy float64 in-process (> 1: numpy is faster).

Before timing, the same initial parameters are loaded into torch (float64): the loss and
every gradient must agree with numpy to 1e-10 relative (max |difference| / max |numpy value|
per parameter), as must the parameters after three Adam steps; otherwise the script exits
with status 1. The default transformer is ``RetrievalTask(n_chains=4, depth=4, n_values=16,
n_vars=64, regime="ic_a")`` with ``AttentionOnlyTransformer.for_task(task, n_layers=2,
n_heads=2, d_model=32, init_scale=0.1)`` at batch 64 (sizes from the options); a larger one
(4 layers, d_model 64, batch 128) follows unless ``--no-large``. PyTorch is not a project
dependency: without it only the numpy variants are timed. ``--verify-task`` times the task and
model of ``dynamics verify musat2025`` instead (2 chains of depth 2, 4 values, 8 variables,
IC-B; give ``--layers 3 --heads 1 --batch 128`` for its model) and skips the larger one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

try:
    import resource
except ImportError:  # Unix only; elsewhere page faults are reported as 0
    resource = None  # type: ignore[assignment]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

from derivations.musat2025.data import Batch, RetrievalTask  # noqa: E402
from derivations.musat2025.direct import AttentionOnlyTransformer  # noqa: E402

#: PyTorch (never a project dependency), imported by :func:`load_torch` only, so that the
#: numpy-only subprocesses run without it.
torch: Any = None
F: Any = None

NO_TORCH = (
    "PyTorch not installed: pip install torch --index-url https://download.pytorch.org/whl/cpu"
    " to compare"
)
CHECK_RTOL = 1e-10
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
WARMUP = 3
SEED = 0
NUMPY = "numpy float64"
NUMPY32 = "numpy float32"
TORCH64 = "torch float64"
ONE_THREAD = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
#: glibc malloc kept from returning freed memory to the OS (so that numpy's large temporaries
#: do not page-fault afresh at every step): mmap only above 32 MiB, never trim the heap.
NO_TRIM = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**40)}
#: Subprocess variants ("alone": a fresh process running one variant): label -> (what, env).
ALONE = {
    f"{NUMPY} alone, BLAS default threads": ("numpy", {}),
    f"{NUMPY} alone, BLAS 1 thread": ("numpy", ONE_THREAD),
    f"{NUMPY} alone, BLAS 1 thread, malloc no-trim": ("numpy", {**ONE_THREAD, **NO_TRIM}),
    f"{NUMPY32} alone, BLAS 1 thread": ("numpy32", ONE_THREAD),
    f"{TORCH64} alone, 1 thread": ("torch64", ONE_THREAD),
    f"{TORCH64} alone, 1 thread, malloc no-trim": ("torch64", {**ONE_THREAD, **NO_TRIM}),
}

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Config:
    layers: int
    heads: int
    d_model: int
    batch: int

    def label(self) -> str:
        return (
            f"{self.layers} layers, {self.heads} heads, d_model {self.d_model}, batch {self.batch}"
        )


#: Whether ``--verify-task`` was given (the task of ``dynamics verify musat2025``).
VERIFY_TASK = [False]


def task() -> RetrievalTask:
    if VERIFY_TASK[0]:
        return RetrievalTask(n_chains=2, depth=2, n_values=4, n_vars=8, regime="ic_b")
    return RetrievalTask(n_chains=4, depth=4, n_values=16, n_vars=64, regime="ic_a")


def setup(cfg: Config) -> tuple[AttentionOnlyTransformer, Params, Batch]:
    """The model, its initial parameters and the fixed batch (one seeded generator)."""
    t = task()
    model = AttentionOnlyTransformer.for_task(
        t, n_layers=cfg.layers, n_heads=cfg.heads, d_model=cfg.d_model, init_scale=0.1
    )
    rng = np.random.default_rng(SEED)
    params = model.init(rng)
    return model, params, t.sample(rng, cfg.batch)


# ---------------------------------------------------------------------------- numpy
def numpy_stepper(
    model: AttentionOnlyTransformer, params0: Mapping[str, np.ndarray], batch: Batch,
    dtype: type = np.float64,
) -> tuple[Callable[[], float], Params]:
    """One Adam step per call, the update ``dynamics.direct.train`` makes for musat2025 (minus
    sampling), in the precision ``dtype``."""
    theta = {k: np.array(v, dtype=dtype) for k, v in params0.items()}
    m = {k: np.zeros_like(v) for k, v in theta.items()}
    v2 = {k: np.zeros_like(v) for k, v in theta.items()}
    b1, b2 = BETAS
    count = [0]

    def step() -> float:
        loss, grads = model.loss_and_grad(theta, batch)
        k = count[0]
        c1, c2 = 1.0 - b1 ** (k + 1), 1.0 - b2 ** (k + 1)
        for name, g in grads.items():
            if not np.all(np.isfinite(g)):
                raise FloatingPointError(f"gradient of {name!r} became non-finite at step {k}")
            m[name] = b1 * m[name] + (1.0 - b1) * g
            v2[name] = b2 * v2[name] + (1.0 - b2) * g * g
            theta[name] = theta[name] - LR * (m[name] / c1) / (np.sqrt(v2[name] / c2) + EPS)
        count[0] += 1
        return loss

    return step, theta


# ---------------------------------------------------------------------------- torch
def load_torch() -> bool:
    """Import PyTorch into the module globals; False if it is not installed."""
    global torch, F
    try:
        import torch as torch_
        import torch.nn.functional as functional
    except ImportError:
        return False
    torch, F = torch_, functional
    return True


def torch_loss(cfg: Config, tp: Mapping[str, Any], tokens: Any, targets: Any) -> Any:
    """Mean cross-entropy over positions with target >= 0, same architecture as numpy's."""
    S = tokens.shape[1]
    scale = 1.0 / math.sqrt(cfg.d_model // cfg.heads)
    above = torch.ones(S, S, dtype=torch.bool).triu(1)  # (S, S) masked
    x = tp["W_E"][tokens] + tp["W_pos"][:S]  # (B, S, d)
    for layer in range(cfg.layers):
        p = f"blocks.{layer}.attn."
        q = torch.einsum("bsd,hde->bhse", x, tp[p + "W_Q"])  # (B, H, S, e)
        k = torch.einsum("bsd,hde->bhse", x, tp[p + "W_K"])
        v = torch.einsum("bsd,hde->bhse", x, tp[p + "W_V"])
        scores = (q @ k.transpose(-1, -2)) * scale  # (B, H, S, S)
        A = torch.softmax(scores.masked_fill(above, float("-inf")), dim=-1)
        z = A @ v  # (B, H, S, e)
        x = x + torch.einsum("bhse,hed->bsd", z, tp[p + "W_O"])
    logits = x @ tp["W_U"]  # (B, S, V)
    sup = targets >= 0
    return F.cross_entropy(logits[sup], targets[sup])


def torch_params(params: Mapping[str, np.ndarray], dtype: Any) -> dict[str, Any]:
    return {k: torch.tensor(v, dtype=dtype).requires_grad_(True) for k, v in params.items()}


def torch_stepper(
    cfg: Config, params0: Mapping[str, np.ndarray], batch: Batch, dtype: Any
) -> tuple[Callable[[], float], dict[str, Any]]:
    tp = torch_params(params0, dtype)
    tokens = torch.as_tensor(batch.tokens)
    targets = torch.as_tensor(batch.targets)
    opt = torch.optim.Adam(tp.values(), lr=LR, betas=BETAS, eps=EPS)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = torch_loss(cfg, tp, tokens, targets)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, tp


def with_threads(fn: Callable[[], float], n: int) -> Callable[[], float]:
    """``fn`` run at ``n`` torch threads (restored after the call)."""

    def run() -> float:
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return fn()
        finally:
            torch.set_num_threads(old)

    return run


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b| (b the numpy reference)."""
    scale = float(np.max(np.abs(b))) if np.size(b) else 0.0
    return float(np.max(np.abs(a - b))) / (scale if scale > 0 else 1.0)


def check_against_torch(
    cfg: Config, model: AttentionOnlyTransformer, params: Params, batch: Batch
) -> dict[str, Any]:
    """Loss and gradients at the same parameters (torch float64), then 3 Adam steps."""
    loss_np, grads_np = model.loss_and_grad(params, batch)
    tp = torch_params(params, torch.float64)
    tokens, targets = torch.as_tensor(batch.tokens), torch.as_tensor(batch.targets)
    loss_t = torch_loss(cfg, tp, tokens, targets)
    loss_t.backward()
    grad_diff = {k: rel_diff(tp[k].grad.numpy(), g) for k, g in grads_np.items()}
    out: dict[str, Any] = {
        "loss_numpy": loss_np,
        "loss_rel_diff": abs(float(loss_t.detach()) - loss_np) / abs(loss_np),
        "grad_rel_diff": grad_diff,
    }
    step_np, theta = numpy_stepper(model, params, batch)
    step_t, tp2 = torch_stepper(cfg, params, batch, torch.float64)
    for _ in range(3):
        step_np()
        step_t()
    out["adam3_rel_diff"] = max(rel_diff(tp2[k].detach().numpy(), theta[k]) for k in theta)
    with torch.no_grad():
        loss32 = float(torch_loss(cfg, torch_params(params, torch.float32), tokens, targets))
    out["loss_float32_rel_diff"] = abs(loss32 - loss_np) / abs(loss_np)
    out["ok"] = bool(
        out["loss_rel_diff"] <= CHECK_RTOL
        and max(grad_diff.values()) <= CHECK_RTOL
        and out["adam3_rel_diff"] <= CHECK_RTOL
    )
    return out


# --------------------------------------------------------------------------- timing
def minor_faults() -> int:
    """Minor page faults of this process so far (all threads); 0 where unavailable."""
    if resource is None:
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)


def time_variants(fns: dict[str, Callable[[], float]], repeats: int) -> dict[str, Any]:
    """Median and best seconds per step after ``WARMUP`` steps, round-robin over ``fns``
    (one step of each per round, so load from elsewhere hits all alike), and the minor page
    faults per step."""
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    faults = dict.fromkeys(fns, 0)
    for _ in range(repeats):
        for k, fn in fns.items():
            f0 = minor_faults()
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
            faults[k] += minor_faults() - f0
    return {
        k: {
            "median": statistics.median(v),
            "best": min(v),
            "repeats": repeats,
            "faults_per_step": faults[k] / repeats,
        }
        for k, v in times.items()
    }


def child(mode: str, cfg: Config, repeats: int, env_extra: dict[str, str]) -> dict[str, Any] | None:
    """Run this script in a fresh subprocess with ``env_extra`` set: ``mode`` "numpy",
    "numpy32" or "torch64" times that step alone (torch is imported only by "torch64"); the child prints
    its numbers as one JSON line."""
    env = dict(os.environ, **env_extra)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode]
    cmd += ["--layers", str(cfg.layers), "--heads", str(cfg.heads)]
    cmd += ["--d-model", str(cfg.d_model), "--batch", str(cfg.batch), "--repeats", str(repeats)]
    cmd += ["--verify-task"] if VERIFY_TASK[0] else []
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"   (subprocess {mode!r} failed: {res.stderr.strip()[-500:]})")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_config(cfg: Config, repeats: int, alone: bool) -> dict[str, Any]:
    model, params, batch = setup(cfg)
    n_sup = int((batch.targets >= 0).sum())
    out: dict[str, Any] = {
        "config": asdict(cfg),
        "seq_len": int(batch.tokens.shape[1]),
        "vocab": model.vocab_size,
        "n_params": int(sum(v.size for v in params.values())),
        "supervised_positions": n_sup,
    }
    fns: dict[str, Callable[[], float]] = {NUMPY: numpy_stepper(model, params, batch)[0],
                                           NUMPY32: numpy_stepper(model, params, batch, np.float32)[0]}
    if torch is not None:
        out["check"] = check_against_torch(cfg, model, params, batch)
        n = torch.get_num_threads()
        out["torch_threads_default"] = n
        fns[f"{TORCH64} ({n} threads)"] = torch_stepper(cfg, params, batch, torch.float64)[0]
        if n != 2:
            step2 = torch_stepper(cfg, params, batch, torch.float64)[0]
            fns[f"{TORCH64} (2 threads)"] = with_threads(step2, 2)
        if n != 1:
            step1 = torch_stepper(cfg, params, batch, torch.float64)[0]
            fns[f"{TORCH64} (1 thread)"] = with_threads(step1, 1)
        fns[f"torch float32 ({n} threads)"] = torch_stepper(cfg, params, batch, torch.float32)[0]
        if n != 1:
            step1 = torch_stepper(cfg, params, batch, torch.float32)[0]
            fns["torch float32 (1 thread)"] = with_threads(step1, 1)
    out["timings"] = time_variants(fns, repeats)
    if alone:
        for label, (what, env) in ALONE.items():
            if what == "torch64" and torch is None:
                continue
            t = child(what, cfg, repeats, env)
            if t is not None:
                out["timings"][label] = t
    return out


# --------------------------------------------------------------------------- report
def report_config(name: str, r: dict[str, Any]) -> bool:
    c = r["config"]
    print(
        f"\n== {name}: {Config(**c).label()} (seq_len {r['seq_len']}, vocab {r['vocab']}, "
        f"{r['n_params']} parameters, {r['supervised_positions']} supervised positions)"
    )
    ok = True
    if "check" in r:
        ch = r["check"]
        worst = max(ch["grad_rel_diff"], key=ch["grad_rel_diff"].get)
        print(
            f"   check vs torch float64: loss {ch['loss_numpy']:.6f} (rel diff "
            f"{ch['loss_rel_diff']:.1e}); worst gradient rel diff "
            f"{ch['grad_rel_diff'][worst]:.1e} ({worst}); params after 3 Adam steps "
            f"{ch['adam3_rel_diff']:.1e}: {'PASS' if ch['ok'] else 'FAIL'} (<= {CHECK_RTOL:g}); "
            f"float32 loss rel diff {ch['loss_float32_rel_diff']:.1e}"
        )
        ok = ch["ok"]
    tm = r["timings"]
    base = tm[NUMPY]["median"]
    rows = []
    for label, v in tm.items():
        rows.append(
            [
                label,
                f"{v['median'] * 1e3:.2f}",
                f"{v['best'] * 1e3:.2f}",
                f"{v['median'] / base:.2f}",
                f"{v['faults_per_step']:.0f}",
            ]
        )
    print(P.table(rows, ["variant", "median ms", "best ms", "time / numpy", "page faults/step"]))
    pairs = []
    for malloc, suffix in (("default malloc", ""), ("malloc no-trim", ", malloc no-trim")):
        t_np = tm.get(f"{NUMPY} alone, BLAS 1 thread{suffix}")
        t_t = tm.get(f"{TORCH64} alone, 1 thread{suffix}")
        if t_np and t_t:
            pairs.append(f"{t_t['median'] / t_np['median']:.2f} with {malloc}")
    if pairs:
        print(
            "   alone at 1 thread (steadiest on a loaded machine), torch float64 / numpy "
            "float64 = " + ", ".join(pairs)
        )
    return ok


def run_child(mode: str, cfg: Config, repeats: int) -> None:
    """The child side of :func:`child`."""
    model, params, batch = setup(cfg)
    if mode == "torch64":
        if not load_torch():
            raise RuntimeError(NO_TORCH)
        step = torch_stepper(cfg, params, batch, torch.float64)[0]
    else:
        step = numpy_stepper(model, params, batch, np.float32 if mode == "numpy32" else np.float64)[0]
    print(json.dumps(time_variants({mode: step}, repeats)[mode]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=30, help="timed steps per variant")
    ap.add_argument("--quick", action="store_true", help="5 repeats instead of --repeats")
    ap.add_argument("--no-large", action="store_true", help="skip the larger configuration")
    ap.add_argument("--no-alone", action="store_true", help="skip the subprocess (alone) lines")
    ap.add_argument("--json", metavar="FILE", help="write the numbers to FILE")
    ap.add_argument("--verify-task", action="store_true",
                    help="the task of dynamics verify musat2025 (and no larger configuration)")
    ap.add_argument("--child", choices=["numpy", "numpy32", "torch64"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    repeats = 5 if args.quick else args.repeats
    cfg = Config(args.layers, args.heads, args.d_model, args.batch)
    VERIFY_TASK[0] = args.verify_task
    if args.child:
        run_child(args.child, cfg, repeats)
        return 0
    print(P.machine_line())
    if not load_torch():
        print(NO_TORCH)
    else:
        print(f"torch {torch.__version__}, default threads {torch.get_num_threads()}")
    print(
        "one step = forward + backward + Adam update on a fixed pre-sampled batch (data "
        f"generation excluded); median and best of {repeats} steps after {WARMUP} warm-up "
        "steps, round-robin over the variants; time / numpy > 1 means numpy is faster"
    )
    configs = {"default": cfg}
    if not (args.no_large or args.verify_task):
        configs["large"] = Config(4, args.heads, 64, 128)
    results = {}
    ok = True
    for name, c in configs.items():
        results[name] = run_config(c, repeats, not args.no_alone)
        ok = report_config(name, results[name]) and ok
    if args.json:
        P.write_json(args.json, {"benchmark": "musat_step", "repeats": repeats, **results})
    if not ok:
        print(
            "FAILED: torch and numpy disagree on the loss, gradients or Adam step", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
