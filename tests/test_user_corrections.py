"""Issue 8 item 12: corrections to users, each audited — `user set`, `user disable` (a disabled user cannot act;
history keeps the name), `user enable`; a correction that changes nothing is refused."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import Bf
from helpers import snapshot

from workflow.errors import PermissionDenied
from workflow.records import users
from workflow.workspace import Workspace


def _user_history(bf: Bf) -> list[dict[str, object]]:
    engine = sa.create_engine(bf.url)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT u.name, h.actor, h.role, h.action, h.before, h.after, h.comment FROM user_history h JOIN app_user u ON u.id = h.user_id ORDER BY h.id"
                )
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [dict(r) for r in rows]


def test_user_set_corrects_the_email_and_audits_before_and_after(bf: Bf) -> None:
    out = bf.json("user", "set", "wenfa", "--email", "zhang2@example.edu.cn", "--comment", "换了邮箱", user="zzb")
    assert out["before"] == {"email": "wenfa@example.edu.cn"} and out["after"] == {"email": "zhang2@example.edu.cn"}
    listed = {u["name"]: u for u in bf.json("user", "list", user="zzb")}
    assert listed["wenfa"]["email"] == "zhang2@example.edu.cn"
    last = _user_history(bf)[-1]
    assert (last["name"], last["actor"], last["role"], last["action"], last["comment"]) == ("wenfa", "zzb", "org", "set", "换了邮箱")
    assert json.loads(str(last["before"])) == {"email": "wenfa@example.edu.cn"}


def test_user_set_moves_a_committee_user_and_checks_the_scope(bf: Bf) -> None:
    out = bf.json("user", "set", "wenfa", "--committee", "外国语学院分党委", user="zzb")
    assert out["after"] == {"committee": "外国语学院分党委"}
    assert {b["committee"] for b in bf.json("branch", "list", user="wenfa")} == {"外国语学院分党委"}
    # a branch user needs a branch; a wrong name is not found; nothing changes on a refusal
    before = snapshot(bf)
    assert bf("user", "set", "wenfa", "--role", "branch", user="zzb").exit_code == 2
    assert bf("user", "set", "wenfa", "--committee", "不存在的分党委", user="zzb").exit_code == 3
    assert bf("user", "set", "wenfa", "--email", "not-an-email", user="zzb").exit_code == 2
    assert snapshot(bf) == before


def test_a_correction_that_changes_nothing_is_refused_and_writes_no_audit_row(bf: Bf) -> None:
    before = snapshot(bf)
    result = bf("user", "set", "wenfa", "--email", "wenfa@example.edu.cn", user="zzb")
    assert result.exit_code == 2 and "未变" in result.stderr
    assert snapshot(bf) == before


def test_only_org_corrects_users(bf: Bf) -> None:
    assert bf("user", "set", "zhibu1", "--email", "a@example.edu.cn", user="wenfa").exit_code == 1
    assert bf("user", "disable", "zhibu1", user="wenfa").exit_code == 1


def test_a_disabled_user_cannot_act_and_history_keeps_the_name(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "党建引领育人", "--theme", "人才培养", user="wenfa")["id"]
    out = bf.json("user", "disable", "wenfa", "--reason", "调离", user="zzb")
    assert out["after"] == {"disabled": True}
    refused = bf("case", "show", str(cid), user="wenfa")
    assert refused.exit_code == 1 and "已停用" in refused.stderr
    assert {u["name"]: u["disabled"] for u in bf.json("user", "list", user="zzb")}["wenfa"] is True
    assert bf.json("case", "history", str(cid), user="zzb")[0]["actor"] == "wenfa"
    assert bf("user", "disable", "wenfa", user="zzb").exit_code == 2  # already disabled: a no-op is refused
    assert bf("user", "disable", "zzb", user="zzb").exit_code == 1  # nobody disables themselves
    bf.ok("user", "enable", "wenfa", user="zzb")
    assert bf("case", "show", str(cid), user="wenfa").exit_code == 0
    assert [h["action"] for h in _user_history(bf) if h["name"] == "wenfa"] == ["add", "disable", "enable"]


def test_disabling_removes_the_way_in_password_sessions_and_tokens(bf: Bf) -> None:
    from workflow.dates import clock
    from workflow.db.store import Store
    from workflow.records import auth

    store = Store(bf.url)
    ws = Workspace(store, clock.parse_now("2024-05-01T09:00"), "zzb")
    auth.set_password(ws, "wenfa", "Wenfa-2024-pass")
    auth.new_token(ws, "wenfa", "脚本")
    login = auth.login(store, "wenfa", "Wenfa-2024-pass", "127.0.0.1", ws.now)
    assert login.token
    users.disable(ws, "wenfa", "调离")
    engine = sa.create_engine(bf.url)
    with engine.connect() as conn:
        uid = conn.execute(sa.text("SELECT id FROM app_user WHERE name = 'wenfa'")).scalar_one()
        for table in ("web_session", "credential", "api_token"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE user_id = :u"), {"u": uid}).scalar_one() == 0
    engine.dispose()
    with store.read() as s, pytest.raises(PermissionDenied, match="已停用"):
        Workspace(store, ws.now, "wenfa").actor(s)


def test_user_history_is_append_only(bf: Bf) -> None:
    bf.ok("user", "set", "wenfa", "--email", "zhang2@example.edu.cn", user="zzb")
    engine = sa.create_engine(bf.url)
    for statement in ("UPDATE user_history SET actor = 'x'", "DELETE FROM user_history"):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()
