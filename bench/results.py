"""Figures as they are measured, their targets, and the verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field

BACKENDS = ("SQLite", "PostgreSQL")
PG_FACTOR = 3.0  # PostgreSQL: "no worse than 3× SQLite"


@dataclass(frozen=True)
class Target:
    """A bound on a figure: at most (`at_most=True`) or at least `bound`, in the figure's unit."""

    bound: float
    at_most: bool
    text: str

    def met(self, value: float) -> bool:
        """Whether `value` is within the bound."""
        return value <= self.bound if self.at_most else value >= self.bound


def at_most(bound: float, text: str) -> Target:
    """A figure that must not exceed `bound` (a time)."""
    return Target(bound, True, text)


def at_least(bound: float, text: str) -> Target:
    """A figure that must reach `bound` (a rate or a ratio)."""
    return Target(bound, False, text)


@dataclass
class Row:
    """One measurement, on each backend that ran it."""

    section: str
    label: str
    unit: str  # "s", "ms", "/s", "×", "MiB", "jobs", "rows"
    target: Target | None = None  # on SQLite
    pg_rule: bool = False  # PostgreSQL must be within PG_FACTOR of SQLite
    lower_is_better: bool = True
    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def verdicts(self) -> dict[str, bool | None]:
        """Met or missed, per backend (None: no target there)."""
        out: dict[str, bool | None] = {}
        for backend, value in self.values.items():
            if backend == "SQLite":
                out[backend] = self.target.met(value) if self.target else None
            elif self.pg_rule and "SQLite" in self.values:
                base = self.values["SQLite"]
                out[backend] = value <= base * PG_FACTOR if self.lower_is_better else value >= base / PG_FACTOR
            else:
                out[backend] = None
        return out


class Results:
    """Every row, in the order first measured."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Row] = {}
        self.skipped: list[str] = []
        self.sizes: dict[str, str] = {}
        self.generation: dict[str, dict[str, float]] = {}

    def add(
        self,
        section: str,
        label: str,
        backend: str,
        value: float,
        unit: str,
        *,
        target: Target | None = None,
        pg_rule: bool = False,
        lower_is_better: bool = True,
        note: str = "",
    ) -> float:
        """Record one figure (and return it)."""
        row = self.rows.get((section, label))
        if row is None:
            row = self.rows[(section, label)] = Row(section, label, unit, target, pg_rule, lower_is_better)
        row.values[backend] = value
        if note:
            row.notes[backend] = note
        return value

    def get(self, section: str, label: str, backend: str) -> float | None:
        """A figure measured earlier, if it was."""
        row = self.rows.get((section, label))
        return row.values.get(backend) if row else None

    def sections(self) -> list[str]:
        """Section names in measurement order."""
        return list(dict.fromkeys(r.section for r in self.rows.values()))
