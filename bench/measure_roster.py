"""Roster import of a national roster, CSV (GBK) and .xlsx, through `workflow.roster.import_file`."""

from __future__ import annotations

import time
from pathlib import Path

from bench import backends, data
from bench.results import Results, at_most
from bench.timing import in_child


def section(branches: int) -> str:
    """The section title."""
    return f"roster import of {branches:,} branches"


def write_files(workdir: Path, branches: int) -> tuple[Path, Path, float]:
    """The roster as GBK CSV and as .xlsx; returns the paths and the seconds spent writing them."""
    t0 = time.perf_counter()
    rows = data.roster(branches)
    csv_path = data.write_csv(workdir / "roster.csv", rows)
    xlsx_path = data.write_xlsx(workdir / "roster.xlsx", rows)
    return csv_path, xlsx_path, time.perf_counter() - t0


def read_only(csv_path: Path, xlsx_path: Path, results: Results, branches: int, labels: list[str]) -> None:
    """Reading and validating alone (no database), once: where an import's time goes."""
    from workflow.intake import roster, tabular

    name = section(branches)
    for what, path in (("CSV", csv_path), ("xlsx", xlsx_path)):
        t0 = time.perf_counter()
        table = tabular.read(path, sheet="支部名单")
        read = time.perf_counter() - t0
        roster.parse_rows(table)
        checked = time.perf_counter() - t0 - read
        for label in labels:
            results.add(name, f"{what}: read the file (no database)", label, read, "s")
            results.add(name, f"{what}: validate every row (no database)", label, checked, "s")


def measure(results: Results, kind: str, workdir: Path, csv_path: Path, xlsx_path: Path, branches: int) -> None:
    """Import into a fresh campaign (all created), import the CSV again (all updated), and the .xlsx into another."""
    name = section(branches)
    db = backends.create(kind, workdir, "roster_csv")
    try:
        data.empty_campaign(db)
        first, again = in_child(run_import, db.url, str(csv_path), 2)
    finally:
        db.drop()
    results.add(name, "CSV (GBK): import into an empty campaign", db.label, first, "s", target=at_most(5, "≤ 5 s"), pg_rule=True)
    results.add(name, "CSV (GBK): import again (every branch updated)", db.label, again, "s", pg_rule=True)
    db = backends.create(kind, workdir, "roster_xlsx")
    try:
        data.empty_campaign(db)
        (first,) = in_child(run_import, db.url, str(xlsx_path), 1)
    finally:
        db.drop()
    results.add(name, "xlsx: import into an empty campaign", db.label, first, "s", target=at_most(20, "≤ 20 s"), pg_rule=True)


def run_import(url: str, path: str, times: int) -> list[float]:
    """`roster.import_file` `times` times in a row, each timed (child process)."""
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.intake import roster
    from workflow.workspace import Workspace

    ws = Workspace(Store(url), clock.parse_now(data.QUERY_NOW))
    _ = ws.spec
    out = []
    for _ in range(times):
        t0 = time.perf_counter()
        done = roster.import_file(ws, path)
        out.append(time.perf_counter() - t0)
        assert done.rows > 0
    return out
