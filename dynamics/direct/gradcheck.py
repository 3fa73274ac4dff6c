r"""Analytic gradients against central finite differences.

An entry passes when $|g_\mathrm{analytic} - g_\mathrm{numeric}| \le
\mathrm{atol} + \mathrm{rtol}\,|g_\mathrm{numeric}|$ (the numeric derivative is the
oracle). Errors are also reported in units of that tolerance (``max_ratio``), so a test
can say how far inside the tolerance it is.

With the default ``eps = 1e-6`` the central difference has truncation error
$O(\varepsilon^2 f''')\approx 10^{-12}$ and a rounding floor of about
$u\,|f|/\varepsilon \approx 2\cdot 10^{-10}|f|$ ($u$ the machine epsilon; more if $f$
cancels internally). The default ``atol = 1e-9`` therefore suits losses up to order one;
for larger losses raise ``atol`` above the floor, which :class:`GradCheckResult` reports
(``noise_floor``) and the failure message points out. A gradient wrong by 1% fails by
orders of magnitude either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynamics.validate import nonnegative_float, positive_float, positive_int

__all__ = ["GradCheckResult", "assert_grad_ok", "check_grad"]


@dataclass(frozen=True)
class GradCheckResult:
    r"""Outcome of :func:`check_grad`.

    Attributes
    ----------
    max_abs_err, max_rel_err : dict of str to float
        Per parameter, the largest $|a - n|$ and $|a - n| / \max(|a|, |n|)$ over the
        checked entries (relative error 0 where both are 0).
    max_ratio : dict of str to float
        Per parameter, the largest $|a - n| / (\mathrm{atol} + \mathrm{rtol}|n|)$;
        an entry passes iff its ratio is at most 1.
    worst : dict of str to tuple
        Per parameter, ``(index, analytic, numeric)`` of the entry with the largest ratio.
    n_checked : dict of str to int
        Number of entries checked per parameter.
    noise_floor : dict of str to float
        Per parameter, the largest estimated rounding floor $u\,|f|/\varepsilon$ of the
        central differences: absolute errors near it are finite-difference noise.
    rtol, atol, eps : float
        The settings used.
    """

    max_abs_err: dict[str, float]
    max_rel_err: dict[str, float]
    max_ratio: dict[str, float]
    worst: dict[str, tuple[tuple[int, ...], float, float]]
    n_checked: dict[str, int]
    noise_floor: dict[str, float]
    rtol: float
    atol: float
    eps: float

    @property
    def ok(self) -> bool:
        """Whether every checked entry is within ``atol + rtol * |numeric|``."""
        return all(r <= 1.0 for r in self.max_ratio.values())

    @property
    def worst_param(self) -> str | None:
        """The parameter with the largest error ratio (``None`` if nothing was checked)."""
        if not self.max_ratio:
            return None
        return max(self.max_ratio, key=lambda k: self.max_ratio[k])

    def summary(self) -> str:
        """One line per parameter: errors, tolerance ratio and verdict."""
        lines = [f"gradient check (eps={self.eps:g}, rtol={self.rtol:g}, atol={self.atol:g}):"]
        for k in self.max_ratio:
            idx, a, n = self.worst[k]
            verdict = "ok" if self.max_ratio[k] <= 1.0 else "FAIL"
            lines.append(
                f"  {k}{list(idx)}: max abs err {self.max_abs_err[k]:.3e}, "
                f"max rel err {self.max_rel_err[k]:.3e}, "
                f"{self.max_ratio[k]:.3g} x tolerance "
                f"(worst: analytic {a:.10g} vs numeric {n:.10g}, "
                f"{self.n_checked[k]} entries, noise floor {self.noise_floor[k]:.1e}) {verdict}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _loss_of(out: Any) -> float:
    """The scalar loss from ``f``'s return value; a clear ValueError for anything else."""
    if isinstance(out, tuple):
        if not out:
            raise ValueError("check_grad: f returned an empty tuple; expected loss or (loss, grads)")
        out = out[0]
    a = np.asarray(out)
    if a.ndim != 0:
        raise ValueError(
            f"check_grad needs a scalar loss, but f returned an array of shape {a.shape}; "
            "reduce it (e.g. .sum() or .mean()) or check one component at a time"
        )
    if a.dtype.kind == "c":
        raise ValueError(f"check_grad needs a real loss, but f returned the complex value {a[()]!r}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"check_grad needs a real scalar loss, but f returned {type(out).__name__} {out!r:.60}")
    return float(a)


def check_grad(
    f: Callable[[dict[str, np.ndarray]], Any],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray] | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    rng: np.random.Generator | None = None,
    max_entries: int | None = None,
) -> GradCheckResult:
    r"""Compare gradients with central differences $\frac{f(x+\varepsilon e_i) -
    f(x-\varepsilon e_i)}{2\varepsilon}$, entry by entry.

    Parameters
    ----------
    f : callable
        ``f(params) -> (loss, grads)`` or ``f(params) -> loss``. It is called with a dict
        holding perturbed copies of the arrays; ``params`` itself is never modified.
    params : dict of str to ndarray
        The point at which to check (float arrays of any shape, 0-d included).
    grads : dict of str to ndarray, optional
        The analytic gradients to check. If omitted, ``f`` must return
        ``(loss, grads)`` and the grads of ``f(params)`` are checked. Their keys must be
        exactly the keys of ``params``, with the same shapes.
    eps : float
        Absolute finite-difference step.
    rtol, atol : float
        Tolerance: an entry passes iff $|a - n| \le \mathrm{atol} + \mathrm{rtol}|n|$.
    rng : numpy.random.Generator, optional
        Chooses the entries when ``max_entries`` is set (default ``default_rng(0)``).
    max_entries : int, optional
        Check at most this many entries per parameter, drawn without replacement;
        default: every entry.

    Returns
    -------
    GradCheckResult
    """
    eps = positive_float("eps", eps)
    rtol = nonnegative_float("rtol", rtol)
    atol = nonnegative_float("atol", atol)
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0")
    if max_entries is not None:
        max_entries = positive_int("max_entries", max_entries)
    if not params:
        raise ValueError("check_grad needs at least one parameter")

    work: dict[str, np.ndarray] = {}
    for k, v in params.items():
        try:
            work[k] = np.array(v, dtype=float, copy=True)
        except (TypeError, ValueError):
            raise ValueError(f"check_grad: parameter {k!r} must be a real float array, got "
                             f"{type(v).__name__} {v!r:.60}") from None
    if grads is None:
        out = f({k: v.copy() for k, v in work.items()})
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError("f returned only a loss; pass the analytic grads via grads=")
        _loss_of(out)  # a vector or complex loss: say so before comparing anything
        grads = out[1]
    else:
        _loss_of(f({k: v.copy() for k, v in work.items()}))
    assert grads is not None
    if set(grads) != set(work):
        raise ValueError(f"grads keys {sorted(grads)} do not match params keys {sorted(work)}")
    g_an = {k: np.asarray(grads[k], dtype=float) for k in work}
    for k in work:
        if g_an[k].shape != work[k].shape:
            raise ValueError(
                f"gradient of {k!r} has shape {g_an[k].shape}, parameter has {work[k].shape}"
            )
    if rng is None:
        rng = np.random.default_rng(0)

    abs_err: dict[str, float] = {}
    rel_err: dict[str, float] = {}
    ratio: dict[str, float] = {}
    worst: dict[str, tuple[tuple[int, ...], float, float]] = {}
    n_checked: dict[str, int] = {}
    floor: dict[str, float] = {}
    unit = float(np.finfo(float).eps)
    for k, p in work.items():
        # Entries are perturbed in place through their multi-index, whatever the array's
        # memory layout: reshape(-1) of a transposed (Fortran-ordered) or strided array is
        # a copy, and perturbing a copy would leave f's input unchanged.
        n = p.size
        if max_entries is not None and n > max_entries:
            idxs = np.sort(rng.choice(n, size=int(max_entries), replace=False))
        else:
            idxs = np.arange(n)
        best = (-1.0, 0, 0.0, 0.0)  # (ratio, C-order flat index, analytic, numeric)
        ea = er = fl = 0.0
        for i in idxs:
            at = tuple(int(j) for j in np.unravel_index(int(i), p.shape))
            x0 = p[at]
            p[at] = x0 + eps
            lp = _loss_of(f(work))
            p[at] = x0 - eps
            lm = _loss_of(f(work))
            p[at] = x0
            num = (lp - lm) / (2.0 * eps)
            fl = max(fl, unit * max(abs(lp), abs(lm)) / eps)
            a = float(g_an[k][at])
            err = abs(a - num)
            if not math.isfinite(err):
                err = math.inf
            scale = max(abs(a), abs(num))
            rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
            r = err / (atol + rtol * abs(num)) if math.isfinite(num) else math.inf
            ea, er = max(ea, err), max(er, rel)
            if r > best[0]:
                best = (r, int(i), a, num)
        abs_err[k], rel_err[k], ratio[k] = ea, er, max(best[0], 0.0)
        worst[k] = (tuple(int(j) for j in np.unravel_index(best[1], p.shape)), best[2], best[3])
        n_checked[k] = len(idxs)
        floor[k] = fl
    return GradCheckResult(abs_err, rel_err, ratio, worst, n_checked, floor, rtol, atol, eps)


