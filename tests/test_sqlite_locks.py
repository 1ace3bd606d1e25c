"""A long-running process (the web server, the scheduler) keeps its SQLite writes while CLI commands come and go.

Closing any descriptor of the database file drops every POSIX lock the process holds on it, SQLite's own
included; another process closing its connection then takes itself for the last one and deletes the WAL
the long-running process is still writing to, and those writes are lost. The file is therefore read by
Branchflow itself (its header check) only once per process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import Bf

from demo import sample
from workflow import Store, Workspace, cases, clock

ROOT = Path(__file__).resolve().parents[1]
BRANCHES = ("文法学院第1学生党支部", "外国语学院第3教工党支部", "艺术学院第1学生党支部")


def cli(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(ROOT / "cli.py"), "--db", url, "--now", "2024-04-25T09:00", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=True)


def test_writes_of_a_long_running_process_survive_other_processes_opening_and_closing_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bf.db'}"
    env = {**os.environ, "BRANCHFLOW_FILES": str(tmp_path / "files")}
    cli(url, env, "init", "--campaign", "2024")
    roster = sample.write_csv(tmp_path / "roster.csv", sample.rows())
    cli(url, env, "roster", "import", str(roster))
    cli(url, env, "case", "new", "--branch", "文法学院第1学生党支部", "--title", "t", "--theme", "人才培养")
    store = Store(url)  # the long-running process: one Store, its connections pooled and open
    ws = Workspace(store, clock.parse_now("2024-04-25T09:00"))
    for n in range(3):
        version = cases.set_fields(ws, 1, {"schedule": f"第 {n} 稿"})
        Store(url).is_initialized()  # what a request does when it builds a workspace
        seen = json.loads(cli(url, env, "--json", "case", "show", "1").stdout)
        assert (seen["version"], seen["schedule"]) == (version, f"第 {n} 稿")
    store.engine.dispose()
    assert json.loads(cli(url, env, "--json", "case", "show", "1").stdout)["schedule"] == "第 2 稿"



def test_a_process_that_created_the_database_keeps_its_writes_beside_other_processes(tmp_path: Path) -> None:
    """The header check must not read the file again once this process has it open, even when this process
    created it (its first check saw an empty file): e.g. a test that seeds a database in-process and serves it."""
    url = f"sqlite:///{tmp_path / 'bf.db'}"
    env = {**os.environ, "BRANCHFLOW_FILES": str(tmp_path / "files")}
    here = Bf(url, tmp_path)
    here.ok("init", "--campaign", "2024")  # this process creates the file (empty at first), SQLite fills it
    here.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    here.ok("user", "add", "zzb", "--role", "org")
    for n in range(3):
        made = here("case", "new", "--branch", BRANCHES[n], "--title", f"第 {n} 个", "--theme", "人才培养", user="zzb", json_out=True)
        assert made.exit_code == 0, made.output
        case_id = json.loads(made.stdout)["id"]
        seen = json.loads(cli(url, env, "--json", "case", "show", str(case_id)).stdout)  # another process opens and closes
        assert seen["title"] == f"第 {n} 个"
    assert [c["title"] for c in json.loads(cli(url, env, "--json", "status").stdout)] == ["第 0 个", "第 1 个", "第 2 个"]
    with sqlite3.connect(tmp_path / "bf.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
