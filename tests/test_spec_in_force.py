"""The spec a database runs: `graph` draws it, and `init` / `check-states --db` compare a new file against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from workflow import Store, spec, workspace

ROOT = Path(__file__).resolve().parents[1]


def custom_file(tmp_path: Path, old: str, new: str, name: str = "custom.yaml") -> Path:
    text = spec.packaged_text()
    assert text.count(old) == 1
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_graph_draws_the_spec_the_database_runs_after_init_with_a_custom_file(tmp_path: Path) -> None:
    db = str(tmp_path / "bf.db")
    custom = custom_file(tmp_path, "label: 退回修改", "label: 退回分党委修改")
    assert run("--db", db, "--now", "2024-04-25", "init", "--states", str(custom), "--campaign", "2024")[0] == 0
    code, drawn, _ = run("--db", db, "graph")
    assert code == 0
    assert "退回分党委修改" in drawn and "退回修改" not in drawn.replace("退回分党委修改", "")
    # --states still draws the given file, whatever the database runs.
    assert "退回分党委修改" not in run("--db", db, "graph", "--states", str(ROOT / "states.yaml"))[1]


@pytest.mark.parametrize("kind", ["missing file", "empty file"])
def test_graph_without_a_database_draws_the_packaged_spec_and_creates_no_file(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "none.db"
    if kind == "empty file":
        db.write_bytes(b"")
    code, drawn, _ = run("--db", str(db), "graph")
    assert code == 0
    assert "退回修改" in drawn
    assert db.exists() == (kind == "empty file")


def test_spec_in_force_is_none_without_a_database_and_the_stored_spec_with_one(tmp_path: Path) -> None:
    db = str(tmp_path / "bf.db")
    assert workspace.spec_in_force(Store(db)) is None
    assert not Path(db).exists()
    custom = custom_file(tmp_path, "excellent_score: 90", "excellent_score: 85")
    assert run("--db", db, "--now", "2024-04-25", "init", "--states", str(custom), "--campaign", "2024")[0] == 0
    found = workspace.spec_in_force(Store(db))
    assert found is not None and found.rules.excellent_score == 85
