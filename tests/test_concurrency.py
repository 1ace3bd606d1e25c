"""Several real `branchflow` processes against one database (a SQLite file, or one PostgreSQL schema).

Each process runs the real CLI (`cli.main`) with its own connection, never a thread sharing a session:
racing processes are forked from the test and released together by a barrier; the process killed in the
middle of `advance-many` is a separate interpreter started like the console script. Every test runs on SQLite and on
PostgreSQL; without a usable server the PostgreSQL half is skipped with the reason (conftest's `db_url`).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from conftest import PG_BASE, PLAN, START, Bf
from helpers import spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

import cli
from workflow.dates import clock
from workflow.db.models import Branch, Campaign, CampaignDue, Case, History
from workflow.db.store import Store
from workflow.spec import rules

ROOT = Path(__file__).resolve().parents[1]
REVIEW = "2024-05-10T10:00"
N = 3  # processes racing for one case
FORK = multiprocessing.get_context("fork")


def _run_cli(argv: list[str], out: str, start: Any) -> None:
    """In a forked child: wait for the common start, run the real CLI, and leave with its exit code.

    os._exit, not sys.exit: the connections inherited from the parent are not the child's to close.
    """
    code = 70
    with open(out, "w", encoding="utf-8") as fh:
        sys.stdout = fh
        start.wait()
        try:
            cli.cli.main(args=argv, prog_name="branchflow")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        fh.flush()
    os._exit(code)


def start_together(bf: Bf, commands: list[list[str]], user: str = "zzb", now: str = REVIEW) -> list[tuple[int, Any]]:
    """Run the commands as separate processes released at the same moment; return (exit code, JSON output) each.

    The processes are forked from this one, so they start without an interpreter start-up, and each opens
    its own connection as `branchflow` would.
    """
    start = FORK.Barrier(len(commands) + 1)
    procs = []
    for i, command in enumerate(commands):
        out = bf.tmp / f"out-{uuid.uuid4().hex[:8]}-{i}.json"
        argv = ["--db", bf.url, "--now", now, "--as", user, "--json", *command]
        proc = FORK.Process(target=_run_cli, args=(argv, str(out), start))
        proc.start()
        procs.append((proc, out))
    start.wait(timeout=60)
    results = []
    for proc, out in procs:
        proc.join(timeout=60)
        text = out.read_text(encoding="utf-8")
        results.append((proc.exitcode, json.loads(text) if text.strip() else None))
    return results


def case_row(bf: Bf, cid: int) -> tuple[str, int, list[str]]:
    """(state, version, triggers of its history) read straight from the database."""
    store = Store(bf.url)
    with store.read() as s:
        state, version = s.execute(sa.select(Case.state, Case.version).where(Case.id == cid)).one()
        triggers = list(s.execute(sa.select(History.trigger).where(History.case_id == cid).order_by(History.id)).scalars())
    store.engine.dispose()
    return state, version, triggers


def drafts(bf: Bf, *branches: str) -> list[int]:
    """Ready drafts for these branches, from one `case import` (org)."""
    folder = bf.tmp / f"sheet-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "form.docx").write_bytes(b"PK\x03\x04form")
    (folder / "scan.pdf").write_bytes(b"%PDF-scan")
    with (folder / "cases.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["支部名称", "项目名称", "创建方向", "方向说明", *rules.PLAN_FIELDS.values(), "申报表文件", "盖章扫描件"])
        w.writerows([b, f"{b}特色创建", "人才培养", "", *PLAN.values(), "form.docx", "scan.pdf"] for b in branches)
    return [c["id"] for c in bf.json("case", "import", str(folder / "cases.csv"))["cases"]]


def submitted(bf: Bf, *branches: str) -> list[int]:
    cases = drafts(bf, *branches)
    assert bf("advance-many", "submit", "--ids", ",".join(map(str, cases)), "--data", "attest=true").exit_code == 0
    return cases


def test_same_trigger_on_the_same_case_exactly_one_wins_the_others_conflict(bf: Bf) -> None:
    """Everyone read the same version (--expect-version) before the winner committed: the losers get exit 4."""
    (cid,) = submitted(bf, "文法学院第1学生党支部")
    seen = bf.json("case", "show", str(cid))["version"]
    results = start_together(bf, [["advance", str(cid), "pass_review", "--expect-version", str(seen)]] * N)
    assert sorted(code for code, _ in results) == [0] + [4] * (N - 1), results
    for code, doc in results:
        if code == 4:
            assert doc["code"] == 4 and ("已被他人修改" in doc["error"] or "刚被他人修改" in doc["error"]), doc
    assert case_row(bf, cid) == ("preliminary_review", seen + 1, ["create", "attach", "attach", "submit", "pass_review"])


def test_same_trigger_without_expect_version_losers_get_4_or_1_never_a_second_write(bf: Bf) -> None:
    """Without --expect-version a loser read either before the winner committed (4) or after (1: no longer possible)."""
    (cid,) = submitted(bf, "文法学院第1学生党支部")
    seen = bf.json("case", "show", str(cid))["version"]
    results = start_together(bf, [["advance", str(cid), "pass_review"]] * N)
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and set(codes[1:]) <= {1, 4}, results
    for code, doc in results:
        if code == 1:
            assert doc["error"].startswith(f"申报 {cid} 当前状态为“初审通过，待评审”，不能执行“初审通过”（pass_review）")
    state, version, triggers = case_row(bf, cid)
    assert (state, version, triggers.count("pass_review")) == ("preliminary_review", seen + 1, 1)


def test_different_triggers_on_different_cases_all_succeed(bf: Bf) -> None:
    """No false conflicts: four processes, four cases, four triggers (two of them submits checking every rule), all done."""
    review, reject = submitted(bf, "理学院第1学生党支部", "艺术学院第1学生党支部")
    wenfa, waiguo = drafts(bf, "文法学院第1学生党支部", "外国语学院第3教工党支部")
    commands = [
        ["advance", str(review), "pass_review"],
        ["advance", str(reject), "reject"],
        ["--as", "wenfa", "advance", str(wenfa), "submit", "--data", "attest=true"],
        ["--as", "waiguo", "advance", str(waiguo), "submit", "--data", "attest=true"],
    ]
    results = start_together(bf, commands, now="2024-05-01T10:00")
    assert [code for code, _ in results] == [0] * 4, results
    assert [case_row(bf, c)[:2] for c in (review, reject, wenfa, waiguo)] == [
        ("preliminary_review", 3),
        ("rejected", 3),
        ("submitted", 2),
        ("submitted", 2),
    ]


def seed_submitted(bf: Bf, n: int) -> None:
    """n cases in `submitted`, inserted directly (this test is about writing them, not about the rules)."""
    store = Store(bf.url)
    with store.write() as s:
        campaign = s.execute(sa.select(Campaign.id)).scalar_one()
        due = s.execute(
            sa.select(CampaignDue.due_at).where(CampaignDue.campaign_id == campaign, CampaignDue.state == "submitted")
        ).scalar_one()
        branches = list(s.execute(sa.select(Branch.id)).scalars())
        now = clock.to_db(clock.parse_now(START))
        rows = [
            {
                "campaign_id": campaign,
                "branch_id": branches[i % len(branches)],
                "title": f"申报{i}",
                "theme": "人才培养",
                "state": "submitted",
                "due_at": due,
                "version": 1,
                "criteria": "",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        s.connection().execute(sa.insert(Case), rows)
    store.engine.dispose()


class WriterProbe:
    """Tells from outside whether the advance-many process is inside a chunk's transaction right now."""

    def __init__(self, url: str, app: str) -> None:
        self.url, self.app = url, app
        if url.startswith("sqlite:///"):
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        else:
            self.engine = sa.create_engine(PG_BASE)
            self.conn = self.engine.connect()

    def in_transaction(self) -> bool:
        if self.url.startswith("sqlite:///"):
            try:
                self.conn.execute("BEGIN IMMEDIATE")  # refused at once while the writer holds the lock
            except sqlite3.OperationalError:
                return True
            self.conn.execute("ROLLBACK")
            return False
        # A transaction id is assigned at its first write (the chunk's row locks count).
        found = self.conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app AND backend_xid IS NOT NULL"), {"app": self.app}
        ).scalar_one()
        self.conn.commit()
        return bool(found)

    def close(self) -> None:
        self.conn.close()
        if hasattr(self, "engine"):
            self.engine.dispose()


