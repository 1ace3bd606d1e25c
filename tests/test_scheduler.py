"""The scheduler: two APScheduler jobs in Asia/Shanghai that call the sweep; a clean stop; the import layering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import Bf
from servers import at, draft_case

from demo import sample
from jobs import scheduler
from workflow import spec

ROOT = Path(__file__).resolve().parents[1]
POLICY = spec.parse(spec.packaged_text()).reminders


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: nothing here depends on the backend (test_reminders and test_outbox run both)."""
    return sqlite_url


@pytest.fixture
def built() -> scheduler.BackgroundScheduler:
    s = scheduler.build(POLICY, "sqlite:///unused.db", None, start=at("2024-05-06T07:00"))
    s.start(paused=True)  # computes the jobs' next run times; paused, nothing runs
    yield s
    s.shutdown(wait=False)


def test_the_scheduler_has_exactly_the_sweep_and_the_digest_as_importable_jobs(built: scheduler.BackgroundScheduler) -> None:
    jobs = {j.id: j for j in built.get_jobs()}
    assert set(jobs) == {scheduler.SWEEP_ID, scheduler.DIGEST_ID}
    assert jobs[scheduler.SWEEP_ID].func_ref == "jobs.scheduler:sweep"
    assert jobs[scheduler.DIGEST_ID].func_ref == "jobs.scheduler:digest"
    assert jobs[scheduler.SWEEP_ID].kwargs == {"db": "sqlite:///unused.db", "config": None}
    for job in jobs.values():
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, None, 1)  # a late run still runs, once


def test_the_sweep_runs_at_start_then_every_15_minutes_in_asia_shanghai(built: scheduler.BackgroundScheduler) -> None:
    sweep = built.get_job(scheduler.SWEEP_ID)
    assert sweep.next_run_time == at("2024-05-06T07:00")
    assert str(sweep.trigger.timezone) == "Asia/Shanghai"
    assert sweep.trigger.get_next_fire_time(at("2024-05-06T07:00"), at("2024-05-06T07:00:01")) == at("2024-05-06T07:15")


def test_the_digest_fires_at_0830_shanghai_time_even_on_a_utc_machine(
    built: scheduler.BackgroundScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        digest = built.get_job(scheduler.DIGEST_ID)
        assert str(built.timezone) == "Asia/Shanghai"
        assert digest.trigger.get_next_fire_time(None, datetime(2024, 5, 6, 0, 0, tzinfo=UTC)) == at("2024-05-06T08:30")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_digest_goes_out_on_working_days_only() -> None:
    assert scheduler.is_digest_day(POLICY, date(2024, 5, 6))
    assert not scheduler.is_digest_day(POLICY, date(2024, 5, 4))  # May Day holiday (a Saturday)
    assert scheduler.is_digest_day(POLICY, date(2024, 5, 11))  # Saturday, but a 调休 working day


def test_a_run_of_the_sweep_job_sweeps_the_database(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRANCHFLOW_CHANNELS", raising=False)
    cid = draft_case(bf)
    s = scheduler.build(POLICY, bf.url, None)
    job = s.get_job(scheduler.SWEEP_ID)
    report = job.func(**job.kwargs)  # what APScheduler calls, without waiting for it
    assert report is not None and report.now.year >= 2025  # the real clock: the 2024 draft is long overdue
    assert {(r["case"], r["offset"]) for r in bf.json("outbox")} == {(cid, "overdue")}


def _start(bf: Bf) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHFLOW_")}
    with (bf.tmp / "scheduler.err").open("w") as err:  # a file, not a pipe: nothing can block the scheduler's logging
        return subprocess.Popen(
            [sys.executable, "cli.py", "--db", bf.url, "scheduler"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )


def _wait_started(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("调度器已启动"):
            return lines
    proc.kill()
    raise AssertionError(f"scheduler did not start: {lines}")


@pytest.fixture
def bf_sqlite(sqlite_url: str, tmp_path: Path) -> Bf:
    """An initialised 2024 campaign on SQLite only (process handling does not depend on the backend)."""
    b = Bf(sqlite_url, tmp_path)
    b.ok("init", "--campaign", "2024")
    b.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    b.ok("user", "add", "wenfa", "--role", "committee", "--committee", "文法学院分党委", "--email", "wenfa@example.edu.cn")
    return b


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_scheduler_stops_cleanly_with_exit_0_on_sigterm_or_ctrl_c(bf_sqlite: Bf, sig: signal.Signals) -> None:
    draft_case(bf_sqlite)
    proc = _start(bf_sqlite)
    _wait_started(proc)
    proc.send_signal(sig)
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 0, (bf_sqlite.tmp / "scheduler.err").read_text()
    assert "渠道 console：输出到标准错误" in out and out.rstrip().endswith("调度器已停止。")


def test_the_scheduler_refuses_a_simulated_clock(bf: Bf) -> None:
    result = bf("scheduler")
    assert result.exit_code == 2 and "scheduler 按真实时钟运行，不能使用 --now" in result.output
