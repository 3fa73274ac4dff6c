"""Registered findings of ``musat2025``: claims known not to hold, with their explanation.

Both concern the transformer experiment as reconstructed here (spec 2.2, 3.2, 3.3), not the
paper's own setting, which we could not read. Issue 17 rebuilds both claims (a task in which
every supervised label is determined by the preceding tokens, stacked heads that form in most
seeds, roles confirmed by ablation, a snapshot grid with a tie tolerance). Until then they are
findings about our reconstruction. The numbers quoted are those of the default run
(``dynamics verify musat2025``: 8 IC-B seeds, 4000 Adam steps, 31 snapshots) unless marked
``--quick`` (5 seeds, 3000 steps, 16 snapshots). The undetermined-label fraction is measured
by :func:`derivations.musat2025.data.undetermined_fraction` (recorded in the curriculum claim's
details at every run; the test checks the number quoted here).
"""

from __future__ import annotations

from dynamics.claims import Finding

__all__ = ["FINDINGS", "IC_A_UNDETERMINED_2HOP"]

#: Measured fraction of IC-A's 2-hop statement labels that the preceding tokens do not
#: determine: 4096 examples of the default task (2 chains of depth 2), generator
#: ``np.random.default_rng([0, 500])`` (``ctx.rng(500)`` at the default seed 0). Expectation 1/2.
IC_A_UNDETERMINED_2HOP = 0.504

FINDINGS = (
    Finding(
        claim="musat2025.curriculum",
        summary="IC-A as we reconstructed it does not learn the query within the budget, because it "
                "supervises labels that a causal model cannot know and never poses an easy query at "
                "the query position; this says nothing yet about the paper's curriculum claim.",
        shows="In the default run (4000 steps), final 2-hop query accuracy: IC-A 0.47 and no curriculum 0.49, both at in-context chance "
              "(0.5); IC-B reaches >= 0.9 in 3 of 8 seeds (0.98, 0.96, 0.90; the others 0.54-0.84; "
              "--quick: 1 of 5), "
              "so the claim's measured value is {ic_a: no, ic_b: yes, none: no} against the predicted "
              "{yes, yes, no}. IC-A labels every dst token with its chain's value, but the statements "
              "are shuffled and attention is causal: a k-hop label is determined by the tokens up to "
              "it only when its k - 1 ancestor statements come earlier (probability 1/k). Measured with "
              f"the task generator: {IC_A_UNDETERMINED_2HOP} of the 2-hop labels (4096 examples; "
              "expectation 1/2, sampling error 0.006) and none of the 1-hop labels are undetermined, "
              "so a quarter of IC-A's statement labels cannot be learned, while its query is always "
              "the 2-hop one.",
        ruled_out="The threshold: IC-A ends at chance, far below the 0.9 threshold, not near it. The "
                  "budget and the training itself: one IC-A run (seed 0) trained for 8000 steps, twice "
                  "the budget, answers the query at chance (0.49, 0.48 for 1 and 2 hops) while it has "
                  "learned every label it can: accuracy 1.0 on the 1-hop and 0.999 on the determined "
                  "2-hop statement labels, 0.26 on the undetermined ones (a guess among the 4 values is "
                  "0.25; measured once, outside the verify run, with the snippet in docs/musat2025.md). "
                  "The measurement: every regime is evaluated at the query position on the same held-out "
                  "batch, and the generator's labels resolve by following the links "
                  "(musat2025.generator). Not ruled out, and to be fixed by issue 17: IC-A gets 1 seed "
                  "against 8 for IC-B (learned = any seed), and the IC-A task itself, which asks for "
                  "undetermined labels.",
        bears_on="reconstruction",
    ),
    Finding(
        claim="musat2025.order-seeds",
        summary="The only head roles that form in enough seeds to be compared are the previous-token "
                "head and the hop-1 read-out head, two co-requisites of one induction-like circuit, "
                "and their order is read off snapshots 133 steps apart (200 with --quick) with no tie "
                "tolerance, so the "
                "swaps measure neither the paper's order of stacked heads nor their emergence.",
        shows="In the default run, Kendall tau over the 21 seed pairs that share two roles: 9 pairs +1, 12 pairs -1 "
              "(smallest -1). The previous-token role ('prev') comes first in 4 of the 7 seeds where "
              "both roles form. The two roles' emergence steps differ by 52-483 steps, i.e. 0.4-3.6 "
              "snapshot intervals (3 of 7 seeds within 1.5). A hop-2 retrieval role forms in none of the 8 "
              "seeds, so stacked heads cannot be ordered. In all 8 seeds the 1-hop query accuracy "
              "crosses its threshold (0.75) 40-433 steps before either head's score reaches 0.5, so the "
              "0.5 score times a later sharpening of heads that already carry the 1-hop answer, not their emergence "
              "(--quick: 4 of 5 seeds; in seed 0 the previous-token score leads by 31 steps, a sixth of "
              "its 200-step snapshot interval).",
        ruled_out="The order of the stages is not in question: 1-hop queries are learned before 2-hop "
                  "queries in 8 of 8 seeds (musat2025.bridge-order: 658-2157 steps apart, 5-16 "
                  "snapshot intervals, in the 6 seeds where both cross; in the other 2 the 2-hop queries are "
                  "not learned within 4000 steps). Not ruled out, and to be fixed by issue 17: the pair compared "
                  "(R1 gives heads needed by the same class the same drive, so it predicts no fixed "
                  "order within a class), the snapshot resolution and the missing tie tolerance, and "
                  "roles identified by attention pattern only, without ablation.",
        bears_on="reconstruction",
    ),
)
