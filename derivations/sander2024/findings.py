"""Registered findings of ``sander2024``: claims known not to hold, with their explanation.

One finding, about the scope of the paper's augmented-token statement ("a trained one-layer
linear Transformer implements one step of gradient descent", spec 0 and 4, Thm. B, whose exact
assumptions we could not read). The numbers quoted are those of ``dynamics verify sander2024``
(identical with ``--quick``): d = 2, T = 6 positions, complex unitary W, exact quadrature data,
block-structured attention (A0) trained by GD (lr 0.1, 2000 steps, from A = B = 0.1 I). Each
run records them again in the claim's details (``gd_loss``, ``grad_max``, ``restarts_min``,
``restarts_max``, ``diagonal_min``, ``fine_grid_loss``, ``per_position_gd_loss``).
"""

from __future__ import annotations

from dynamics.claims import Finding

__all__ = ["FINDINGS"]

FINDINGS = (
    Finding(
        claim="sander2024.block-equals-gd.fixed",
        summary="With the authors' fixed s_0 = 1/sqrt(d), the trained block-structured attention is "
                "not one step of gradient descent: it leaves isotropy and reaches a lower loss than "
                "the best single GD step, so the paper's GD statement needs more than the block "
                "structure (basis-diagonal parameters, or a rotation-invariant law of s_0).",
        shows="Loss 2.62482 against 2.78571 for the best shared-step one-step GD (6% lower); "
              "alpha*beta = 0.4569 against 3/7 = 0.4286; predictions differ from GD's by up to 0.385. "
              "The trained matrices are A = [[0.684, -0.031], [-0.031, 0.684]] and "
              "B = [[0.668, -0.135], [-0.135, 0.668]]: a I + c (J - I) with c < 0. The pair t' = 1 "
              "contains the known s_0, which the off-diagonal entries exploit. The two ways to restore "
              "the statement both hold in the same run: with basis-diagonal A, B (fixed s_0) the "
              "optimum is exactly GD's 2.78571 (claim block-equals-gd.fixed-diagonal), and with "
              "random-phase s_0 and full A, B the trained model is exactly one GD step (claim "
              "block-equals-gd.random_phase). It does not beat GD with a separate step per position "
              "(2.45): the gain is over a single shared step, which is what the statement compares "
              "with. The unconstrained attention (claim unconstrained-vs-gd) beats GD by more still.",
        ruled_out="Optimiser convergence: the GD end state has gradient entries below 1e-14, L-BFGS "
                  "from it does not move the loss, and L-BFGS from 8 random starts (normal, scale 0.5) "
                  "reaches 2.62482 every time, so no lower or higher minimum was missed. The GD "
                  "baseline: the step is the exact least-squares step over all positions (a quadratic "
                  "in eta), 0.428571 = 3d/(2n+3d-4), and its loss equals the closed form (A1) summed "
                  "over positions, 2.785714, to 1e-15. The loss normalisation: both losses are the "
                  "same function (sum over the 6 positions, quadrature weights summing to 1), and the "
                  "block model evaluated at A = B = sqrt(3/7) I gives GD's loss to 1e-15. The data: the "
                  "grid of 3T - 3 angles is exact for this model (degree <= 3T - 4); the trained "
                  "parameters give the same loss on a 4T + 1 grid to 1e-12.",
        bears_on="paper",
    ),
)
