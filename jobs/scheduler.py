"""The scheduler: APScheduler 3 runs the reminder sweep and org's overdue digest, in Asia/Shanghai.

Two jobs, never one per case or per reminder: the sweep (once at start, then every
`sweep_every_minutes`) and the digest (08:30, on Chinese working days). APScheduler only says *when*
to look; *what* is due is computed from the database each time, and what was sent is in the outbox.
So its in-memory job store holds nothing that matters: a restart, a missed run or a second machine
changes nothing about which reminders go out, or how often.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import date, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from workflow import BranchflowError, ReminderPolicy, Workspace, channels, clock, notify, reminders, workdays, workspace

log = logging.getLogger("branchflow.scheduler")

SWEEP_ID = "branchflow-sweep"
DIGEST_ID = "branchflow-digest"
JOB_DEFAULTS = {
    "coalesce": True,  # after downtime, one run, not one per missed interval
    "misfire_grace_time": None,  # however late, a missed run still runs: never dropped silently
    "max_instances": 1,
}

# Set by SIGTERM / Ctrl-C: the sweep in progress finishes the message it is sending and stops.
STOP = threading.Event()


def _workspace(db: str | None) -> Workspace:
    return workspace.open(db, workspace.ADMIN, clock.real_now())


def _run(db: str | None, config: str | None, digest: bool) -> reminders.SweepReport | None:
    try:
        ws = _workspace(db)
        settings = channels.load(os.environ, config)
        chans = channels.build(settings, notify.real_wall())
        report = reminders.sweep(ws, chans, digest=digest, should_stop=STOP.is_set, base_url=settings.base_url)
    except BranchflowError as exc:
        log.error("%s未完成：%s", "逾期汇总" if digest else "提醒扫描", exc.text)
        return None
    sent = sum(1 for r in report.results if r.status == "sent")
    failed = [r for r in report.results if r.status != "sent"]
    log.info(
        "%s（%s）：新排入 %d 条，发出 %d 封，未成功 %d 封，作废 %d 条。",
        "逾期汇总" if digest else "提醒扫描",
        clock.show(report.now),
        len(report.queued),
        sent,
        len(failed),
        report.cancelled,
    )
    return report


def sweep(db: str | None = None, config: str | None = None) -> reminders.SweepReport | None:
    """Job: one reminder sweep at the real time."""
    return _run(db, config, digest=False)


def digest(db: str | None = None, config: str | None = None) -> reminders.SweepReport | None:
    """Job: org's overdue digest (and a sweep), on working days only when states.yaml says so."""
    try:
        ws = _workspace(db)
        policy = ws.spec.reminders
    except BranchflowError as exc:
        log.error("逾期汇总未完成：%s", exc.text)
        return None
    if not is_digest_day(policy, ws.now.date()):
        log.info("%s 不是工作日，今天不发逾期汇总。", ws.now.date().isoformat())
        return None
    return _run(db, config, digest=True)


def is_digest_day(policy: ReminderPolicy, day: date) -> bool:
    """Whether org's digest goes out on `day`: every day, or Chinese working days (调休 Saturdays included)."""
    return not policy.digest_working_days or workdays.is_working_day(day)


def build(policy: ReminderPolicy, db: str | None, config: str | None, start: datetime | None = None) -> BackgroundScheduler:
    """A scheduler (not started) with the two jobs; `start` is when the first sweep runs (default: now)."""
    scheduler = BackgroundScheduler(
        timezone=clock.TZ,
        job_defaults=JOB_DEFAULTS,
        # One worker: the sweep and the digest never overlap, so a recipient gets one message per run.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    kwargs = {"db": db, "config": config}
    scheduler.add_job(
        "jobs.scheduler:sweep",
        IntervalTrigger(minutes=policy.sweep_every_minutes, timezone=clock.TZ),
        id=SWEEP_ID,
        name="提醒扫描",
        kwargs=kwargs,
        next_run_time=start or clock.real_now(),
        replace_existing=True,
    )
    hour, minute = (int(p) for p in policy.digest_time.split(":"))
    scheduler.add_job(
        "jobs.scheduler:digest",
        CronTrigger(hour=hour, minute=minute, timezone=clock.TZ),
        id=DIGEST_ID,
        name="逾期汇总",
        kwargs=kwargs,
        replace_existing=True,
    )
    return scheduler


def run(db: str | None, config: str | None, say: Callable[[str], None]) -> int:
    """Run the jobs until SIGTERM or Ctrl-C, then finish the delivery in progress and return 0."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = channels.load(os.environ, config)  # a configuration mistake stops us now, not at 08:30
    ws = _workspace(db)
    policy = ws.spec.reminders
    STOP.clear()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        STOP.set()
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = build(policy, db, config)
    scheduler.start()
    workday = "工作日" if policy.digest_working_days else "每天"
    say(
        f"调度器已启动（Asia/Shanghai）：提醒扫描每 {policy.sweep_every_minutes} 分钟一次（启动时先扫描一次），"
        f"逾期汇总在{workday} {policy.digest_time}。按 Ctrl-C 或发送 SIGTERM 停止。"
    )
    for line in settings.describe():
        say(f"渠道 {line}")
    try:
        while not stopping.wait(0.5):
            pass
        say("正在停止：等待正在进行的发送完成……")
        scheduler.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("调度器已停止。")
    return 0
