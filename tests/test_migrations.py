"""Schema migrations: models and migrations agree, upgrades keep every row, history stays append-only, copy."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Bf, drop_pg_schema, make_pg_url, ready_case

from demo import sample
from workflow.db import migrations, schema, transfer
from workflow.db.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORE = importlib.import_module("workflow.db.migrations.versions.0001_core")
CORE_TABLES = ["spec", "campaign", "campaign_due", "committee", "branch", "app_user", "cases", "attachment", "waiver", "history"]


@pytest.fixture
def old_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same backend as `db_url`, to hold the previous schema."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = make_pg_url()
    yield url
    drop_pg_schema(url)


def dump(url: str, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (or of the given tables and columns), in id order."""
    store = Store(url)
    with store.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        tables = [t for t in meta.sorted_tables if t.name != "alembic_version" and (columns is None or t.name in columns)]
        out = {}
        for t in tables:
            cols = [t.c[name] for name in (columns[t.name] if columns else t.c.keys())]
            out[t.name] = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(t.c.id))]
    store.engine.dispose()
    return out


def columns_of(url: str) -> dict[str, list[str]]:
    """Each table's columns as the database has them."""
    store = Store(url)
    with store.connect() as conn:
        inspector = sa.inspect(conn)
        found = {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names() if t != "alembic_version"}
    store.engine.dispose()
    return found


def load(url: str, rows: dict[str, list[tuple[Any, ...]]], columns: dict[str, list[str]]) -> None:
    """Insert dumped rows, ids included, into a database whose tables have (at least) `columns`."""
    store = Store(url)
    with store.connect() as conn, conn.begin():
        meta = sa.MetaData()
        meta.reflect(conn)
        for t in meta.sorted_tables:
            if rows.get(t.name):
                conn.execute(t.insert(), [dict(zip(columns[t.name], r, strict=True)) for r in rows[t.name]])
        if store.dialect == "postgresql":
            transfer.reset_sequences(conn, [t for t in meta.sorted_tables if "id" in t.c])
    store.engine.dispose()


def fill(bf: Bf) -> int:
    """Rows in every core table: campaign, dues, committees, branches, users, cases, attachments, a waiver, history."""
    cid = ready_case(bf)
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa")
    bf.ok("waive", str(cid), "--rule", "R2", "--reason", "学校党委同意继续参与")
    return ready_case(bf, "外国语学院第3教工党支部", "waiguo")


