"""Branchflow at national scale: build a synthetic campaign and measure it, on SQLite and on PostgreSQL.

    .venv/bin/python bench/run.py            # full sizes, writes bench/RESULTS.md (about ten minutes)
    .venv/bin/python bench/run.py --quick    # small sizes, a smoke test (under a minute)

Every figure is set against the naive way measured in the same run. PostgreSQL is used when it
answers at BRANCHFLOW_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/test), in
schemas the run creates and drops.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` and `workflow` from the repository

from bench import (
    backends,
    data,
    machine,
    measure_advance,
    measure_case_import,
    measure_queries,
    measure_reminders,
    measure_roster,
    measure_startup,
    measure_web,
    report,
    timing,
)
from bench.results import Results


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    roster: int
    advance: int
    naive: int
    spiff: int
    cases: int
    jobs: int
    spiff_overdue: int
    repeat: int
    web: int  # requests per web page measured
    case_import: int  # rows of the 申报汇总表, each with two files


FULL = Sizes(
    roster=100_000,
    advance=100_000,
    naive=3_000,
    spiff=2_000,
    cases=1_000_000,
    jobs=10_000,
    spiff_overdue=10_000,
    repeat=5,
    web=400,
    case_import=20_000,
)
QUICK = Sizes(
    roster=2_000, advance=2_000, naive=100, spiff=50, cases=20_000, jobs=200, spiff_overdue=200, repeat=1, web=40, case_import=200
)
SECTIONS = ("startup", "roster", "case_import", "advance", "queries", "reminders", "web")
ANALYSIS = Path(__file__).with_name("ANALYSIS.md")
RESULTS = Path(__file__).with_name("RESULTS.md")


def log(text: str) -> None:
    """Progress on stderr, with the time since start."""
    print(f"[{time.perf_counter() - STARTED:6.1f} s] {text}", file=sys.stderr, flush=True)


STARTED = time.perf_counter()


def run(sizes: Sizes, kinds: list[str], only: set[str], workdir: Path, results: Results) -> None:
    """Every section on every backend, in an order that reuses each generated database."""
    labels = [backends.LABELS[k] for k in kinds]
    results.sizes = {
        "roster import": f"{sizes.roster:,} branches",
        "case import": f"{sizes.case_import:,} rows, {2 * sizes.case_import:,} attachment files",
        "advance-many": f"{sizes.advance:,} cases (naive way on {sizes.naive:,}, SpiffWorkflow on {sizes.spiff:,}; rates compared)",
        "overdue, status, reminder sweep": f"{sizes.cases:,} cases",
        "APScheduler jobs": f"{sizes.jobs:,}",
        "SpiffWorkflow 'who is overdue'": f"{sizes.spiff_overdue:,} stored workflows",
    }
    if "startup" in only:
        log("start-up")
        measure_startup.measure_common(results, labels, sizes.repeat * 2 - 1)
        for kind in kinds:
            measure_startup.measure(results, kind, workdir, sizes.repeat * 2 - 1)
    if "roster" in only:
        log(f"roster: writing {sizes.roster:,} rows as CSV and xlsx")
        csv_path, xlsx_path, _ = measure_roster.write_files(workdir, sizes.roster)
        measure_roster.read_only(csv_path, xlsx_path, results, sizes.roster, labels)
        for kind in kinds:
            log(f"roster import on {backends.LABELS[kind]}")
            measure_roster.measure(results, kind, workdir, csv_path, xlsx_path, sizes.roster)
    if "case_import" in only:
        for kind in kinds:
            log(f"case import of {sizes.case_import:,} rows with {2 * sizes.case_import:,} files on {backends.LABELS[kind]}")
            measure_case_import.measure(results, kind, workdir, sizes.case_import)
    if "advance" in only:
        for kind in kinds:
            db = backends.create(kind, workdir, "advance")
            try:
                log(f"advance: generating {sizes.advance:,} draft cases on {db.label}")
                small = max(2, sizes.advance // 10)
                gen = data.advance_campaign(db, sizes.advance + small + sizes.naive, groups={"naive": sizes.naive, "small": small})
                results.generation.setdefault(f"advance-many campaign ({gen.cases:,} cases, {gen.branches:,} branches)", {})[db.label] = (
                    gen.seconds
                )
                log("advance: measuring")
                measure_advance.measure(results, gen, sizes.naive, sizes.spiff)
            finally:
                db.drop()
    if "queries" in only or "reminders" in only or "web" in only:
        for kind in kinds:
            db = backends.create(kind, workdir, "national")
            try:
                log(f"national campaign: generating {sizes.cases:,} cases on {db.label}")
                gen = data.query_campaign(db, sizes.cases)
                results.generation.setdefault(f"national campaign ({gen.cases:,} cases, {gen.committees:,} committees)", {})[db.label] = (
                    gen.seconds
                )
                if "queries" in only:
                    log("overdue and status")
                    measure_queries.measure(results, gen, sizes.repeat)
                    log("SpiffWorkflow: who is overdue")
                    measure_queries.spiff_overdue(results, gen, sizes.spiff_overdue)
                if "web" in only:  # before the sweep: it reads the campaign as generated
                    log("web pages under load")
                    measure_web.measure(results, gen, sizes.web)
                if "reminders" in only:
                    log("reminder sweep and APScheduler")
                    measure_reminders.measure(results, gen, sizes.jobs, 1)  # the idle sweep costs tens of seconds: once
            finally:
                db.drop()


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the tables, write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, under a minute)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, help="write the report here (full runs default to bench/RESULTS.md)")
    parser.add_argument("--workdir", type=Path, help="where SQLite files and rosters go (default: a temporary folder, removed after)")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    sizes = QUICK if args.quick else FULL
    if args.quick:
        timing.INLINE, timing.WARMUP = True, 0
    out = args.out or (None if args.quick else RESULTS)

    kinds = [backends.SQLITE]
    pg_version = None if args.sqlite_only else backends.pg_reachable()
    if args.sqlite_only:
        print("PostgreSQL: skipped (--sqlite-only).")
    elif pg_version is None:
        print(f"PostgreSQL: SKIPPED — no server answering at {backends.PG_URL}; SQLite only.")
    else:
        kinds.append(backends.POSTGRESQL)
        print(f"PostgreSQL {pg_version}: reachable; every figure on SQLite and PostgreSQL.")
    description = machine.describe(pg_version)
    for key, value in description:
        print(f"{key:>14}: {value}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="branchflow-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    results = Results()
    failed = ""
    try:
        run(sizes, kinds, only, workdir, results)
    except Exception as exc:  # keep what was measured: a run is long, and one section failing should not lose the others
        traceback.print_exc()
        failed = f"{type(exc).__name__}: {exc}"
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - STARTED
    load_after = os.getloadavg()
    labels = [backends.LABELS[k] for k in kinds]
    print(report.console(results, labels))
    print(f"\nfinished in {elapsed:.0f} s; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if out:
        header = [
            "# Branchflow benchmark results",
            "",
            f"Generated by `bench/run.py{' --quick' if args.quick else ''}` on {started:%Y-%m-%d %H:%M} UTC in {elapsed:.0f} s "
            f"(1-minute load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end; the machine's 2 cores are shared).",
            "Targets are for SQLite; on PostgreSQL the target is to be no worse than 3× SQLite. Ratios compare figures measured in this run.",
        ]
        if only != set(SECTIONS):
            header.append(
                f"Sections run: {', '.join(x for x in SECTIONS if x in only)} (not run: {', '.join(x for x in SECTIONS if x not in only)})."
            )
        if failed:
            header.append(f"**The run stopped early** ({failed}); the sections after the failure were not measured.")
        analysis = ANALYSIS.read_text(encoding="utf-8") if ANALYSIS.exists() and not args.quick else ""
        report.write(out, results, header, description, analysis)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
