"""Drawing a :class:`~dynamics.phase.result.PhaseResult` (the body of ``PhaseResult.plot``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics.phase.result import POINT_DONE, POINT_FAILED, _atomic

if TYPE_CHECKING:
    from dynamics.phase.result import PhaseResult

__all__ = ["plot_result"]


def plot_result(
    res: PhaseResult, path: str | os.PathLike[str] | None = None, quantity: str | None = None
) -> Any:
    """Draw the diagram; save to ``path`` if given. Returns the matplotlib figure.

    2-D: the base grid's classes as a ``pcolormesh`` (failed/pending points hatched out
    in grey), refined points as dots in their class colour, a legend of class labels.
    1-D: class vs ``x`` (top) and ``quantity`` (default: the first measured one) vs ``x``.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    ok = res.status == POINT_DONE
    present = sorted({int(c) for c in res.classes[ok]})
    cmap_base = plt.get_cmap("tab10" if len(present) <= 10 else "tab20")
    colour = {c: cmap_base(k % cmap_base.N) for k, c in enumerate(present)}
    handles = [Patch(color=colour[c], label=res.label(c)) for c in present]
    if np.any(res.status == POINT_FAILED):
        handles.append(Patch(color="0.6", label="failed"))
    title = f"{res.config.get('model', '')}: {res.config.get('classify', '')}"
    xa = res.x_axis
    if res.y_axis is None:
        fig, ax = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
        order = np.argsort(res.x)
        xs, cs, st = res.x[order], res.classes[order], res.status[order]
        for c in present:
            m = (cs == c) & (st == POINT_DONE)
            ax[0].scatter(xs[m], cs[m], color=colour[c], s=18, zorder=3)
        ax[0].step(xs[st == POINT_DONE], cs[st == POINT_DONE], where="mid", color="0.5", lw=1)
        bad = st == POINT_FAILED
        if np.any(bad):
            ax[0].scatter(xs[bad], np.full(bad.sum(), -0.5), marker="x", color="0.4")
        ax[0].set(ylabel="class", title=title)
        ax[0].set_yticks(present, [res.label(c)[:18] for c in present], fontsize=7)
        if handles:
            ax[0].legend(handles=handles, fontsize=8, loc="best")
        qname = quantity or next(iter(res.quantities), None)
        if qname is not None:
            qv = res.quantities[qname][order]
            ax[1].plot(xs[st == POINT_DONE], qv[st == POINT_DONE], "o-", ms=3)
            ax[1].set(ylabel=qname)
        ax[1].set(xlabel=xa.param)
        if xa.log:
            ax[1].set_xscale("log")
    else:
        ya = res.y_axis
        fig, ax0 = plt.subplots(figsize=(7, 5.5))
        g = res.grid()
        xs, ys = xa.values, ya.values
        idx = np.full(g.shape, np.nan)
        for k, c in enumerate(present):
            idx[g == c] = k
        ax0.set_facecolor("0.6")
        if present:
            cm = ListedColormap([colour[c] for c in present])
            norm = BoundaryNorm(np.arange(len(present) + 1) - 0.5, len(present))
            ax0.pcolormesh(
                _edges(xs, xa.log),
                _edges(ys, ya.log),
                np.ma.masked_invalid(idx).T,
                cmap=cm,
                norm=norm,
                shading="flat",
            )
        else:  # nothing succeeded: an all-grey diagram over the axes' extent
            ex, ey = _edges(xs, xa.log), _edges(ys, ya.log)
            ax0.set(xlim=(ex[0], ex[-1]), ylim=(ey[0], ey[-1]))
            ax0.text(0.5, 0.5, "no point succeeded", transform=ax0.transAxes,
                     ha="center", va="center")
        ref = (res.level > 0) & ok
        if np.any(ref):
            px, py = res.x[ref], ya.value(res.iy[ref])
            ax0.scatter(
                px,
                py,
                c=[colour[int(c)] for c in res.classes[ref]],
                s=14,
                edgecolors="k",
                linewidths=0.4,
                zorder=3,
            )
        ax0.set(xlabel=xa.param, ylabel=ya.param, title=title)
        if xa.log:
            ax0.set_xscale("log")
        if ya.log:
            ax0.set_yscale("log")
        if handles:
            ax0.legend(handles=handles, fontsize=8, loc="best")
    fig.tight_layout()
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fmt = target.suffix.lstrip(".").lower() or "png"
        try:
            with _atomic(target) as f:  # a killed run never leaves a partial figure
                fig.savefig(f, dpi=110, format=fmt)
        finally:
            plt.close(fig)
    return fig



def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    if v.size == 1:
        return np.array([v[0] * 0.9, v[0] * 1.1]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


