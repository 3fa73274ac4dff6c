r"""Claims of ``sander2024`` against the authors' own runs: Fig. 3 at their sizes compared with
their saved tensors (spec 3.2, 3.3), and the non-commuting experiments of Figs. 5 and 7
against the one-step-GD baselines (spec 5).

The authors drew one initialisation; we draw ``K`` from the same law, so a claim about a
number of theirs compares their single draw with the law of ours: their value minus our mean
has standard deviation $\sigma\sqrt{1 + 1/K}$ ($\sigma$ the spread over seeds), and three of
those (:func:`draw_tolerance`) is the tolerance. Both sides are measured, neither is fitted.
"""

from __future__ import annotations

import numpy as np

from dynamics.claims import Claim, check, check_equal

__all__ = ["claim_haar_mse_normalisation", "claim_haar_order", "resolved_order", "draw_tolerance", "small_init_abs_c", "claim_fig3_c", "claim_fig3_structure", "claim_fig3_ratio", "claim_fig3_offdiag"]


def draw_tolerance(values: np.ndarray) -> float:
    r"""Three standard deviations of (one new draw minus the mean of ``values``):
    $3\,\hat\sigma\sqrt{1 + 1/K}$, $\hat\sigma$ the sample standard deviation of the ``K``
    values."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be a 1-d array of at least 2 seeds, got shape {v.shape}")
    return float(3.0 * np.std(v, ddof=1) * np.sqrt(1.0 + 1.0 / v.size))


def small_init_abs_c(kind: str, d: int = 10, H: int = 10, T: int = 20) -> float:
    r"""The small-initialisation scale (spec 3.2, 3.3): $|c|^3 = (T-1)/\min(H, d)$ (unitary),
    $5(T-1)/(4d)$ (rotations, $H \ge d/2$); the negative control of :func:`claim_fig3_c`,
    which leaves out the authors' init scale 0.1."""
    return float(((T - 1) / min(H, d)) ** (1 / 3) if kind == "unitary" else (5 * (T - 1) / (4 * d)) ** (1 / 3))


def claim_fig3_c(kind: str, authors_c: float, abs_c: np.ndarray, details: dict | None = None,
                 predicted: float | None = None) -> Claim:
    r"""``sander2024.fig3-{kind}-c``: the scale $|c|$ of $B^\top A = c\,\Pi$ in the authors'
    saved tensor against the mean over our seeds of the same protocol (``predicted``
    overrides the authors' value: negative controls)."""
    what = ("unitary.py: d = 10, T = 20, H = 10, GD lr 0.01 for 100 steps" if kind == "unitary"
            else "orthogonal.py: d = 10, T = 20, H = 8, GD lr 1e-3 for 1e5 steps")
    tol = draw_tolerance(abs_c)
    return check(
        f"sander2024.fig3-{kind}-c", f"Fig. 3 at the authors' sizes ({what}; their coded loss, init "
        "0.1 N(0, 1)): the scale |c| of B^T A = c Pi in the authors' saved tensor (spec 3.2, 3.3) equals "
        f"the mean |c| over our {abs_c.size} seeds of the same protocol that reached the zero-loss minimum "
        "within the authors' number of steps, as their run did.",
        abs(authors_c) if predicted is None else predicted, float(np.mean(abs_c)), tol=tol, source="paper",
        negative_controls={"small-init law": small_init_abs_c(kind, H=10 if kind == "unitary" else 8)},
        why="|c| is fixed by the conserved Q0 = ||A||^2 + ||B||^2 - 2||P||^2 and A A^T - B B^T of the "
            "initialisation, so it varies from seed to seed; the authors' value is one draw (their JAX "
            "key 0, which numpy cannot reproduce), so it must lie within three standard deviations of "
            f"such a draw minus our mean, 3 sd sqrt(1 + 1/K) = {tol:.4f} (sd over our seeds).",
        details=details)


