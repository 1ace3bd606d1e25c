"""A read command starts fast: it imports only what it needs (no migrations, engine, import or sending code)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from conftest import Bf
from servers import draft_case

from workflow.spec import yamlsrc

ROOT = Path(__file__).resolve().parents[1]

# Packages a read command must not load: each costs start-up time and none is needed to read and show.
HEAVY = ("alembic", "transitions", "openpyxl", "apscheduler", "argon2", "fastapi", "starlette", "jinja2", "aiosmtpd", "psycopg")
# Library modules a read command must not load: the engine (and its facts), intake, reminders and the writers.
NOT_FOR_READING = (
    "workflow.lifecycle.engine",
    "workflow.lifecycle.facts",
    "workflow.lifecycle.bulk",
    "workflow.db.schema",
    "workflow.db.transfer",
    "workflow.intake",
    "workflow.reminders",
    "workflow.lifecycle",  # the repository too: status and overdue read through queries alone
    "workflow.records",
    "workflow.review",
    "sqlalchemy.dialects.postgresql",  # a SQLite database needs only SQLite's dialect
)

# Runs the CLI as the console script does, in a fresh interpreter, then lists every module it imported.
PROBE = """
import json, sys
sys.argv = ["branchflow", *json.loads(sys.argv[1])]
import cli
try:
    cli.main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def imported(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(argv))], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    last = done.stdout.strip().splitlines()[-1]
    probe = json.loads(last)
    assert probe["code"] in (0, None), done.stdout + done.stderr
    return set(probe["modules"])


def offenders(modules: set[str]) -> list[str]:
    banned = (*HEAVY, *NOT_FOR_READING)
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", [("status",), ("overdue",), ("status", "--limit", "5")])
def test_a_read_command_imports_no_migrations_engine_or_sending_code(bf: Bf, command: tuple[str, ...]) -> None:
    draft_case(bf)
    modules = imported("--db", bf.url, "--now", bf.now, *command)
    assert "sqlalchemy" in modules and "workflow.reports.queries" in modules  # the probe saw the command run
    assert offenders(modules) == []


def test_help_imports_no_database_code() -> None:
    modules = imported("--help")
    assert offenders(modules) == []
    assert "sqlalchemy" not in modules and "sqlmodel" not in modules


def test_the_fast_yaml_path_reads_the_packaged_states_file_as_the_python_loader_does() -> None:
    text = resources.files("workflow.spec").joinpath("states.yaml").read_text(encoding="utf-8")
    fast, node = yamlsrc._fast_compose(text)
    assert fast and node is not None
    located = yamlsrc.load(text, "states.yaml")
    loader = yamlsrc._CLoader
    try:
        yamlsrc._CLoader = None  # the pure-Python loader alone
        slow = yamlsrc.load(text, "states.yaml")
    finally:
        yamlsrc._CLoader = loader
    assert located.data == slow.data
    assert located.lines == slow.lines


@pytest.mark.parametrize(
    "text",
    ["a: &x 1\nb: *x\n", "a: !!python/object:os.system 1\n", "a: " + "[" * 20 + "]" * 20 + "\n", "a: [1\n", "a:\n  b: 1\n c: 2\n"],
)
def test_what_the_fast_path_declines_is_left_to_the_python_loader(text: str) -> None:
    assert yamlsrc._fast_compose(text) == (False, None)
