"""Start-up: `branchflow --help` and `branchflow status` on an empty database, against `python -c pass`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import backends, data
from bench.results import Results, at_most
from bench.timing import ROOT, venv_bin, wall

SECTION = "start-up"
HEAVY = ("sqlalchemy", "sqlmodel", "transitions", "apscheduler", "alembic", "openpyxl")


def heavy_imports_for_help() -> list[str]:
    """The heavy libraries that importing the CLI and building its --help loads (should be none)."""
    code = (
        "import sys, contextlib, io\n"
        "import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        cli.cli.main(['--help'], prog_name='branchflow')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def measure_common(results: Results, labels: list[str], repeat: int) -> None:
    """The backend-independent figures (measured once, shown for every backend)."""
    python = wall([sys.executable, "-c", "pass"], repeat)
    help_ = wall([venv_bin("branchflow"), "--help"], repeat)
    heavy = heavy_imports_for_help()
    for label in labels:
        results.add(SECTION, "python -c pass", label, python.seconds, "s", note=python.note())
        results.add(
            SECTION,
            "branchflow --help",
            label,
            help_.seconds,
            "s",
            target=at_most(0.3, "≤ 0.3 s"),
            note=f"{help_.note()}; " + (f"imports {', '.join(heavy)}" if heavy else "no SQLAlchemy, transitions or APScheduler imported"),
        )


def measure(results: Results, kind: str, workdir: Path, repeat: int) -> None:
    """`branchflow status` on an initialised database with no cases."""
    db = backends.create(kind, workdir, "startup")
    try:
        gen = data.empty_campaign(db)
        argv = [venv_bin("branchflow"), "--db", db.url, "--now", gen.now.isoformat(timespec="minutes"), "status"]
        w = wall(argv, repeat)
    finally:
        db.drop()
    results.add(
        SECTION, "branchflow status (empty database)", db.label, w.seconds, "s", target=at_most(0.5, "≤ 0.5 s"), pg_rule=True, note=w.note()
    )
