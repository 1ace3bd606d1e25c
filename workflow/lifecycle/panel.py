"""R13: a transition whose conditions include the panel's (`evaluate`) is written with the panel's score.

The hook runs after the rules passed, on the facts they looked at, in the single path (`engine.decide`) and in
the bulk path (`bulk.BulkRun`) alike: the case gets the combined score of its submitted reviews and each
criterion's mean, unless org gave an explicit score, which is an override (it needs its reason, the input's
`requires`) and is audited as 人工覆盖 with the panel's own score beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.spec import TransitionSpec
from workflow.spec.rules import Facts

CONDITION = "r13_enough_reviews"
OVERRIDE = "人工覆盖"


def derive(transition: TransitionSpec, facts: Facts, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The inputs the transition is written with: `inputs` itself, or with the panel's score and means."""
    if CONDITION not in transition.conditions:
        return inputs
    panel = {"reviews": facts.reviews_in, "score": facts.panel_score}
    if "score" in inputs:
        return {**inputs, "panel": {**panel, "override": True}}
    return {**inputs, **facts.panel_means, "score": facts.panel_score, "panel": panel}


def comment(inputs: Mapping[str, Any], comment: str) -> str:
    """The history row's comment: an override says 人工覆盖, the panel's own score and the reason first."""
    panel = inputs.get("panel")
    if not isinstance(panel, dict) or not panel.get("override"):
        return comment
    own = f"专家组评分 {panel['score']:g}" if panel.get("score") is not None else "尚无专家组评分"
    head = f"{OVERRIDE}（{own}，{panel.get('reviews', 0)} 份评审意见）：{inputs.get('reason', '')}"
    return f"{head}；{comment}" if comment else head