def claim_fig3_structure(kind: str, cP: float, others: float, loss: float, residual: float,
                         details: dict | None = None, offdiag: float | None = None) -> Claim:
    r"""``sander2024.fig3-{kind}-structure``: at the authors' protocol every seed that reached
    the zero-loss minimum in their number of steps ends at the structure of the saved tensors: $c\,P_{t,t+1} = 1$,
    other PE entries 0, loss 0, $B^\top A = c\,\Pi$ (spec 3.2, 3.3 Props. C, D)."""
    return check(
        f"sander2024.fig3-{kind}-structure", f"Fig. 3 ({kind}), the authors' protocol: every seed with final loss below 0.1 ends at the "
        "structure of the authors' saved tensors: mean c P_{t,t+1} = 1, the largest other effective PE "
        "entry 0 (" + ("all j != t+1" if kind == "unitary" else "j not in {t, t+1}") + "), the largest "
        "final loss 0 and the largest relative residual ||C - c Pi|| / ||C|| 0 (spec 3.2, 3.3; the saved "
        "tensors have other entries below 4e-10 (unitary) and 2.1e-7 (rotations))"
        + ("; with H = d the heads are orthogonal, the largest off-diagonal ratio of A B^T 0 (the paper's "
           "abstract; saved tensor 5.5e-8)." if offdiag is not None else "."),
        [1.0, 0.0, 0.0, 0.0] + ([0.0] if offdiag is not None else []),
        [cP, others, loss, residual] + ([offdiag] if offdiag is not None else []), tol=1e-3, source="derived",
        negative_controls={"no one-hot weight (c P_{t,t+1} = 0)": [0.0] * (5 if offdiag is not None else 4)},
        why="once C has formed, the other PE entries shrink by 1 - 2 lr ||C||_F^2 per step (0.71 per step "
            "for the unitary lr 0.01, ||C||^2 = 14.4; the rotation run has 1e5 steps), so a seed whose C "
            "forms in the first two thirds of the run ends below 1e-4; 1e-3 allows a slower seed, while "
            "a wrong structure is O(0.1-1) (a non-zero loss of the other basin is 1.7).",
        details=details)


def claim_fig3_ratio(authors_ratio: float, ratios: np.ndarray, details: dict | None = None,
                     predicted: float | None = None) -> Claim:
    r"""``sander2024.fig3-rotation-ratio``: the trigonometric PE ratio $P_{t,t}/P_{t,t+1}$ of
    the authors' saved tensor against the mean over our seeds in the zero-loss basin."""
    tol = draw_tolerance(ratios)
    return check(
        "sander2024.fig3-rotation-ratio", "Fig. 3, rotations (orthogonal.py protocol): the positional ratio "
        "P_{t,t}/P_{t,t+1} of the authors' saved tensor, -0.49988 (spec 3.3; -1/2 at the minimum, "
        f"s_{{t+1}} + s_{{t-1}} = 2 cos(theta) s_t), equals the mean over our {ratios.size} seeds of the same "
        "protocol (the spread over seeds, ~1e-4, does not resolve the authors' distance from -1/2).",
        authors_ratio if predicted is None else predicted, float(np.mean(ratios)), tol=tol, source="paper",
        negative_controls={"no trigonometric weight (0)": 0.0, "the other end state (3.7)": 3.7},
        why="after 1e5 steps the ratio is still approaching -1/2 at a rate that depends on the seed (slow "
            "modes of the flow), so the authors' value is one draw of that spread: three standard "
            f"deviations of a draw minus our mean, 3 sd sqrt(1 + 1/K) = {tol:.2e}.",
        details=details)


def claim_fig3_offdiag(authors_r2: float, law_mean: float, law_sd: float, details: dict | None = None,
                       predicted: float | None = None) -> Claim:
    r"""``sander2024.fig3-rotation-offdiag``: with $H = 8$ heads and a rank-5 optimum the heads
    cannot be orthogonal; $r^2$ of $AB^\top$ in the authors' tensor is a draw of the law of a
    uniformly random 5-plane in $\mathbb R^8$, mean $(H-k)/(H+2) = 0.3$
    (:func:`.closed_forms.haar_offdiag_r2_mean`); our seeds' mean is in the details."""
    tol = float(3.0 * law_sd)
    return check(
        "sander2024.fig3-rotation-offdiag", "Fig. 3, rotations (H = 8 heads, B^T A of rank k = d/2 = 5): the "
        "squared off-diagonal ratio r^2 of A B^T in the authors' saved tensor (0.59^2, spec 3.3) is a draw "
        f"of the law of a uniformly random head subspace, mean (H-k)/(H+2) = {law_mean:.3f} (derived: the "
        "loss depends on A, B only through B^T A and the init is O(H)-invariant).",
        law_mean if predicted is None else predicted, authors_r2, tol=tol, source="derived",
        negative_controls={"orthogonal heads (0)": 0.0},
        why=f"one draw of the law (sd {law_sd:.3f}, sampled exactly): three of its standard deviations. A "
            "single draw cannot tell (H-k)/(H+2) from nearby laws such as (H-k)/H; our many-seed mean (details) "
            "and the claim heads-not-orthogonal test the law itself.",
        details=details)


