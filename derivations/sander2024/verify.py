r"""The registered derivation ``sander2024`` (Sander et al. 2024): its settings, what is
reconstructed, and the verify function that runs the experiments.

What is checked: the sympy monomial derivations of (A1) and (N1) against the closed forms; the
augmented reduced flows (optimal one-step GD step sizes, conservation of $\alpha^2 - \beta^2$);
the trained block-structured attention against one step of GD for two laws of $s_0$, with the
scope of that statement (basis-diagonal parameters, the unconstrained attention); the (N0)
reduced flow for small sizes (minimum loss across $H$, head orthogonality for $H \le d$ and the
law of the off-diagonal ratio for $H > d$, one-hot positional weights with $c\,P_{t,t+1} = 1$,
the conserved quantity); real rotation blocks; Fig. 3 at the authors' sizes and protocol against their saved tensors (the
scale $c$, the structure, the positional ratio, the head overlap); the PE-only runs of Fig. 6
(frequency order and the number of GD steps to loss $< 10^{-3}$).

The paper's body was not available: the setup comes from the authors' public code and the
reduced losses are derivations (spec 3). Each claim's source says which: ``paper`` for the
paper's own statements (from its abstract: one GD step, orthogonal heads), ``derived`` for the
constants, rates and laws we or the spec derived. The experiments are in :mod:`.experiments`,
the claim functions in :mod:`.claims`, the registered findings in :mod:`.findings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from derivations.sander2024 import experiments as E
from derivations.sander2024 import experiments_authors as EA
from derivations.sander2024.findings import FINDINGS
from derivations.sander2024.reduced import augmented_shared_model
from dynamics.claims import Claim
from dynamics.registry import Derivation
from dynamics.validate import int_at_least, positive_int
from dynamics.verify import VerifyContext

__all__ = ["RECONSTRUCTED", "Settings", "derivation", "verify"]

RECONSTRUCTED = (
    "the paper's body was not read: models and losses come from the authors' public code (spec 1) "
    "and the reduced losses (A1), (N1) are derivations (spec 3), re-derived here by monomial expansion",
    "block-structured augmented attention (A0) without 1/t scaling; s_0 = 1/sqrt(d) (augmented) or unit moduli (N0)",
    "(N0) uses the previous token as the query (spec 1.3: the only choice that can represent s_{n+1})",
    "Fig. 3 at the authors' sizes: numpy's generator in place of their jax.random.PRNGKey(0), so K seeds "
    "of their init law (0.1 N(0, 1)) stand for their single draw (Settings.fig3_seeds, fig3_rotation_seeds)",
    "Figs. 5 and 7: the authors' models and data at their sizes (d = 5, n = 50) trained with a shorter protocol "
    "(Settings.haar_*; theirs by --set), minibatches drawn per update rather than per epoch",
)


@dataclass(frozen=True)
class Settings:
    """Sizes of the checks, the ``--set`` fields of ``dynamics verify sander2024`` (spec 1.1 for
    the augmented sizes).

    Attributes
    ----------
    d_aug, n_aug : int
        Dimension and number of positions of the shared-parameter augmented flow.
    d_diag, t_diag : int
        Dimension and number of pairs of the one-position diagonal augmented flow.
    d_n0, T_n0 : int
        Dimension and number of PE rows of the (N0) flows (at most 3 and 6: the flow's
        Hessian is generated symbolically).
    init_scale : float
        Standard deviation of the (N0) flows' random start, in (0, 1).
    fig3_seeds, fig3_rotation_seeds : int
        Seeds of the authors' Fig. 3 protocol, unitary and rotations (the same with
        ``--quick``: the spread of the positional ratio over seeds has a long tail that a few
        seeds miss); at least 2, for a spread.
    haar_train, haar_batch, haar_steps : int
        Figs. 5 and 7 protocol: training sequences, Adam minibatch and updates (``--quick``
        halves the minibatch and the updates). The authors': 16384, 1024, 3200 (docs/sander2024.md).
    haar_layers, haar_heads : int
        Largest depth (layers 1..haar_layers, Fig. 5) and largest head count (powers of two up
        to it, Fig. 7); the authors' default head count is 64.
    """

    d_aug: int = 5
    n_aug: int = 50
    d_diag: int = 3
    t_diag: int = 4
    d_n0: int = 2
    T_n0: int = 4
    init_scale: float = 0.05
    fig3_seeds: int = 64
    fig3_rotation_seeds: int = 16
    haar_train: int = 2048
    haar_batch: int = 128
    haar_steps: int = 500
    haar_layers: int = 2
    haar_heads: int = 4

    def __post_init__(self) -> None:
        for name in ("d_aug", "n_aug", "d_diag", "t_diag", "d_n0"):
            positive_int(name, getattr(self, name))
        int_at_least("T_n0", self.T_n0, 2)
        int_at_least("fig3_seeds", self.fig3_seeds, 2)
        int_at_least("fig3_rotation_seeds", self.fig3_rotation_seeds, 2)
        for name in ("haar_train", "haar_batch", "haar_steps", "haar_layers", "haar_heads"):
            positive_int(name, getattr(self, name))
        if self.haar_batch > self.haar_train:
            raise ValueError(f"haar_batch ({self.haar_batch}) must not exceed haar_train ({self.haar_train})")
        if self.d_n0 > 3 or self.T_n0 > 6:
            raise ValueError("d_n0 <= 3 and T_n0 <= 6: the (N0) flow's Hessian is generated symbolically")
        if not 0 < self.init_scale < 1:
            raise ValueError(f"init_scale must be in (0, 1), got {self.init_scale}")


def verify(ctx: VerifyContext) -> list[Claim]:
    """Run the experiments of :mod:`.experiments` stage by stage and return their claims."""
    s = ctx.settings if isinstance(ctx.settings, Settings) else Settings()
    claims: list[Claim] = ctx.claims  # kept, with the error, if a later stage raises
    with ctx.stage("derive (A1) and (N1) by monomial expansion"):
        claims += E.derive_reduced_losses(ctx)
    with ctx.stage("augmented: reduced flows"):
        claims += E.augmented_flows(ctx, s)
    with ctx.stage("augmented: numpy models against one-step GD"):
        claims += E.augmented_direct(ctx)
    with ctx.stage("non-augmented (N0): reduced flows across H"):
        flow_claims, ratios_gt = E.n0_flows(ctx, s)
        claims += flow_claims
    with ctx.stage("non-augmented (N0): head structure for H > d over many seeds"):
        claims.append(E.heads_many_seeds(ctx, ratios_gt))
    with ctx.stage("non-augmented (N0): numpy model against the reduced flow"):
        claims += E.n0_direct(ctx, s)
    with ctx.stage("non-augmented (N0): real rotation blocks"):
        claims.append(E.rotation(ctx, s))
    with ctx.stage("Fig. 3 at the authors' sizes against their saved tensors"):
        claims += EA.fig3_authors(ctx, s)
    with ctx.stage("PE-only attention against mu"):
        claims += E.pe_only(ctx, s)
    with ctx.stage("Figs. 5 and 7: the authors' models on Haar W against one-step GD"):
        claims += EA.haar_authors(ctx, s)
    return claims


derivation = Derivation(
    name="sander2024",
    title="Sander et al. 2024: in-context autoregressive learning (derived reduced losses and flows)",
    model=augmented_shared_model,
    verify=verify,
    reconstructed=RECONSTRUCTED,
    settings=Settings,
    findings=FINDINGS,
)
