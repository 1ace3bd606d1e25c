"""The web application under load: a real `branchflow serve` (uvicorn) over the national campaign, 20 concurrent
clients (httpx), and the server-side time of each request (the app's `Server-Timing: app;dur=…` header).

Measured: the 申报 list's first page (org), a committee user's 待办, the 看板 (org), and an API advance
(`POST /api/v1/cases/{id}/advance` with a Bearer token, one distinct case per request). Targets (issue 11):
p95 ≤ 100 ms for the list and 待办, ≤ 300 ms for the 看板, on SQLite; PostgreSQL within 3× of SQLite.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.data import Generated
from bench.results import Results, at_most
from bench.timing import ROOT, venv_bin

CLIENTS = 20
PASSWORD = "Bench-2024-pass"
TIMING = re.compile(r"app;dur=([0-9.]+)")


def section(gen: Generated) -> str:
    """The section title for this dataset."""
    return f"web pages under {CLIENTS} concurrent clients over {gen.cases:,} cases (server-side time per request)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _users(gen: Generated) -> tuple[str, str]:
    """An org user and a committee user with passwords, and an API token for org (through the library)."""
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.records import auth, users
    from workflow.workspace import Workspace

    store = Store(gen.db.url)
    ws = Workspace(store, gen.now, "admin")
    committee = _first_committee(store)
    existing = {u["name"] for u in users.listing(ws)}
    for name, role, scope in (("bench-org", "org", None), ("bench-committee", "committee", committee)):
        if name not in existing:
            users.add(ws, name, role, scope)
        auth.set_password(ws, name, PASSWORD)
    token = auth.new_token(Workspace(store, clock.parse_now(gen.now.isoformat()), "bench-org"), "bench-org", "bench")["token"]
    return committee, str(token)


def _first_committee(store: Any) -> str:
    from sqlalchemy import select
    from sqlmodel import col

    from workflow.db.models import Committee

    with store.read() as s:
        return str(s.execute(select(col(Committee.name)).order_by(col(Committee.id)).limit(1)).scalar_one())


def _submitted(gen: Generated, n: int) -> list[int]:
    from sqlalchemy import select
    from sqlmodel import col

    from workflow.db.models import Case
    from workflow.db.store import Store

    with Store(gen.db.url).read() as s:
        return [
            int(i) for i in s.execute(select(col(Case.id)).where(col(Case.state) == "submitted").order_by(col(Case.id)).limit(n)).scalars()
        ]


class Server:
    """`branchflow serve` in a child process, at the dataset's simulated time."""

    def __init__(self, gen: Generated) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [
            venv_bin("branchflow"),
            "--db",
            gen.db.url,
            "--now",
            gen.now.isoformat(timespec="minutes"),
            "serve",
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))

    def wait(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serve exited {self.proc.returncode}: {self.proc.stderr.read().decode(errors='replace')[-2000:] if self.proc.stderr else ''}"
                )
            try:
                if httpx.get(f"{self.base}/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("serve did not answer within the time allowed")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _login(base: str, name: str) -> Any:
    import httpx

    client = httpx.Client(base_url=base, timeout=60)
    answer = client.post("/api/v1/login", json={"name": name, "password": PASSWORD})
    if answer.status_code != 200:
        raise RuntimeError(f"login as {name}: HTTP {answer.status_code} {answer.text[:200]}")
    return client


def load(make_request: Callable[[Any, int], Any], clients: list[Any], total: int) -> tuple[list[float], int]:
    """`total` requests spread over the clients, each in its own thread; the server-side times (ms), errors."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))

    def worker(client: Any) -> None:
        nonlocal errors
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            answer = make_request(client, n)
            found = TIMING.search(answer.headers.get("server-timing", ""))
            with lock:
                if answer.status_code >= 400 or found is None:
                    errors += 1
                else:
                    times.append(float(found.group(1)))

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure(results: Results, gen: Generated, requests: int = 400) -> None:
    """Every web figure on one backend."""
    import httpx

    name = section(gen)
    backend = gen.db.label
    committee, token = _users(gen)
    cases = _submitted(gen, requests)
    server = Server(gen)
    try:
        server.wait()
        org = [_login(server.base, "bench-org") for _ in range(CLIENTS)]
        committee_users = [_login(server.base, "bench-committee") for _ in range(CLIENTS)]
        bearer = [httpx.Client(base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {token}"}) for _ in range(CLIENTS)]
        plan: list[tuple[str, list[Any], Callable[[Any, int], Any], float, int]] = [
            ("申报 list, first page (org)", org, lambda c, n: c.get("/cases"), 100, requests),
            (f"待办 of a committee user ({committee})", committee_users, lambda c, n: c.get("/"), 100, requests),
            ("看板 (org)", org, lambda c, n: c.get("/board"), 300, max(CLIENTS, requests // 4)),
            (
                "API advance (pass_review, one case per request, Bearer token)",
                bearer,
                lambda c, n: c.post(f"/api/v1/cases/{cases[n]}/advance", json={"trigger": "pass_review"}),
                100,
                len(cases),
            ),
        ]
        for label, clients, request, bound, total in plan:
            if not label.startswith("API"):  # warm the caches with a read (an advance is not repeatable)
                request(clients[0], 0)
            times, errors = load(request, clients, total)
            note = f"{len(times):,} requests, {errors:,} errors; p50 {percentile(times, 50):.1f} ms"
            results.add(name, f"{label}: p50", backend, percentile(times, 50), "ms", pg_rule=True)
            results.add(
                name,
                f"{label}: p95",
                backend,
                percentile(times, 95),
                "ms",
                target=at_most(bound, f"≤ {bound:.0f} ms"),
                pg_rule=True,
                note=note,
            )
        for c in (*org, *committee_users, *bearer):
            c.close()
    finally:
        server.stop()
