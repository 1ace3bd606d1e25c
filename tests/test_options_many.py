"""The 待办 page asks for the options of many cases at once (`engine.options_many`): one fact gathering per
trigger for all of them, and for every case exactly the verdicts `engine.options` gives it alone.

Checked over the demo's whole 2024 season: after each step, for every user, every case they may read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from demo import season
from workflow import Store, Workspace, clock, engine, errors, queries, users
from workflow.lifecycle import facts

ADMIN = "admin"


def _users(ws: Workspace) -> list[str]:
    return [str(u["name"]) for u in users.listing(ws) if not u.get("disabled")]


def _readable(ws: Workspace) -> list[int]:
    return [row["id"] for row in queries.listing(ws, limit=1000)["cases"]]


def test_options_many_gives_each_case_the_verdicts_options_gives_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    db = tmp_path / "demo.db"
    season._write_inputs(tmp_path)
    store = Store(f"sqlite:///{db}")
    runner = CliRunner()
    compared = blocked = 0
    for step in season.season(tmp_path):
        result = runner.invoke(cli, ["--db", str(db), "--now", step.now, "--as", step.user, *step.args])
        assert result.exit_code == step.expect, (step.args, result.output)
        if not store.is_initialized():
            continue
        now = clock.parse_now(step.now)
        for name in _users(Workspace(store, now, ADMIN)):
            ws = Workspace(store, now, name)
            ids = _readable(ws)
            together = engine.options_many(ws, ids)
            assert sorted(together) == sorted(ids)
            for case_id in ids:
                alone = engine.options(ws, case_id)
                assert together[case_id] == alone, (step.now, name, case_id)
                compared += len(alone)
                blocked += sum(1 for o in alone if not o.allowed)
    assert compared > 500 and blocked > 50  # the season offers many triggers, and the rules block a good share


def test_options_many_refuses_what_options_refuses(bf) -> None:  # type: ignore[no-untyped-def]
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "以案释法", "--theme", "人才培养", user="wenfa")["id"]
    with pytest.raises(errors.NotFound):
        engine.options_many(bf.ws("wenfa"), [cid, 999])
    with pytest.raises(errors.PermissionDenied):
        engine.options_many(bf.ws("waiguo"), [cid])
    assert engine.options_many(bf.ws("wenfa"), []) == {}
    assert engine.options_many(bf.ws("wenfa"), [cid, cid]) == {cid: engine.options(bf.ws("wenfa"), cid)}


def test_options_many_gathers_facts_once_per_trigger_not_per_case(bf, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ids = [
        bf.json("case", "new", "--branch", branch, "--title", "创建", "--theme", "人才培养", user="zzb")["id"]
        for branch in ("文法学院第1学生党支部", "文法学院第2教工党支部", "外国语学院第1学生党支部")
    ]
    built: list[int] = []
    real = facts.Batch.__init__

    def counting(self, session, spec, rows, *args, **kw):  # type: ignore[no-untyped-def]
        built.append(len(rows))
        real(self, session, spec, rows, *args, **kw)

    monkeypatch.setattr(facts.Batch, "__init__", counting)
    engine.options_many(bf.ws("zzb"), ids)
    assert built and all(n == len(ids) for n in built)  # every trigger of a draft: one gathering over the three cases
