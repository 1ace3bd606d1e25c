"""The results as a console table and as bench/RESULTS.md."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

from bench.results import BACKENDS, PG_FACTOR, Results, Row


def fmt(value: float | None, unit: str) -> str:
    """A figure with its unit, rounded for reading."""
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:,.2f} s"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "×":
        return f"{value:,.2f}×" if value < 10 else f"{value:,.0f}×"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    return f"{value:,.0f} {unit}"


def verdict(row: Row, backend: str) -> str:
    """'met', 'MISSED' or '' for one backend's figure."""
    found = row.verdicts().get(backend)
    return "" if found is None else ("met" if found else "MISSED")


def _cells(row: Row, backends: Sequence[str]) -> list[str]:
    cells = [row.label]
    for b in backends:
        text = fmt(row.values.get(b), row.unit)
        mark = verdict(row, b)
        if mark:
            text += f" ({mark})"
        cells.append(text)
    target = row.target.text if row.target else ""
    if row.pg_rule:
        target = f"{target}; PostgreSQL ≤ {PG_FACTOR:g}× SQLite".lstrip("; ")
    cells.append(target)
    notes = "; ".join(f"{b}: {n}" if len(row.notes) > 1 else n for b, n in row.notes.items())
    cells.append(notes)
    return cells


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def console(results: Results, backends: Sequence[str]) -> str:
    """Aligned text tables, one per section."""
    lines: list[str] = []
    heads = ["measurement", *backends, "target", "notes"]
    for section in results.sections():
        rows = [_cells(r, backends) for r in results.rows.values() if r.section == section]
        widths = [max(_width(c[i]) for c in [heads, *rows]) for i in range(len(heads))]
        lines += ["", f"== {section}"]
        for cells in [heads, *rows]:
            lines.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip())
    for line in results.skipped:
        lines.append(f"skipped: {line}")
    return "\n".join(lines)


def markdown(results: Results, backends: Sequence[str]) -> str:
    """Markdown tables, one per section."""
    out: list[str] = []
    for section in results.sections():
        out += [
            "",
            f"### {section}",
            "",
            "| measurement | " + " | ".join(backends) + " | target | notes |",
            "|---" * (len(backends) + 3) + "|",
        ]
        for r in results.rows.values():
            if r.section == section:
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(r, backends)) + " |")
    if results.skipped:
        out += ["", *(f"- skipped: {line}" for line in results.skipped)]
    return "\n".join(out)


def verdicts(results: Results) -> list[str]:
    """One line per figure that has a target: met or missed, on which backend."""
    out = []
    for r in results.rows.values():
        for backend, ok in r.verdicts().items():
            if ok is None:
                continue
            rule = r.target.text if backend == "SQLite" and r.target else f"≤ {PG_FACTOR:g}× SQLite"
            out.append(
                f"- {'met' if ok else '**MISSED**'} — {r.section}: {r.label} on {backend}: {fmt(r.values[backend], r.unit)} (target {rule})"
            )
    return out


def write(path: Path, results: Results, header: Sequence[str], machine: Sequence[tuple[str, str]], analysis: str) -> None:
    """bench/RESULTS.md: what ran where, the tables, the verdicts, and the analysis."""
    backends = [b for b in BACKENDS if any(b in r.values for r in results.rows.values())]
    lines = [*header, "", "## Machine", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in machine), ""]
    if results.sizes:
        lines += ["## Sizes", "", *(f"- {k}: {v}" for k, v in results.sizes.items()), ""]
    if results.generation:
        lines += ["## Data generation (bulk inserts; not a target)", ""]
        for what, per in results.generation.items():
            lines.append(f"- {what}: " + ", ".join(f"{b} {s:.1f} s" for b, s in per.items()))
        lines.append("")
    lines += ["## Results", markdown(results, backends), "", "## Targets", "", *verdicts(results), ""]
    if analysis:
        lines += [analysis.rstrip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