def test_a_process_killed_in_the_middle_of_advance_many_keeps_whole_chunks_and_a_rerun_finishes(bf: Bf) -> None:
    total, chunk = 6000, 500
    seed_submitted(bf, total)
    app = f"bf-{uuid.uuid4().hex[:8]}"
    url = bf.url if bf.url.startswith("sqlite") else f"{bf.url}&application_name={app}"
    out = bf.tmp / "advance-many.out"
    argv = ["--db", url, "--now", REVIEW, "--as", "zzb", "advance-many", "pass_review", "--state", "submitted", "--chunk-size", str(chunk)]
    with out.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *argv], cwd=ROOT, stdout=fh, stderr=subprocess.DEVNULL)
    probe = WriterProbe(bf.url, app)
    try:
        deadline = time.monotonic() + 60
        # Wait until a first chunk was committed (its lines are printed after the commit) and the next one is being written.
        while not (out.stat().st_size > 0 and probe.in_transaction()):
            assert proc.poll() is None, "advance-many finished before it could be interrupted: make the run longer"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        probe.close()
    store = Store(bf.url)
    with store.read() as s:
        rows = s.execute(sa.select(Case.id, Case.state, Case.version)).all()
        written = dict(
            s.execute(sa.select(History.case_id, sa.func.count()).where(History.trigger == "pass_review").group_by(History.case_id)).all()
        )
    store.engine.dispose()
    done = [r for r in rows if r.state == "preliminary_review"]
    untouched = [r for r in rows if r.state == "submitted"]
    # Completed chunks stay, whole; the chunk in progress and the rest are untouched.
    assert len(done) + len(untouched) == total
    assert 0 < len(done) < total and len(done) % chunk == 0, len(done)
    assert all(r.version == 2 and written.get(r.id) == 1 for r in done)
    assert all(r.version == 1 and r.id not in written for r in untouched)
    # Running the same command again finishes the rest.
    rerun = bf("advance-many", "pass_review", "--state", "submitted", user="zzb", now=REVIEW)
    assert rerun.exit_code == 0 and rerun.stderr == f"共 {len(untouched)} 个申报：完成 {len(untouched)} 个，拒绝 0 个。\n"
    store = Store(bf.url)
    with store.read() as s:
        assert s.execute(sa.select(sa.func.count()).where(Case.state == "preliminary_review")).scalar_one() == total
        assert s.execute(sa.select(sa.func.count()).where(History.trigger == "pass_review")).scalar_one() == total
    store.engine.dispose()