def assert_append_only(url: str) -> None:
    """UPDATE and DELETE on history fail in the database itself."""
    store = Store(url)
    for statement in ("UPDATE history SET comment = 'changed'", "DELETE FROM history"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.connect() as conn, conn.begin():
            conn.execute(sa.text(statement))
    store.engine.dispose()


def make_previous_schema(url: str, how: str) -> None:
    """The schema as it was before the newest migrations: at revision 0001, or made by an old `init` (create_all)."""
    if how == "alembic":
        assert schema.upgrade(Store(url), schema.FIRST).after == schema.FIRST
        return
    # An old `init` made exactly revision 0001's tables with create_all and recorded no revision.
    store = Store(url)
    schema.upgrade(store, schema.FIRST)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    store.engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    store = Store(db_url)
    store.create_schema()
    assert schema.current(store) == schema.head()
    assert schema.differences(store) == [], "models.py changed without a migration: run schema.new_revision()"
    if store.dialect == "postgresql":  # the version table lives in the database's own schema, like the tables
        with store.connect() as conn:
            found = conn.execute(sa.text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'"))
            assert conn.execute(sa.text("SELECT current_schema()")).scalar() in set(found.scalars())
            assert conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar() is None


def test_revision_0001_is_the_core_schema(db_url: str) -> None:
    schema.upgrade(Store(db_url), schema.FIRST)
    assert sorted(columns_of(db_url)) == sorted(CORE_TABLES)
    store = Store(db_url)
    with store.connect() as conn:
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("cases")}
        triggers = (
            {r[0] for r in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
            if store.dialect == "sqlite"
            else {
                r[0]
                for r in conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'history'::regclass AND NOT tgisinternal"))
            }
        )
    assert {"ix_cases_state_due", "ix_cases_campaign_branch"} <= indexes
    assert triggers == ({"history_no_update", "history_no_delete"} if store.dialect == "sqlite" else {"history_append_only"})


def test_db_upgrade_creates_the_schema_and_twice_is_a_no_op(db_url: str, tmp_path: Path) -> None:
    bf = Bf(db_url, tmp_path)
    head = schema.head()
    assert bf.json("db", "upgrade") == {"before": None, "after": head, "adopted": False}
    before = columns_of(db_url)
    assert bf.ok("db", "upgrade").output == f"数据库结构已是最新版本 {head}，未做修改。\n"
    assert bf.json("db", "upgrade") == {"before": head, "after": head, "adopted": False}
    assert columns_of(db_url) == before
    bf.ok("init", "--campaign", "2024")
    bf.ok("init", "--campaign", "2024")


@pytest.mark.parametrize("how", ["alembic", "create_all"])
def test_upgrade_from_the_previous_schema_keeps_every_row(bf: Bf, old_url: str, tmp_path: Path, how: str) -> None:
    cid = fill(bf)
    make_previous_schema(old_url, how)
    previous = columns_of(old_url)
    rows = dump(bf.url, previous)
    assert all(rows[t] for t in ("campaign", "branch", "cases", "attachment", "waiver", "history"))
    load(old_url, rows, previous)

    old = Bf(old_url, tmp_path)
    if how == "create_all":  # an old `init`'s database: no alembic_version, adopted as 0001 by the next init
        assert "已存在" in old.ok("init", "--campaign", "2024").output
        assert schema.current(Store(old_url)) == schema.head()
    else:
        assert old.json("db", "upgrade") == {"before": schema.FIRST, "after": schema.head(), "adopted": False}
    assert dump(old_url, previous) == rows
    assert schema.differences(Store(old_url)) == []
    assert_append_only(old_url)
    # The upgraded database keeps working: new rows get new ids after the copied ones.
    old.ok("advance", str(cid), "submit", "--data", "attest=true", user="waiguo")
    assert [h["trigger"] for h in old.json("case", "history", str(cid))][-1] == "submit"


def test_a_legacy_database_is_adopted_by_db_upgrade(db_url: str, tmp_path: Path) -> None:
    make_previous_schema(db_url, "create_all")
    assert Bf(db_url, tmp_path).json("db", "upgrade") == {"before": schema.FIRST, "after": schema.head(), "adopted": True}


def test_history_is_append_only_on_a_fresh_database(bf: Bf) -> None:
    fill(bf)
    assert_append_only(bf.url)


def test_two_inits_at_once_in_two_processes_make_one_schema_and_one_campaign(db_url: str, tmp_path: Path) -> None:
    # Each init first runs what `db upgrade` runs (Store.create_schema), so this races the migrations too.
    argv = [sys.executable, str(ROOT / "cli.py"), "--db", db_url, "--now", "2024-04-25T09:00", "init", "--campaign", "2024"]
    procs = [subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    assert schema.current(Store(db_url)) == schema.head()
    counts = {t: len(r) for t, r in dump(db_url).items()}
    assert (counts["campaign"], counts["app_user"], counts["spec"]) == (1, 1, 1)


def test_db_copy_keeps_every_row_and_resets_sequences(db_url: str, tmp_path: Path) -> None:
    source = Bf(f"sqlite:///{tmp_path / 'source.db'}", tmp_path)
    source.ok("init", "--campaign", "2024")
    source.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    source.ok("user", "add", "wenfa", "--role", "committee", "--committee", "文法学院分党委")
    source.ok("user", "add", "waiguo", "--role", "committee", "--committee", "外国语学院分党委")
    cid = fill(source)
    copied = source.json("db", "copy", "--to", db_url)
    before = dump(source.url)
    assert copied["tables"] == {t: len(r) for t, r in before.items()}
    assert dump(db_url) == before
    back = f"sqlite:///{tmp_path / 'back.db'}"  # and the other way, e.g. an offline copy of a PostgreSQL database
    assert Bf(db_url, tmp_path).json("db", "copy", "--to", back) == copied
    assert dump(back) == before

    target = Bf(db_url, tmp_path)
    target.ok("advance", str(cid), "submit", "--data", "attest=true", user="waiguo")
    history = dump(db_url)["history"]
    assert history[-1][0] == before["history"][-1][0] + 1
    assert_append_only(db_url)
    again = source("db", "copy", "--to", db_url)
    assert again.exit_code == 2 and "目标数据库不是空的" in again.output


def test_db_copy_refuses_a_source_not_initialized_or_not_upgraded(tmp_path: Path) -> None:
    source = Bf(f"sqlite:///{tmp_path / 'source.db'}", tmp_path)
    to = f"sqlite:///{tmp_path / 'target.db'}"
    assert source("db", "copy", "--to", to).output == "源数据库尚未初始化，没有可复制的数据：请检查 --db。\n"
    make_previous_schema(source.url, "create_all")
    result = source("db", "copy", "--to", to)
    assert (result.exit_code, result.output) == (
        2,
        f"源数据库由旧版 init 建立（未记录结构版本），不是最新的 {schema.head()}：请先对它运行 branchflow db upgrade。\n",
    )
    assert source("db", "copy", "--to", source.url).output == "源数据库和目标数据库是同一个：请用 --to 指定另一个数据库。\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bf:secret@127.0.0.1:1/branchflow", "无法连接数据库 postgresql+psycopg://bf:***@127.0.0.1:1/branchflow："),
        ("sqlite:////no/such/folder/bf.db", "无法连接数据库 sqlite:////no/such/folder/bf.db：unable to open database file。"),
    ],
)
def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path, url: str, shown: str) -> None:
    for argv in (["db", "upgrade"], ["init"], ["status"], ["db", "copy", "--to", f"sqlite:///{tmp_path / 'x.db'}"]):
        result = Bf(url, tmp_path)(*argv)
        assert result.exit_code == 2, result.output
        assert result.output.startswith(shown) and result.output.count("\n") == 1, result.output


