"""R13: the expert review panel: assignment, scores, the ranked summary (the panel score itself is `lifecycle.panel`)."""

from workflow.review.panel import assign, review_states, spread, unassign
from workflow.review.scores import LIST_HEADERS, listing, parse_scores, score
from workflow.review.summary import headers, summary

__all__ = ["LIST_HEADERS", "assign", "headers", "listing", "parse_scores", "review_states", "score", "spread", "summary", "unassign"]
