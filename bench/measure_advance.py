"""`advance-many` over many cases, against a Machine and an ORM round trip per case, SpiffWorkflow, and raw SQL.

The trigger is `submit` with `attest=true`: the one with the most rules (R1–R8: nine conditions),
from `draft`, on cases generated ready to go (1% refused by R2 and 1% by R8 on purpose). Each
contender runs in a fresh child process, so its time, memory and caches are its own.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import spiff
from bench.backends import SQLITE, Database
from bench.data import Generated
from bench.results import Results, at_least, at_most
from bench.timing import ROOT, in_child, peak_rss_mb, venv_bin, wall

TRIGGER = "submit"
INPUTS = {"attest": "true"}


def section(cases: int) -> str:
    """The section title."""
    return f"advance-many {TRIGGER} over {cases:,} cases (rules R1–R8, history row, version check)"


def measure(results: Results, gen: Generated, naive_n: int, spiff_n: int, cli: bool = True) -> None:
    """Every advance figure on one backend (the dataset's id groups: naive, small, rest)."""
    backend = gen.db.label
    name = section(gen.cases)
    now = gen.now.isoformat()
    ids = gen.ids

    naive = in_child(run_naive, gen.db.url, now, ids["naive"])
    naive_rate = naive["done"] / naive["seconds"]
    results.add(
        name,
        f"naive: Machine per case + ORM load-modify-commit ({len(ids['naive']):,} cases)",
        backend,
        naive_rate,
        "/s",
        lower_is_better=False,
    )

    spiff_ids = list(range(1, spiff_n + 1))
    spiff_db = _spiff_tables(gen.db, spiff_ids)
    s = in_child(spiff.steps, gen.db.kind, gen.db.url, str(gen.db.path) if gen.db.path else None, gen.db.schema, spiff_ids, TRIGGER, now)
    spiff_rate = s["done"] / s["seconds"]
    results.add(
        name,
        f"SpiffWorkflow: BPMN step persisted by its serializer ({spiff_n:,} cases, no rules)",
        backend,
        spiff_rate,
        "/s",
        lower_is_better=False,
    )
    del spiff_db

    small = in_child(run_ours, gen.db.url, now, None, ids["small"])
    rest = in_child(run_ours, gen.db.url, now, "draft", None)
    rate = rest["done"] / rest["seconds"]
    results.add(
        name,
        "advance-many (library): transitions/s",
        backend,
        rate,
        "/s",
        target=at_least(20_000, "≥ 20,000/s"),
        pg_rule=True,
        lower_is_better=False,
    )
    results.add(
        name, "advance-many: cases done / refused by the rules", backend, rest["done"], "cases", note=f"{rest['refused']:,} refused"
    )
    results.add(
        name,
        f"advance-many: growth of peak RSS from {len(ids['small']):,} cases to {rest['done'] + rest['refused']:,} cases",
        backend,
        (rest["rss_peak"] - rest["rss_start"]) - (small["rss_peak"] - small["rss_start"]),
        "MiB",
        target=at_most(50, "flat (± 50 MiB)"),
        note=f"{small['rss_peak'] - small['rss_start']:.0f} MiB → {rest['rss_peak'] - rest['rss_start']:.0f} MiB above {rest['rss_start']:.0f} MiB after imports",
    )
    results.add(
        name, "advance-many: speed-up vs naive", backend, rate / naive_rate, "×", target=at_least(30, "≥ 30×"), lower_is_better=False
    )
    results.add(name, "advance-many: speed-up vs SpiffWorkflow", backend, rate / spiff_rate, "×", lower_is_better=False)

    cli_rate = startup = 0.0
    if cli:
        t, n = _cli(gen)
        startup = wall([venv_bin("branchflow"), "--db", gen.db.url, "--now", now, "status", "--limit", "1"], repeat=3).seconds
        cli_rate = n / max(t - startup, 1e-6) if n else 0.0
        if n:
            results.add(
                name,
                f"branchflow --json advance-many pass_review --state submitted: whole command ({n:,} cases)",
                backend,
                n / t,
                "/s",
                lower_is_better=False,
            )

    where = (gen.db.kind, gen.db.url, str(gen.db.path) if gen.db.path else None, gen.db.schema, ids["rest"], now)
    raw = in_child(run_raw, *where)
    results.add(
        name, "raw SQL: select + update + history insert, one transaction per case", backend, raw["rate"], "/s", lower_is_better=False
    )
    chunked = in_child(run_raw, *where, 1000)
    results.add(
        name,
        "raw SQL: the same writes per chunk of 1,000 (one SELECT, executemany UPDATE and INSERT, commit per chunk): the ceiling",
        backend,
        chunked["rate"],
        "/s",
        lower_is_better=False,
    )
    results.add(
        name,
        "advance-many: share of the per-chunk raw ceiling",
        backend,
        rate / chunked["rate"],
        "×",
        lower_is_better=False,
    )
    if cli and cli_rate:
        results.add(
            name,
            "branchflow advance-many (whole command less a read command's start-up) vs the per-chunk raw ceiling: times slower",
            backend,
            chunked["rate"] / cli_rate,
            "×",
            target=at_most(4, "within 4×"),
            note=f"start-up of `branchflow status --limit 1` subtracted: {startup:.2f} s",
        )
    results.add(
        name,
        "advance-many: share of the raw ceiling",
        backend,
        rate / raw["rate"],
        "×",
        target=at_least(1 / 3, "within 3× (≥ 0.33×)"),
        lower_is_better=False,
    )


def _spiff_tables(db: Database, ids: list[int]) -> float:
    """SpiffWorkflow's own table: one draft workflow per case, due at the draft deadline."""
    from workflow.dates import clock
    from workflow.spec import packaged_text, parse

    due = clock.to_db(clock.end_of_day(parse(packaged_text()).calendar(2024).due["draft"]))
    return spiff.fill(db, [(i, "draft", due) for i in ids])


def _cli(gen: Generated) -> tuple[float, int]:
    """The whole `advance-many` command in a subprocess (org firing pass_review on every submitted case)."""
    argv = [venv_bin("branchflow"), "--db", gen.db.url, "--now", gen.now.isoformat(timespec="minutes"), "--json"]
    probe = subprocess.run([*argv, "advance-many", "--help"], capture_output=True, cwd=ROOT, check=False)
    if probe.returncode != 0:
        return 0.0, 0
    t0 = time.perf_counter()
    done = subprocess.run([*argv, "advance-many", "pass_review", "--state", "submitted"], capture_output=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise RuntimeError(f"advance-many exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
    import json

    return seconds, len(json.loads(done.stdout))


def run_ours(url: str, now: str, state: str | None, ids: list[int] | None) -> dict[str, Any]:
    """`workflow.bulk.advance_many` as the command runs it (child process)."""
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.lifecycle import bulk
    from workflow.workspace import Workspace

    ws = Workspace(Store(url), clock.parse_now(now))
    _ = ws.spec
    start = peak_rss_mb()
    t0 = time.perf_counter()
    run = bulk.advance_many(ws, TRIGGER, state=state, ids=ids, inputs=INPUTS)
    for _chunk in run:
        pass
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "done": run.done, "refused": run.refused, "rss_start": start, "rss_peak": peak_rss_mb()}


class _Token:
    """The model a per-case Machine drives (SQLModel rows refuse `transitions`' trigger attributes)."""

    def __init__(self, state: str) -> None:
        self.state = state


def run_naive(url: str, now_text: str, ids: list[int]) -> dict[str, Any]:
    """The way without Branchflow's engine: per case, a new `transitions` Machine whose conditions are the
    same rules, the case loaded as an ORM object, modified, a History object added, and committed."""
    from sqlmodel import Session
    from transitions import Machine

    from workflow.dates import clock
    from workflow.db.models import Case, History
    from workflow.db.store import Store
    from workflow.lifecycle import engine, repository
    from workflow.lifecycle import facts as facts_mod
    from workflow.spec import rules
    from workflow.workspace import Workspace

    now = clock.parse_now(now_text)
    store = Store(url)
    ws = Workspace(store, now)
    spec = ws.spec
    transition = spec.by_trigger[TRIGGER]
    inputs = engine.parse_inputs(transition, INPUTS)

    def condition(name: str) -> Any:
        return lambda facts: rules.CONDITIONS[name](facts) is None

    definitions = [
        {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest, "conditions": [condition(c) for c in t.conditions]}
        for t in spec.transitions
    ]
    states = [s.id for s in spec.states]
    done = refused = 0
    t0 = time.perf_counter()
    for case_id in ids:
        with Session(store.engine) as s:
            case = s.get(Case, case_id)
            assert case is not None
            row = repository.load_case(s, case_id)
            facts = facts_mod.gather(s, spec, row, now, inputs)
            token = _Token(case.state)
            Machine(model=token, states=states, transitions=definitions, initial=case.state, auto_transitions=False)
            if not token.trigger(TRIGGER, facts):  # type: ignore[attr-defined]
                refused += 1
                continue
            due = repository.campaign_due(s, row.campaign_id, token.state)
            source = case.state
            case.state = token.state
            case.due_at = clock.to_db(due) if due else None
            case.version += 1
            case.updated_at = clock.to_db(now)
            s.add(
                History(case_id=case_id, at=clock.to_db(now), actor="admin", role="org", on_behalf_of="committee",
                        trigger=TRIGGER, source=source, dest=token.state, inputs='{"attest": true}', comment="")
            )  # fmt: skip
            s.commit()
            done += 1
    seconds = time.perf_counter() - t0
    store.engine.dispose()
    return {"seconds": seconds, "done": done, "refused": refused, "rss_mb": peak_rss_mb()}


def run_raw(kind: str, url: str, path: str | None, schema: str | None, ids: list[int], now_text: str, chunk: int = 1) -> dict[str, Any]:
    """The ceiling: raw DB-API doing the writes of a transition (SELECT, versioned UPDATE, history INSERT).

    With `chunk` 1 each case is its own transaction; with `chunk` 1,000 the cases go as advance-many sends
    them: select a chunk's ids, update each, insert one history row each (executemany), commit per chunk."""
    if chunk > 1:
        return _run_raw_chunked(kind, url, path, schema, ids, now_text, chunk)
    db = Database(kind, url, Path(path) if path else None, schema)
    conn = db.raw()
    at = datetime.fromisoformat(now_text).replace(tzinfo=None)
    mark = "?" if kind == SQLITE else "%s"
    select = f"SELECT state, version FROM cases WHERE id = {mark}"
    update = f"UPDATE cases SET state = {mark}, version = {mark}, updated_at = {mark} WHERE id = {mark} AND version = {mark}"
    insert = (
        'INSERT INTO history (case_id, at, actor, role, on_behalf_of, "trigger", source, dest, inputs, comment) '
        f"VALUES ({mark}, {mark}, 'admin', 'org', '', 'raw', {mark}, {mark}, '', '')"
    )
    if kind == SQLITE:
        at_value: Any = at.isoformat(sep=" ", timespec="microseconds")
    else:
        at_value = at
    cur = conn.cursor()
    t0 = time.perf_counter()
    for case_id in ids:
        if kind == SQLITE:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(select, (case_id,))
        state, version = cur.fetchone()
        cur.execute(update, (state, version + 1, at_value, case_id, version))
        assert cur.rowcount == 1
        cur.execute(insert, (case_id, at_value, state, state))
        if kind == SQLITE:
            cur.execute("COMMIT")
        else:
            conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "rate": len(ids) / seconds}


def _run_raw_chunked(
    kind: str, url: str, path: str | None, schema: str | None, ids: list[int], now_text: str, chunk: int
) -> dict[str, Any]:
    db = Database(kind, url, Path(path) if path else None, schema)
    conn = db.raw()
    at = datetime.fromisoformat(now_text).replace(tzinfo=None)
    mark = "?" if kind == SQLITE else "%s"
    at_value: Any = at.isoformat(sep=" ", timespec="microseconds") if kind == SQLITE else at
    update = f"UPDATE cases SET state = {mark}, version = {mark}, updated_at = {mark} WHERE id = {mark} AND version = {mark}"
    insert = (
        'INSERT INTO history (case_id, at, actor, role, on_behalf_of, "trigger", source, dest, inputs, comment) '
        f"VALUES ({mark}, {mark}, 'admin', 'org', '', 'raw', {mark}, {mark}, '', '')"
    )
    cur = conn.cursor()
    t0 = time.perf_counter()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        if kind == SQLITE:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(f"SELECT id, state, version FROM cases WHERE id IN ({', '.join([mark] * len(part))})", part)
        rows = cur.fetchall()
        cur.executemany(update, [(state, version + 1, at_value, case_id, version) for case_id, state, version in rows])
        cur.executemany(insert, [(case_id, at_value, state, state) for case_id, state, _ in rows])
        if kind == SQLITE:
            cur.execute("COMMIT")
        else:
            conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "rate": len(ids) / seconds}