# ---------------------------------------------------------------------- Figs. 5 and 7 (Haar W)
def resolved_order(per_seq: dict[str, np.ndarray], z: float = 3.0) -> list[str]:
    """Labels sorted by their mean test loss (ascending); neighbours whose paired difference over
    the same test sequences is within ``z`` standard errors are joined by ``" ~ "`` (not resolved)."""
    if len(per_seq) < 2:
        raise ValueError("per_seq must hold at least 2 labelled loss arrays")
    order = sorted(per_seq, key=lambda k: float(np.mean(per_seq[k])))
    groups = [[order[0]]]
    for a, b in zip(order, order[1:], strict=False):
        diff = np.asarray(per_seq[b]) - np.asarray(per_seq[a])
        se = float(np.std(diff, ddof=1) / np.sqrt(diff.size))
        if float(np.mean(diff)) > z * se:
            groups.append([b])
        else:
            groups[-1].append(b)
    return [" ~ ".join(g) for g in groups]


def claim_haar_mse_normalisation(zero_mse: float, d: int, n: int) -> Claim:
    """``sander2024.haar-mse-normalisation``: the zero predictor's test loss in our
    normalisation is the authors' ``nn.MSELoss`` value $1/d$ (unit-norm states)."""
    return check(
        "sander2024.haar-mse-normalisation", "Figs. 5 and 7 baselines use the authors' normalisation "
        "(nn.MSELoss: mean over sequences, positions and coordinates): the zero predictor's test loss is "
        f"||s_t||^2 / d = 1/d = {1 / d:g} (d = {d}; W orthogonal and ||s_0|| = 1 keep every state on the sphere).",
        1.0 / d, zero_mse, tol=1e-12, source="calibration",
        negative_controls={f"sum over the {n} positions": n / d, "no mean over coordinates": 1.0},
        why="an identity up to round-off (1e-16 per term, 5e4 terms).")


def claim_haar_order(kind: str, predicted: list[str], measured: list[str], controls: dict[str, list[str]],
                     details: dict | None = None) -> Claim:
    """``sander2024.haar-{kind}``: the order of the test losses of the trained models and the
    baselines (``kind`` ``"aug-layers"``, Fig. 5, or ``"nonaug-heads"``, Fig. 7)."""
    what = {"aug-layers": "Fig. 5 (augmented tokens, the authors' architecture, Haar O(5), d = 5, n = 50): "
                          "the test losses of the trained L-layer models against the one-step-GD baselines, "
                          "ascending. Prediction: each added layer lowers the loss, and one layer already beats "
                          "one GD step with a step per position, as the block and unconstrained attentions "
                          "beat one GD step with the authors' fixed s_0 in the commuting case (claims "
                          "block-equals-gd.fixed, unconstrained-vs-gd); one GD step beats the zero predictor.",
            "nonaug-heads": "Fig. 7 (non-augmented tokens, the authors' architecture, Haar O(5), d = 5, n = 50): "
                            "the test losses of the trained H-head models with H <= d, ascending (larger H are "
                            "reported, not claimed). Prediction: each doubling of H up to d lowers the loss (the commuting theory's minimum falls with H until "
                            "H = d, spec 3.2, 5), and every model beats the zero predictor."}[kind]
    return check_equal(
        f"sander2024.haar-{kind}", what, predicted, measured, source="derived",
        negative_controls=controls,
        why="an order, compared exactly; two neighbours count as ordered only when their paired difference over "
            "the same 1024 test sequences exceeds three standard errors (else they are joined by ' ~ ' and the "
            "order differs from the prediction). One training run per model (the authors' sweeps are not "
            "public; their figure has one curve per size).",
        details=details)
