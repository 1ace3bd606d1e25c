"""Web logins in the library: argon2id passwords, database sessions, throttling, API tokens, and their CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import Bf, at

from cli import cli
from workflow import auth
from workflow.db.store import Store
from workflow.errors import BranchflowError, PermissionDenied, UsageError

NOW = at("2024-05-02T09:00")


def set_pw(bf: Bf, name: str, password: str, *extra: str, user: str | None = None) -> object:
    argv = ["--db", bf.url, "--now", bf.now, *(["--as", user] if user else []), "user", "password", name, *extra]
    return CliRunner().invoke(cli, argv, input=password + "\n", catch_exceptions=False)


def test_user_password_from_a_pipe_stores_an_argon2id_hash_only(bf: Bf) -> None:
    result = set_pw(bf, "wenfa", "Wenfa-2024")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "已设置用户 wenfa 的密码" in result.output  # type: ignore[attr-defined]
    store = Store(bf.url)
    with store.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM credential")).scalar_one()
    assert stored.startswith("$argon2id$") and "Wenfa-2024" not in stored
    assert auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW).name == "wenfa"


@pytest.mark.parametrize(("password", "message"), [("short", "密码太短：至少 8 个字符。"), ("wenfa", "密码太短"), ("WENFAwenfa", "")])
def test_user_password_refuses_short_passwords_and_the_user_name(bf: Bf, password: str, message: str) -> None:
    bf.ok("user", "add", "wenfawenfa", "--role", "reviewer")
    name = "wenfawenfa" if not message else "wenfa"
    result = set_pw(bf, name, password)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert (message or "密码不能与用户名相同：请换一个。") in result.output  # type: ignore[attr-defined]
    assert not auth.has_password(Store(bf.url), name)


def test_only_org_or_the_user_sets_a_password(bf: Bf) -> None:
    result = set_pw(bf, "waiguo", "Secret-123", user="wenfa")
    assert result.exit_code == 1 and "权限不足" in result.output  # type: ignore[attr-defined]
    assert set_pw(bf, "wenfa", "Secret-123", user="wenfa").exit_code == 0  # type: ignore[attr-defined]


def test_wrong_name_and_wrong_password_get_one_message(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    for name, pw in (("wenfa", "wrong-password"), ("nobody", "Wenfa-2024"), ("expert", "whatever1")):
        with pytest.raises(auth.LoginFailed) as err:
            auth.login(store, name, pw, "10.0.0.1", NOW)
        assert err.value.message == "用户名或密码错误。"


def test_five_failures_for_one_name_lock_it_for_15_minutes(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    for i in range(5):
        with pytest.raises(auth.LoginFailed):
            auth.login(store, "wenfa", "wrong", f"10.0.0.{i}", NOW + timedelta(minutes=i))
    with pytest.raises(auth.Throttled, match="请 15 分钟后再试"):
        auth.login(store, "wenfa", "Wenfa-2024", "10.9.9.9", NOW + timedelta(minutes=5))
    # another name from the same addresses is not locked
    set_pw(bf, "waiguo", "Waiguo-2024")
    assert auth.login(store, "waiguo", "Waiguo-2024", "10.0.0.1", NOW + timedelta(minutes=5)).name == "waiguo"
    # 15 minutes after the fifth failure the name is free again
    assert auth.login(store, "wenfa", "Wenfa-2024", "10.0.0.1", NOW + timedelta(minutes=19, seconds=1)).name == "wenfa"


def test_one_address_is_locked_only_after_20_failures_across_names(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    for i in range(19):
        with pytest.raises(auth.LoginFailed):
            auth.login(store, f"user{i}", "wrong", "10.1.1.1", NOW)
    assert auth.login(store, "wenfa", "Wenfa-2024", "10.1.1.1", NOW).name == "wenfa"
    with pytest.raises(auth.LoginFailed):
        auth.login(store, "user19", "wrong", "10.1.1.1", NOW)
    with pytest.raises(auth.Throttled):
        auth.login(store, "wenfa", "Wenfa-2024", "10.1.1.1", NOW)
    assert auth.login(store, "wenfa", "Wenfa-2024", "10.2.2.2", NOW).name == "wenfa"


def test_sessions_expire_idle_after_2_hours_and_absolutely_after_12(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    s = auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
    assert auth.session_identity(store, s.token, NOW + timedelta(hours=1, minutes=59)) is not None
    assert auth.session_identity(store, s.token, NOW + timedelta(hours=4)) is None  # idle since 10:59
    s = auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
    for hour in range(1, 12):
        assert auth.session_identity(store, s.token, NOW + timedelta(hours=hour)) is not None
    assert auth.session_identity(store, s.token, NOW + timedelta(hours=12, minutes=1)) is None


def test_each_login_is_a_new_session_and_logout_ends_only_it(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    one, two = (auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW) for _ in range(2))
    assert one.token != two.token and one.csrf != two.csrf
    auth.logout(store, one.token)
    assert auth.session_identity(store, one.token, NOW) is None
    assert auth.session_identity(store, two.token, NOW) is not None


def test_a_new_password_or_a_role_change_ends_the_sessions(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    s = auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
    set_pw(bf, "wenfa", "Another-2024", "--temporary")
    assert auth.session_identity(store, s.token, NOW) is None
    s = auth.login(store, "wenfa", "Another-2024", "127.0.0.1", NOW)
    assert s.must_change
    with store.connect() as conn, conn.begin():
        conn.execute(sa.text("UPDATE app_user SET role = 'reviewer', committee_id = NULL WHERE name = 'wenfa'"))
    assert auth.session_identity(store, s.token, NOW) is None


def test_end_user_sessions_is_org_only(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    s = auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
    with pytest.raises(PermissionDenied):
        auth.end_user_sessions(bf.ws("waiguo"), "wenfa")
    assert auth.end_user_sessions(bf.ws("zzb"), "wenfa") == 1
    assert auth.session_identity(store, s.token, NOW) is None


def test_change_own_password_needs_the_old_one(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024", "--temporary")
    store = Store(bf.url)
    with pytest.raises(UsageError, match="原密码不正确"):
        auth.change_own_password(store, "wenfa", "nope-nope", "Brand-new-1", NOW)
    auth.change_own_password(store, "wenfa", "Wenfa-2024", "Brand-new-1", NOW)
    assert not auth.login(store, "wenfa", "Brand-new-1", "127.0.0.1", NOW).must_change


def test_user_token_prints_it_once_on_the_last_line_stores_a_hash_and_revokes(bf: Bf) -> None:
    out = bf.ok("user", "token", "zzb", "--label", "人事系统").output.splitlines()
    token = out[-1]
    assert token.startswith("bf_") and len(token) > 40 and "人事系统" in out[0]
    doc = bf.json("user", "token", "wenfa")
    assert set(doc) == {"token"}
    store = Store(bf.url)
    with store.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.text("SELECT token_hash FROM api_token"))]
    assert token not in hashes and doc["token"] not in hashes and len(hashes) == 2
    ident = auth.token_identity(store, token, NOW)
    assert ident is not None and ident.name == "zzb" and ident.via == "token"
    assert auth.token_identity(store, "bf_made-up", NOW) is None
    assert bf.json("user", "token", "zzb", "--revoke-all") == {"name": "zzb", "revoked": 1}
    assert auth.token_identity(store, token, NOW) is None
    assert auth.token_identity(store, doc["token"], NOW) is not None


def test_a_committee_user_cannot_make_a_token_for_someone_else(bf: Bf) -> None:
    with pytest.raises(BranchflowError, match="权限不足"):
        auth.new_token(bf.ws("wenfa"), "zzb")


def test_a_disabled_user_cannot_log_in_and_their_sessions_end(bf: Bf) -> None:
    set_pw(bf, "wenfa", "Wenfa-2024")
    store = Store(bf.url)
    s = auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
    bf.ok("user", "disable", "wenfa", "--reason", "调离")
    assert auth.session_identity(store, s.token, NOW) is None
    with pytest.raises(auth.LoginFailed, match="用户名或密码错误"):
        auth.login(store, "wenfa", "Wenfa-2024", "127.0.0.1", NOW)
