"""R13: the expert panel's criteria and how its reviews combine into one panel score (pure, from `rules.review`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

COMBINE = ("mean", "trimmed_mean")
# trimmed_mean drops the highest and the lowest total once a case has at least this many reviews.
TRIM_FROM = 5
# Every criterion is scored within this range (a form's minimum and maximum; `review.parse_scores` checks it).
SCORE_MIN, SCORE_MAX = 0, 100


@dataclass(frozen=True)
class Criterion:
    """One of the seven requirements a reviewer scores (0–100), and its weight in the total."""

    id: str
    label: str
    weight: float


DEFAULT_CRITERIA = (
    Criterion("focus", "聚焦主题", 15),
    Criterion("feature", "凝炼特色", 15),
    Criterion("quality", "提升质量", 15),
    Criterion("effect", "突出成效", 15),
    Criterion("process", "注重过程", 15),
    Criterion("promotion", "推广经验", 15),
    Criterion("long_term", "放眼长远", 10),
)


def two_decimals(value: float) -> float:
    """Rounded half up to two decimals (88.335 → 88.34), as the panel score is kept."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ReviewSettings:
    """`rules.review`: the criteria, the minimum number of reviews, how they combine, conflict of interest."""

    criteria: tuple[Criterion, ...] = DEFAULT_CRITERIA
    min_reviews: int = 3
    combine: str = "mean"
    exclude_own_committee: bool = True

    def criterion(self, key: str) -> Criterion | None:
        """A criterion by its id or its Chinese label."""
        key = key.strip()
        return next((c for c in self.criteria if key in (c.id, c.label)), None)

    def total(self, scores: Mapping[str, float]) -> float:
        """One review's total: the weighted sum of its criterion scores (weights sum to 100), two decimals."""
        return two_decimals(sum(scores[c.id] * c.weight for c in self.criteria) / 100)

    def kept(self, totals: Sequence[float]) -> list[int]:
        """Indexes of the reviews that count: all, or with trimmed_mean and enough reviews all but
        one highest and one lowest total."""
        order = sorted(range(len(totals)), key=lambda i: (totals[i], i))
        if self.combine == "trimmed_mean" and len(totals) >= TRIM_FROM:
            order = order[1:-1]
        return sorted(order)

    def panel(self, totals: Sequence[float]) -> float | None:
        """The panel score of these review totals (None without reviews), two decimals."""
        kept = [totals[i] for i in self.kept(totals)]
        return two_decimals(sum(kept) / len(kept)) if kept else None

    def means(self, reviews: Sequence[Mapping[str, float]], totals: Sequence[float]) -> dict[str, float]:
        """Each criterion's mean over the reviews that count (see `kept`; `totals` are theirs), two decimals."""
        kept = [reviews[i] for i in self.kept(totals)]
        out = {}
        for c in self.criteria:
            given = [r[c.id] for r in kept if c.id in r]
            if given:
                out[c.id] = two_decimals(sum(given) / len(given))
        return out
