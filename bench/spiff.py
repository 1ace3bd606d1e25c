"""The engine a user might pick instead: SpiffWorkflow running the lifecycle as a BPMN process (bench/lifecycle.bpmn).

Each case is one workflow instance persisted as its serializer's JSON in a table of its own; a step
loads it, completes the ready user task with the trigger, runs the engine to the next task, and
writes it back with a history row, in one transaction. SpiffWorkflow has no rules, roles or
version checks: its figures are a lower bound on what the same lifecycle costs with it.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.backends import SQLITE, Database

BPMN = Path(__file__).with_name("lifecycle.bpmn")
PROCESS = "lifecycle"

TABLES = {
    SQLITE: [
        "CREATE TABLE IF NOT EXISTS spiff_case (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS spiff_history (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, at TEXT NOT NULL,"
        " trigger TEXT NOT NULL, source TEXT NOT NULL, dest TEXT NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS spiff_case (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS spiff_history (id SERIAL PRIMARY KEY, case_id INTEGER NOT NULL, at TIMESTAMP NOT NULL,"
        " trigger TEXT NOT NULL, source TEXT NOT NULL, dest TEXT NOT NULL)",
    ],
}


def load_spec() -> Any:
    """The parsed BPMN process, checked against states.yaml: same states, same (source, trigger, dest) edges."""
    from SpiffWorkflow.bpmn.parser import BpmnParser

    from workflow import spec as spec_mod

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    process = parser.get_spec(PROCESS)
    ours = spec_mod.parse(spec_mod.packaged_text())
    want = {(src, t.trigger, t.dest) for t in ours.transitions for src in t.sources}
    got = set()
    for name, task in process.task_specs.items():
        if not name.startswith("after_"):
            continue
        for flow_target, condition in _conditions(task):
            got.add((name.removeprefix("after_"), condition, flow_target))
    if got != want:
        raise ValueError(f"bench/lifecycle.bpmn differs from states.yaml: missing {sorted(want - got)}, extra {sorted(got - want)}")
    return process


def _conditions(gateway: Any) -> list[tuple[str, str]]:
    """(target task, trigger) for each conditional flow out of an exclusive gateway."""
    out = []
    for condition, target in gateway.cond_task_specs:
        text = str(condition.args[0] if hasattr(condition, "args") else condition)
        trigger = text.split("==", 1)[1].strip().strip("\"'") if "==" in text else text
        out.append((target, trigger))
    return out


def _ready(workflow: Any) -> Any:
    from SpiffWorkflow.util.task import TaskState

    tasks = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    return tasks[0] if tasks else None


def templates(process: Any) -> dict[str, str]:
    """One serialized workflow waiting in each live state, and one finished in each terminal state."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    path = {
        "draft": [],
        "submitted": ["submit"],
        "preliminary_review": ["submit", "pass_review"],
        "evaluated": ["submit", "pass_review", "evaluate"],
        "approved": ["submit", "pass_review", "evaluate", "approve"],
        "september_check": ["submit", "pass_review", "evaluate", "approve", "pass_check"],
        "closing": ["submit", "pass_review", "evaluate", "approve", "pass_check", "submit_results"],
        "completed": ["submit", "pass_review", "evaluate", "approve", "pass_check", "submit_results", "accept"],
        "rejected": ["submit", "reject"],
        "not_approved": ["submit", "pass_review", "evaluate", "decline"],
        "withdrawn": ["withdraw"],
        "check_failed": ["submit", "pass_review", "evaluate", "approve", "fail_check"],
        "closing_failed": ["submit", "pass_review", "evaluate", "approve", "pass_check", "submit_results", "fail_closing"],
    }
    serializer = BpmnWorkflowSerializer()
    out = {}
    for state, triggers in path.items():
        wf = BpmnWorkflow(process)
        wf.do_engine_steps()
        for trigger in triggers:
            task = _ready(wf)
            task.data["trigger"] = trigger
            task.run()
            wf.do_engine_steps()
        where = _ready(wf)
        assert (where.task_spec.name if where else None) == (None if wf.is_completed() else state), state
        out[state] = serializer.serialize_json(wf)
    return out


def fill(db: Database, cases: list[tuple[int, str, datetime | None]]) -> float:
    """Store one workflow per (id, state, due_at) through the serializer's JSON; returns seconds taken."""
    t0 = time.perf_counter()
    texts = templates(load_spec())
    conn = db.raw()
    for statement in TABLES[db.kind]:
        conn.execute(statement)
    rows = []
    for case_id, state, due in cases:
        doc = json.loads(texts[state])
        doc["data"] = {"case_id": case_id, "due_at": due.isoformat() if due else None}
        rows.append((case_id, json.dumps(doc)))
    mark = "?" if db.kind == SQLITE else "%s"
    if db.kind == SQLITE:
        conn.execute("BEGIN")
    conn.cursor().executemany(f"INSERT INTO spiff_case (id, workflow) VALUES ({mark}, {mark})", rows)
    conn.commit() if db.kind != SQLITE else conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0


def steps(
    db_kind: str, db_url: str, db_path: str | None, db_schema: str | None, ids: list[int], trigger: str, now: str
) -> dict[str, float]:
    """Fire `trigger` on each case, one transaction per case (run in a child process)."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    from bench.timing import peak_rss_mb

    db = Database(db_kind, db_url, Path(db_path) if db_path else None, db_schema)
    serializer = BpmnWorkflowSerializer()
    load_spec()
    conn = db.raw()
    mark = "?" if db.kind == SQLITE else "%s"
    done = 0
    t0 = time.perf_counter()
    for case_id in ids:
        if db.kind == SQLITE:
            conn.execute("BEGIN IMMEDIATE")
        cur = conn.cursor()
        cur.execute(f"SELECT workflow FROM spiff_case WHERE id = {mark}", (case_id,))
        (text,) = cur.fetchone()
        wf = serializer.deserialize_json(text)
        task = _ready(wf)
        source = task.task_spec.name
        task.data["trigger"] = trigger
        task.run()
        wf.do_engine_steps()
        after = _ready(wf)
        dest = after.task_spec.name if after else "(finished)"
        cur.execute(f"UPDATE spiff_case SET workflow = {mark} WHERE id = {mark}", (serializer.serialize_json(wf), case_id))
        cur.execute(
            f"INSERT INTO spiff_history (case_id, at, trigger, source, dest) VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
            (case_id, now, trigger, source, dest),
        )
        if db.kind == SQLITE:
            conn.execute("COMMIT")
        else:
            conn.commit()
        done += 1
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "done": done, "rss_mb": peak_rss_mb()}


def overdue(db: Database, now_db: datetime) -> tuple[float, int]:
    """Who is overdue: every stored workflow deserialized to see its waiting task and due date; (seconds, count)."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    serializer = BpmnWorkflowSerializer()
    load_spec()
    conn = db.raw()
    t0 = time.perf_counter()
    late = 0
    cur = conn.cursor()
    cur.execute("SELECT workflow FROM spiff_case")
    for (text,) in cur.fetchall():
        wf = serializer.deserialize_json(text)
        due = wf.data.get("due_at")
        if due and not wf.is_completed() and datetime.fromisoformat(due) < now_db:
            late += 1
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, late
