"""R13: the expert review panel: assignment, scores, the ranked summary (the panel score itself is `lifecycle.panel`)."""

from workflow.review.panel import assign, review_states, reviewers, spread, unassign
from workflow.review.scores import LIST_HEADERS, criteria_fields, listing, parse_scores, score
from workflow.review.summary import headers, summary

__all__ = [
    "LIST_HEADERS",
    "assign",
    "criteria_fields",
    "headers",
    "listing",
    "parse_scores",
    "review_states",
    "reviewers",
    "score",
    "spread",
    "summary",
    "unassign",
]
