"""One reminder sweep over a million cases with 1% due, against one APScheduler 3 job per reminder.

The naive way registers each reminder as a date job in a SQLAlchemyJobStore (a row and a commit per
job), and when many come due at once, jobs the scheduler reaches more than `misfire_grace_time`
(default 1 s) late are dropped as missed. The backlog run is bounded: it stops when every job has
run or been dropped, or after BACKLOG_LIMIT seconds.
"""

from __future__ import annotations

import io
import pickle
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from bench.data import Generated
from bench.results import Results, at_least, at_most
from bench.timing import in_child, peak_rss_mb, venv_bin, wall

BACKLOG_LIMIT = 60.0
SWEEP_LIMIT = 60.0  # the sweep stops sending between messages after this long (its `should_stop`), to bound a run
_delivered = 0


def deliver(case_id: int, offset: str, recipient: str) -> None:
    """What an APScheduler job would do for one reminder (the console channel's work is not what is measured)."""
    global _delivered
    _delivered += 1


def section(gen: Generated) -> str:
    """The section title."""
    return f"one reminder sweep over {gen.cases:,} cases ({gen.overdue:,} due), console channel"


def measure(results: Results, gen: Generated, jobs: int, repeat: int = 3) -> None:
    """The sweep (library, once, then the whole command with nothing new due) and the APScheduler way."""
    backend = gen.db.label
    name = section(gen)
    ours = in_child(run_sweep, gen.db.url, gen.now.isoformat())
    results.add(
        name,
        "sweep (library): decide, queue and send everything due",
        backend,
        ours["seconds"],
        "s",
        target=at_most(1.0, "≤ 1 s (goal 0.5 s)"),
        pg_rule=True,
    )
    sent = f"{ours['messages']:,} messages" + (f"; STOPPED after {SWEEP_LIMIT:.0f} s, the rest left queued" if ours["stopped"] else "")
    results.add(name, "sweep: outbox rows queued / messages sent", backend, ours["queued"], "rows", note=sent)
    cli = [venv_bin("branchflow"), "--db", gen.db.url, "--now", gen.now.isoformat(timespec="minutes"), "--json", "remind"]
    w = wall(cli, repeat, warmup=0)  # caches are warm from the sweep just measured
    results.add(
        name,
        "branchflow remind, nothing new due (the 15-minute sweep): whole command",
        backend,
        w.seconds,
        "s",
        target=at_most(0.5, "≤ 0.5 s"),
        pg_rule=True,
        note=w.note(),
    )

    added = in_child(add_jobs, gen.db.url, jobs)
    rate = jobs / added["seconds"]
    results.add(name, f"APScheduler: add {jobs:,} reminder jobs to a SQLAlchemyJobStore", backend, added["seconds"], "s")
    sweep = results.get(name, "sweep (library): decide, queue and send everything due", backend)
    if sweep:
        per = sweep * jobs / max(1, gen.overdue)
        results.add(
            name,
            f"sweep vs adding {jobs:,} APScheduler jobs (per reminder)",
            backend,
            added["seconds"] / per,
            "×",
            target=at_least(20, "≥ 20×"),
            lower_is_better=False,
        )
    backlog = in_child(run_backlog, gen.db.url, jobs)
    results.add(
        name,
        f"APScheduler: {jobs:,} jobs due at once, dropped as missed (grace 1 s)",
        backend,
        backlog["missed"],
        "jobs",
        note=f"{backlog['ran']:,} ran, {backlog['seconds']:.1f} s to drain; {rate:,.0f} jobs/s added",
    )


def run_sweep(url: str, now_text: str) -> dict[str, Any]:
    """One `reminders.sweep` at the dataset's `now` with the console channel writing to memory (child process)."""
    from workflow import reminders
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.reminders import transports as notify
    from workflow.workspace import Workspace

    ws = Workspace(Store(url), clock.parse_now(now_text))
    _ = ws.spec
    sink = io.StringIO()
    t0 = time.perf_counter()
    stopped = False

    def should_stop() -> bool:
        nonlocal stopped
        stopped = stopped or time.perf_counter() - t0 > SWEEP_LIMIT
        return stopped

    report = reminders.sweep(ws, {"console": notify.ConsoleChannel(sink)}, should_stop=should_stop)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "queued": len(report.queued), "messages": len(report.results), "stopped": stopped, "rss_mb": peak_rss_mb()}


def _scheduler(url: str, table: str) -> Any:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url, tablename=table)}, timezone="Asia/Shanghai")


def add_jobs(url: str, jobs: int) -> dict[str, float]:
    """Register `jobs` reminders as date jobs, as a scheduler that is running does it: one insert and commit each."""
    sched = _scheduler(url, "apscheduler_jobs")
    sched.start(paused=True)
    when = datetime.now().astimezone() + timedelta(days=7)
    t0 = time.perf_counter()
    for i in range(jobs):
        sched.add_job(
            "bench.measure_reminders:deliver",
            "date",
            run_date=when,
            args=[i + 1, "overdue", f"b{i + 1:07d}@example.edu.cn"],
            id=f"reminder-{i + 1}-overdue",
            replace_existing=True,
        )
    seconds = time.perf_counter() - t0
    sched.remove_all_jobs()
    sched.shutdown(wait=False)
    return {"seconds": seconds}


def run_backlog(url: str, jobs: int) -> dict[str, float]:
    """`jobs` reminders all due at the same moment (08:30, when every day-offset reminder goes out), in a job
    store; start a scheduler with the defaults and count what runs and what is dropped as missed."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

    loader = _scheduler(url, "apscheduler_backlog")
    due = datetime.now().astimezone() + timedelta(seconds=1.5)
    states = []
    for i in range(jobs):
        job = loader.add_job(
            "bench.measure_reminders:deliver",
            "date",
            run_date=due,
            args=[i + 1, "overdue", f"b{i + 1:07d}@example.edu.cn"],
            id=f"due-{i + 1}",
            **loader._job_defaults,  # misfire_grace_time=1, coalesce, max_instances: as starting would fill in
        )
        job.next_run_time = due  # what starting the scheduler would compute
        state = job.__getstate__()
        states.append({"id": job.id, "next_run_time": due.timestamp(), "job_state": pickle.dumps(state, pickle.HIGHEST_PROTOCOL)})
    store = loader._jobstores["default"]
    store.start(loader, "default")  # creates the table
    with store.engine.begin() as conn:
        conn.execute(store.jobs_t.delete())
        conn.execute(store.jobs_t.insert(), states)  # the backlog, written in one go: only the run is measured
    store.shutdown()

    counts = {"ran": 0, "missed": 0, "error": 0}
    finished = threading.Event()
    lock = threading.Lock()

    def listen(event: Any) -> None:
        with lock:
            key = {EVENT_JOB_EXECUTED: "ran", EVENT_JOB_MISSED: "missed"}.get(event.code, "error")
            counts[key] += 1
            if sum(counts.values()) >= jobs:
                finished.set()

    sched = _scheduler(url, "apscheduler_backlog")
    sched.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    import logging

    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # one "was missed" warning per job otherwise
    sched.start()
    wait = max(0.0, due.timestamp() - time.time())
    t0 = time.perf_counter()
    finished.wait(wait + BACKLOG_LIMIT)
    seconds = time.perf_counter() - t0 - wait
    sched.shutdown(wait=False)
    return {"ran": counts["ran"], "missed": counts["missed"], "error": counts["error"], "seconds": max(0.0, seconds)}
