"""A long-running process (the web server, the scheduler) keeps its SQLite writes while CLI commands come and go.

Closing any descriptor of the database file drops every POSIX lock the process holds on it, SQLite's own
included; another process closing its connection then takes itself for the last one and deletes the WAL
the long-running process is still writing to, and those writes are lost. The file is therefore read by
Branchflow itself (its header check) only once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from demo import sample
from workflow import Store, Workspace, cases, clock

ROOT = Path(__file__).resolve().parents[1]


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
