"""Two sweeps racing over a thousand due messages (two real `branchflow remind` processes; two threads of
one process): each message is sent exactly once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from conftest import Bf

from workflow import reminders
from workflow.dates import clock
from workflow.db.models import Branch, Campaign, CampaignDue, Case, Committee, Outbox
from workflow.db.store import Store
from workflow.reminders import transports as notify
from workflow.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 1000
NOW = "2024-05-03T09:00"  # the draft due date (2024-05-06) is three days away: one reminder per case is due
SENT = re.compile(r"^收件人：.* <(race\d+@example\.edu\.cn)>$", re.M)


def _thousand_drafts(bf: Bf) -> None:
    """A committee nobody is a user of, with a thousand branches each with its own contact e-mail and a draft case."""
    store = Store(bf.url)
    try:
        with store.engine.begin() as conn:
            campaign = conn.execute(sa.select(Campaign.__table__.c.id).where(Campaign.__table__.c.year == 2024)).scalar_one()
            due = conn.execute(
                sa.select(CampaignDue.__table__.c.due_at).where(
                    CampaignDue.__table__.c.campaign_id == campaign, CampaignDue.__table__.c.state == "draft"
                )
            ).scalar_one()
            committee = conn.execute(
                sa.insert(Committee.__table__).values(name="竞速测试学院分党委").returning(Committee.__table__.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(Branch.__table__),
                [
                    {
                        "committee_id": committee,
                        "name": f"竞速测试学院第{n}党支部",
                        "contact": f"联系人{n}",
                        "email": f"race{n}@example.edu.cn",
                    }
                    for n in range(MESSAGES)
                ],
            )
            branches = conn.execute(sa.select(Branch.__table__.c.id).where(Branch.__table__.c.committee_id == committee)).scalars().all()
            at = datetime(2024, 4, 25, 1, 0)
            conn.execute(
                sa.insert(Case.__table__),
                [
                    {
                        "campaign_id": campaign,
                        "branch_id": b,
                        "title": "特色创建",
                        "theme": "人才培养",
                        "state": "draft",
                        "due_at": due,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for b in branches
                ],
            )
    finally:
        store.engine.dispose()


def test_two_sweeps_racing_over_a_thousand_due_messages_send_each_exactly_once(bf: Bf) -> None:
    _thousand_drafts(bf)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHFLOW_")}
    env["BRANCHFLOW_CHANNELS"] = "console"  # each message written to the process's stderr: what was really sent
    argv = [sys.executable, "cli.py", "--db", bf.url, "--now", NOW, "remind"]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]

    sent = Counter(address for _, err in outputs for address in SENT.findall(err))
    assert len(sent) == MESSAGES, len(sent)  # every one sent ...
    assert set(sent.values()) == {1}, [a for a, n in sent.items() if n > 1][:10]  # ... and none twice

    store = Store(bf.url)
    try:
        with store.engine.connect() as conn:
            t = Outbox.__table__.c
            rows = conn.execute(sa.select(t.recipient, t.status, t.attempts).where(t.recipient.like("race%"))).all()
    finally:
        store.engine.dispose()
    assert len(rows) == MESSAGES  # one outbox row per message, though two sweeps decided them
    assert {(status, attempts) for _, status, attempts in rows} == {("sent", 1)}


class _Recorder:
    """A channel that notes each recipient it sent to; each sweep's first send waits until the other sweep
    has reached its own first send, so both hold claims at the same time."""

    name = "console"

    def __init__(self, met: threading.Barrier, sent: list[str]) -> None:
        self.met, self.sent, self.first = met, sent, True

    def send(self, message: notify.Message) -> str | None:
        if self.first:
            self.first = False
            self.met.wait(timeout=120)
        self.sent.append(message.recipient)
        return None


def test_two_sweeps_in_two_threads_racing_over_a_thousand_due_messages_send_each_exactly_once(bf: Bf) -> None:
    _thousand_drafts(bf)
    met = threading.Barrier(2)
    sent: list[list[str]] = [[], []]
    stores = [Store(bf.url), Store(bf.url)]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            reminders.sweep(Workspace(stores[n], clock.parse_now(NOW), "admin"), {"console": _Recorder(met, sent[n])})
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)
            met.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for store in stores:
        store.engine.dispose()
    assert errors == []
    assert all(sent), [len(s) for s in sent]  # both sweeps sent ...
    counted = Counter(r for s in sent for r in s if r.startswith("race"))
    assert len(counted) == MESSAGES, len(counted)  # ... every message ...
    assert set(counted.values()) == {1}, [a for a, n in counted.items() if n > 1][:10]  # ... and none twice

    store = Store(bf.url)
    try:
        with store.engine.connect() as conn:
            t = Outbox.__table__.c
            rows = conn.execute(sa.select(t.status, t.attempts).where(t.recipient.like("race%"))).all()
    finally:
        store.engine.dispose()
    assert len(rows) == MESSAGES
    assert set(rows) == {("sent", 1)}