def test_a_database_newer_than_the_program_is_refused(bf: Bf) -> None:
    with Store(bf.url).engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    upgrade, status = bf("db", "upgrade"), bf("status")
    assert (upgrade.exit_code, status.exit_code) == (2, 2)
    assert upgrade.output.startswith("数据库结构版本 9999 不是本程序认识的版本")
    assert status.output == f"数据库结构版本 9999 比本程序的 {schema.head()} 新（可能另一台机器已升级）：请先升级 Branchflow。\n"


@pytest.mark.parametrize(
    ("how", "shown"), [("alembic", f"数据库结构版本 {schema.FIRST} "), ("create_all", "数据库由旧版 init 建立（未记录结构版本），")]
)
def test_a_command_on_the_previous_schema_says_to_run_db_upgrade(db_url: str, tmp_path: Path, how: str, shown: str) -> None:
    make_previous_schema(db_url, how)
    load(db_url, {"app_user": [(1, "admin", "org", None, None, "")]}, {"app_user": columns_of(db_url)["app_user"]})
    result = Bf(db_url, tmp_path)("status")
    assert (result.exit_code, result.output) == (
        2,
        f"{shown}落后于本程序的 {schema.head()}：请先运行 branchflow db upgrade（数据全部保留）。\n",
    )


def test_every_command_can_check_the_revision_without_alembic() -> None:
    assert migrations.latest() == schema.head()


def test_migrations_ship_in_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert {"workflow.db.migrations", "workflow.db.migrations.versions"} <= set(config["packages"])
    assert "script.py.mako" in config["package-data"]["workflow.db.migrations"]