def assert_grad_ok(
    f: Callable[[dict[str, np.ndarray]], Any],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray] | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    rng: np.random.Generator | None = None,
    max_entries: int | None = None,
) -> GradCheckResult:
    """:func:`check_grad`, raising ``AssertionError`` naming the worst entry on failure.

    Takes the same arguments as :func:`check_grad` and returns its result when it passes.
    The message names the parameter entry with the largest error relative to the
    tolerance, both values, and whether the error is at the finite-difference noise floor.
    """
    res = check_grad(f, params, grads, eps, rtol, atol, rng, max_entries)
    if not res.ok:
        k = res.worst_param
        assert k is not None
        idx, a, n = res.worst[k]
        hint = ""
        if abs(a - n) < 10.0 * res.noise_floor[k]:
            hint = (
                "\nthe error is within 10x the finite-difference noise floor "
                f"{res.noise_floor[k]:.1e}: raise atol above it rather than suspect the gradient"
            )
        raise AssertionError(
            f"gradient check failed; worst entry {k}{list(idx)}: analytic {a:.10g} vs "
            f"numeric {n:.10g} (abs err {abs(a - n):.3e}, {res.max_ratio[k]:.3g} x the "
            f"tolerance atol + rtol*|numeric| with rtol={res.rtol:g}, atol={res.atol:g})"
            + hint
            + "\n"
            + res.summary()
        )
    return res
