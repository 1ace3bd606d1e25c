"""Before the suite: say clearly whether the PostgreSQL tests will run (start the server if installed)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time

HOST, PORT = "127.0.0.1", 5432


def reachable() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


def try_start() -> None:
    if not shutil.which("pg_ctlcluster"):
        return
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], capture_output=True, timeout=60, check=False
    )
    for _ in range(20):
        if reachable():
            return
        time.sleep(0.5)


if __name__ == "__main__":
    if os.environ.get("BRANCHFLOW_TEST_PG") == "0":
        print("PostgreSQL tests: disabled by BRANCHFLOW_TEST_PG=0 (SQLite only).")
        sys.exit(0)
    if not reachable():
        try_start()
    if reachable():
        print(f"PostgreSQL tests: a server answers at {HOST}:{PORT}; the suite logs in and says at its end whether they ran.")
    else:
        print(f"PostgreSQL tests: SKIPPED — no server at {HOST}:{PORT} and none could be started; SQLite only.")
