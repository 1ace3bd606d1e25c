"""`overdue` and `status` over a million cases: the library, the whole command, and the naive ORM way."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from bench.data import Generated
from bench.results import Results, at_most
from bench.timing import best_of, in_child, peak_rss_mb, venv_bin, wall


def section(gen: Generated) -> str:
    """The section title for this dataset."""
    return f"overdue and status over {gen.cases:,} cases ({gen.overdue:,} overdue)"


def measure(results: Results, gen: Generated, repeat: int = 5) -> None:
    """Every query figure on one backend."""
    name = section(gen)
    backend = gen.db.label
    store = measure_library(results, gen, repeat)

    cli = [
        venv_bin("branchflow"),
        "--db",
        gen.db.url,
        "--now",
        gen.now.isoformat(timespec="minutes"),
        "--json",
    ]  # --json is a global option
    w = wall([*cli, "overdue", "--limit", "100"], repeat)
    results.add(
        name,
        "branchflow --json overdue --limit 100: whole command",
        backend,
        w.seconds,
        "s",
        target=at_most(1.5, "≤ 1.5 s"),
        pg_rule=True,
        note=w.note(),
    )
    w = wall([*cli, "status", "--limit", "100"], repeat)
    results.add(name, "branchflow --json status --limit 100: whole command", backend, w.seconds, "s", pg_rule=True, note=w.note())

    t, loaded = best_of(lambda: _orm_overdue(store, gen), max(1, repeat // 2))
    assert loaded == gen.overdue
    results.add(name, f"naive: the {gen.overdue:,} overdue (SQL filter) as ORM objects", backend, t * 1000, "ms")
    store.engine.dispose()

    naive = in_child(naive_scan, gen.db.url, gen.now.isoformat())
    assert naive["overdue"] == gen.overdue, naive
    results.add(name, f"naive: load all {gen.cases:,} as ORM objects, filter in Python (overdue)", backend, naive["overdue_s"], "s")
    results.add(name, "naive: … and count per state in Python (status)", backend, naive["status_s"], "s")
    results.add(name, "naive: peak RSS of that process", backend, naive["rss_mb"], "MiB")
    ours = results.get(name, f"overdue, all {gen.overdue:,} rows: query (library)", backend)
    if ours:
        results.add(
            name, "overdue (all rows): speed-up vs naive ORM scan", backend, naive["overdue_s"] * 1000 / ours, "×", lower_is_better=False
        )


def measure_library(results: Results, gen: Generated, repeat: int = 5) -> Any:
    """`queries.overdue` (first page, all) and `queries.status` in this process, warm; returns the store."""
    from workflow.db.store import Store
    from workflow.reports import queries
    from workflow.workspace import Workspace

    name = section(gen)
    backend = gen.db.label
    store = Store(gen.db.url)
    ws = Workspace(store, gen.now)
    _ = ws.spec  # parsed once, as a long-running process would

    t, page = best_of(lambda: queries.overdue(ws, limit=100), repeat)
    assert len(page) == min(100, gen.overdue), (len(page), gen.overdue)
    results.add(name, "overdue --limit 100: query (library)", backend, t * 1000, "ms", target=at_most(50, "≤ 50 ms"), pg_rule=True)
    t, every = best_of(lambda: queries.overdue(ws), repeat)
    assert len(every) == gen.overdue, (len(every), gen.overdue)
    results.add(
        name, f"overdue, all {gen.overdue:,} rows: query (library)", backend, t * 1000, "ms", target=at_most(150, "≤ 150 ms"), pg_rule=True
    )
    t, status = best_of(lambda: queries.status(ws, limit=100), repeat)
    assert status["total"] == gen.cases
    results.add(
        name,
        "status --limit 100 (counts over all): query (library)",
        backend,
        t * 1000,
        "ms",
        target=at_most(100, "≤ 100 ms"),
        pg_rule=True,
    )
    return store


def _orm_overdue(store: Any, gen: Generated) -> int:
    """The overdue cases selected in SQL but loaded as SQLModel objects (the ORM's own cost)."""
    from sqlmodel import Session, col, select

    from workflow.dates import clock
    from workflow.db.models import Case

    live = ["draft", "submitted", "preliminary_review", "evaluated", "approved", "september_check", "closing"]
    with Session(store.engine) as s:
        found = s.exec(
            select(Case).where(col(Case.state).in_(live), col(Case.due_at) < clock.to_db(gen.now)).order_by(col(Case.due_at), col(Case.id))
        ).all()
    return len(found)


def naive_scan(url: str, now_text: str) -> dict[str, float]:
    """What one writes without thinking of scale: every case as an ORM object, filtered and counted in Python,
    with each overdue case's branch and committee fetched through the session (run in a child process)."""
    from sqlmodel import Session, select

    from workflow.dates import clock
    from workflow.db.models import Branch, Case, Committee
    from workflow.db.store import Store

    now_db = clock.to_db(clock.parse_now(now_text))
    live = {"draft", "submitted", "preliminary_review", "evaluated", "approved", "september_check", "closing"}
    store = Store(url)
    with Session(store.engine) as s:
        t0 = time.perf_counter()
        cases = s.exec(select(Case)).all()
        loaded = time.perf_counter() - t0
        late = sorted((c for c in cases if c.state in live and c.due_at is not None and c.due_at < now_db), key=lambda c: (c.due_at, c.id))
        out = []
        for c in late:
            branch = s.get(Branch, c.branch_id)
            assert branch is not None
            committee = s.get(Committee, branch.committee_id)
            assert committee is not None
            out.append((c.id, branch.name, committee.name, c.state, c.due_at))
        filtered = time.perf_counter() - t0 - loaded
        t1 = time.perf_counter()
        counts = Counter(c.state for c in cases)
        counted = time.perf_counter() - t1
    store.engine.dispose()
    return {
        "overdue": len(out),
        "total": sum(counts.values()),
        "overdue_s": loaded + filtered,
        "status_s": loaded + counted,
        "rss_mb": peak_rss_mb(),
    }


def spiff_overdue(results: Results, gen: Generated, n: int) -> None:
    """SpiffWorkflow's "who is overdue": the first `n` cases stored as serialized workflows, every one deserialized."""
    from bench import spiff
    from workflow.dates import clock

    conn = gen.db.raw()
    cur = conn.cursor()
    mark = "?" if gen.db.kind == "sqlite" else "%s"
    cur.execute(f"SELECT id, state, due_at FROM cases WHERE id <= {mark} ORDER BY id", (n,))
    picked = [(i, s, d if isinstance(d, datetime) or d is None else datetime.fromisoformat(d)) for i, s, d in cur.fetchall()]
    conn.close()
    now_db = clock.to_db(gen.now)
    expected = sum(1 for _, s, d in picked if d is not None and d < now_db)
    spiff.fill(gen.db, picked)
    seconds, late = in_child(
        _spiff_overdue, gen.db.kind, gen.db.url, str(gen.db.path) if gen.db.path else None, gen.db.schema, now_db.isoformat()
    )
    assert late == expected, (late, expected)
    name = section(gen)
    results.add(name, f"SpiffWorkflow: who is overdue among {n:,} stored workflows (each deserialized)", gen.db.label, seconds, "s")
    ours = results.get(name, f"overdue, all {gen.overdue:,} rows: query (library)", gen.db.label)
    if ours:
        results.add(
            name,
            f"overdue over all {gen.cases:,}: speed-up vs SpiffWorkflow (its time scaled to {gen.cases:,})",
            gen.db.label,
            seconds * gen.cases / n / (ours / 1000),
            "×",
            lower_is_better=False,
        )


def _spiff_overdue(kind: str, url: str, path: str | None, schema: str | None, now_db: str) -> tuple[float, int]:
    from pathlib import Path

    from bench import spiff
    from bench.backends import Database

    return spiff.overdue(Database(kind, url, Path(path) if path else None, schema), datetime.fromisoformat(now_db))
