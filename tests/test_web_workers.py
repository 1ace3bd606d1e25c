"""Several `branchflow serve` processes over one PostgreSQL database act as one server (issue 11: sessions, CSRF
tokens and login throttling live in the database, nothing a request needs in one process's memory).

Real processes on free ports of 127.0.0.1, spoken to over HTTP with httpx; PostgreSQL only (skipped, with the
reason, when no server answers, as every PostgreSQL test is).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import PG, PG_SKIP, Bf, drop_pg_schema, make_pg_url
from helpers import seed_roster_and_users

from cli import cli

ROOT = Path(__file__).resolve().parents[1]
NOW = "2024-05-02T09:00"
PASSWORDS = {"wenfa": "Wenfa-Pass-2024", "zzb": "Zzb-Pass-2024"}
COOKIE = "bf_session"

pytestmark = pytest.mark.skipif(not PG, reason=PG_SKIP or "")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One `branchflow serve` process (the CLI as an operator starts it) and its base address."""

    def __init__(self, url: str, env: dict[str, str], *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, str(ROOT / "cli.py"), "--db", url, "--now", NOW, "serve", "--port", str(self.port), *extra]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self) -> None:
        for _ in range(150):
            try:
                if httpx.get(self.base + "/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"serve did not start: {self.proc.communicate(timeout=10)[0]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bf, dict[str, str]]]:
    """A PostgreSQL schema of its own, seeded as the browser tests seed theirs, with two passwords set."""
    folder = tmp_path_factory.mktemp("workers")
    url = make_pg_url()
    b = Bf(url, folder, NOW)
    env = {**os.environ, "BRANCHFLOW_FILES": str(folder / "files")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRANCHFLOW_FILES", str(folder / "files"))
        seed_roster_and_users(b)
        for name, password in PASSWORDS.items():
            result = CliRunner().invoke(cli, ["--db", url, "user", "password", name], input=password + "\n")
            assert result.exit_code == 0, result.output
    yield b, env
    drop_pg_schema(url)


@pytest.fixture(scope="module")
def two(database: tuple[Bf, dict[str, str]]) -> Iterator[tuple[Served, Served]]:
    """Two separate `serve` processes on two ports over the same database."""
    b, env = database
    servers = (Served(b.url, env), Served(b.url, env))
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


def api_login(base: str, name: str, password: str) -> httpx.Response:
    return httpx.post(base + "/api/v1/login", json={"name": name, "password": password}, timeout=30)


def test_a_session_made_by_one_process_and_its_csrf_token_work_on_the_other(
    two: tuple[Served, Served], database: tuple[Bf, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two
    bf, env = database
    monkeypatch.setenv("BRANCHFLOW_FILES", env["BRANCHFLOW_FILES"])
    login = api_login(a.base, "wenfa", PASSWORDS["wenfa"])
    assert login.status_code == 200, login.text
    session, csrf = login.cookies[COOKIE], login.json()["csrf"]
    cookies = {COOKIE: session}
    assert httpx.get(b.base + "/api/v1/me", cookies=cookies, timeout=30).json()["name"] == "wenfa"
    new = {"branch": "文法学院第3教工党支部", "title": "两个进程之间的申报", "theme": "人才培养"}
    refused = httpx.post(b.base + "/api/v1/cases", json=new, cookies=cookies, timeout=30)
    assert refused.status_code == 403  # no CSRF token: nothing made
    assert bf.json("status", user="zzb") == []
    wrong = httpx.post(b.base + "/api/v1/cases", json=new, cookies=cookies, headers={"X-CSRF-Token": "x" + csrf}, timeout=30)
    assert wrong.status_code == 403
    made = httpx.post(b.base + "/api/v1/cases", json=new, cookies=cookies, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert made.status_code in (200, 201), made.text
    case_id = made.json()["id"]
    shown = bf.json("case", "show", str(case_id), user="wenfa")
    assert (shown["branch"], shown["title"]) == ("文法学院第3教工党支部", "两个进程之间的申报")
    assert httpx.get(a.base + f"/api/v1/cases/{case_id}", cookies=cookies, timeout=30).json()["title"] == "两个进程之间的申报"
    # 退出 on the second process ends the session on the first too.
    out = httpx.post(b.base + "/logout", data={"csrf": csrf}, cookies=cookies, timeout=30)
    assert out.status_code == 303
    assert httpx.get(a.base + "/api/v1/me", cookies=cookies, timeout=30).status_code == 401


def test_five_failed_logins_split_across_the_two_processes_lock_the_name_on_both(two: tuple[Served, Served]) -> None:
    a, b = two
    for server in (a, b, a, b):
        assert api_login(server.base, "zzb", "not-the-password").status_code == 401
    # After four failures the name is not locked yet: the fifth attempt is still checked (and wrong again).
    assert api_login(a.base, "zzb", "still-not-it").status_code == 401
    # Three failures on one process and two on the other: each alone would have let the name try again.
    for server in (a, b):
        locked = api_login(server.base, "zzb", PASSWORDS["zzb"])
        assert locked.status_code == 429, locked.text
        assert "请 15 分钟后再试" in locked.json()["error"]


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_serve_with_two_workers_starts_them_and_answers(database: tuple[Bf, dict[str, str]]) -> None:
    b, env = database
    served = Served(b.url, env, "--workers", "2")
    try:
        served.wait_ready()
        commands = {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in children(served.proc.pid)}
        workers = [p for p, command in commands.items() if "multiprocessing.spawn" in command]
        assert len(workers) == 2, commands
        login = api_login(served.base, "wenfa", PASSWORDS["wenfa"])
        assert login.status_code == 200, login.text
        cookies = {COOKIE: login.cookies[COOKIE]}
        # Many requests on fresh connections: whichever worker takes each, the session is known.
        answers = {httpx.get(served.base + "/api/v1/me", cookies=cookies, timeout=30).json()["name"] for _ in range(12)}
        assert answers == {"wenfa"}
    finally:
        served.stop()
