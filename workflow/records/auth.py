"""Who may log in to the web application, and how: passwords, sessions, login throttling, API tokens.

Everything lives in the database (no process memory), so several web workers or servers share it:
- passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended setting);
- a session's cookie holds a random id, the database its sha256; idle 2 h, absolute 12 h;
- five failed logins for one name within 15 minutes lock the name for 15 minutes; an address is locked
  only after 20 failures across names (a campus NAT puts many people behind one address);
- API tokens are shown once and stored as their sha256.
Nothing here reads a clock: `now` is always a parameter.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from workflow import access
from workflow.dates import clock
from workflow.db.models import ApiToken, Credential, LoginFailure, User, WebSession
from workflow.db.store import Store
from workflow.errors import BranchflowError, NotFound, PermissionDenied, UsageError
from workflow.workspace import Workspace

IDLE = timedelta(hours=2)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # a session's last-seen time is written at most once a minute
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
NAME_LIMIT = 5
ADDRESS_LIMIT = 20
MIN_LENGTH = 8
TOKEN_PREFIX = "bf_"


class LoginFailed(BranchflowError):
    """Wrong name or password: one message for both, so that names don't leak (exit 1, HTTP 401)."""

    code = 1


class Throttled(BranchflowError):
    """Too many failed logins for this name or address (exit 1, HTTP 429)."""

    code = 1


WRONG = "用户名或密码错误。"
LOCKED = "登录失败次数过多：请 15 分钟后再试。"


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher  # argon2id by default

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both answers take the same time."""
    return str(_hasher().hash(secrets.token_hex(16)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """The argon2id hash of a password (salted; the hash string carries its parameters)."""
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash (never raises for a wrong one)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(name: str, password: str) -> None:
    """At least eight characters, and not the user name."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"密码太短：至少 {MIN_LENGTH} 个字符。")
    if password.strip().casefold() == name.strip().casefold():
        raise UsageError("密码不能与用户名相同：请换一个。")


def _user(session: Session, name: str) -> User:
    row = session.exec(select(User).where(col(User.name) == name)).first()
    if row is None or row.id is None:
        raise NotFound(f"没有用户 {name!r}：请检查用户名（user list 可查看）。")
    return row


def _credential(session: Session, user_id: int | None) -> Credential | None:
    return session.exec(select(Credential).where(col(Credential.user_id) == user_id)).first() if user_id is not None else None


def _require_self_or_org(actor: access.Actor, target: User, what: str) -> None:
    if not access.is_org(actor) and actor.id != target.id:
        raise PermissionDenied(f"权限不足：只有党委组织部或用户本人可以{what}；用户 {actor.name} 不能为 {target.name} {what}。")


def end_sessions(session: Session, user_id: int) -> int:
    """End every web session of a user (after a disable, a role change or a new password); returns how many."""
    result: Any = session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    return int(result.rowcount or 0)


def forget_user(session: Session, user_id: int) -> int:
    """A disabled user's way in, removed: their sessions, password and API tokens; returns the sessions ended."""
    session.execute(delete(Credential).where(col(Credential.user_id) == user_id))
    session.execute(delete(ApiToken).where(col(ApiToken.user_id) == user_id))
    return end_sessions(session, user_id)


def set_password(ws: Workspace, name: str, password: str, temporary: bool = False) -> dict[str, Any]:
    """Set a user's password (org for anyone, a user for themself); ends that user's sessions."""
    check_password_rules(name, password)
    hashed = hash_password(password)
    with ws.store.write() as s:
        actor = ws.actor(s)
        target = _user(s, name)
        _require_self_or_org(actor, target, "设置密码")
        assert target.id is not None
        found = _credential(s, target.id)
        if found is None:
            s.add(Credential(user_id=target.id, password_hash=hashed, temporary=temporary, changed_at=clock.to_db(ws.now)))
        else:
            found.password_hash, found.temporary, found.changed_at = hashed, temporary, clock.to_db(ws.now)
            s.add(found)
        ended = end_sessions(s, target.id)
    return {"name": name, "temporary": temporary, "sessions_ended": ended}


def change_own_password(store: Store, name: str, old: str, new: str, now: datetime) -> None:
    """A logged-in user replaces their password (the old one must match); every session of theirs ends."""
    check_password_rules(name, new)
    if old == new:
        raise UsageError("新密码不能与原密码相同。")
    hashed = hash_password(new)
    with store.write() as s:
        user = _user(s, name)
        assert user.id is not None
        found = _credential(s, user.id)
        if found is None or not verify_password(found.password_hash, old):
            raise UsageError("原密码不正确：请重新输入。")
        found.password_hash, found.temporary, found.changed_at = hashed, False, clock.to_db(now)
        s.add(found)
        end_sessions(s, user.id)


# ---- throttling -----------------------------------------------------------------------------


def _locked_until(times: list[datetime], limit: int) -> datetime | None:
    """When the lock made by `limit` failures within WINDOW ends (None: no such run of failures)."""
    times = sorted(times)
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= WINDOW:
            until = times[i] + LOCK
    return until


def _throttled(s: Session, name: str, address: str, now_db: datetime) -> bool:
    since = now_db - WINDOW - LOCK
    by_name = list(s.exec(select(LoginFailure.at).where(col(LoginFailure.name) == name, col(LoginFailure.at) > since)))
    by_address = list(s.exec(select(LoginFailure.at).where(col(LoginFailure.address) == address, col(LoginFailure.at) > since)))
    return any(
        until is not None and until > now_db for until in (_locked_until(by_name, NAME_LIMIT), _locked_until(by_address, ADDRESS_LIMIT))
    )


@dataclass(frozen=True)
class Login:
    """A new session: the cookie value (shown once), its CSRF token, and whether the password must change."""

    token: str
    csrf: str
    name: str
    must_change: bool


def login(store: Store, name: str, password: str, address: str, now: datetime) -> Login:
    """Check name and password, throttled per name and per address; on success a new session (a new id)."""
    name = name.strip()
    now_db = clock.to_db(now)
    with store.write() as s:
        if _throttled(s, name, address, now_db):
            raise Throttled(LOCKED)
        user = s.exec(select(User).where(col(User.name) == name)).first() if name else None
        if user is not None and user.disabled_at is not None:
            user = None  # a disabled user cannot log in: the same answer as a wrong password
        cred = _credential(s, user.id) if user is not None and user.id is not None else None
        # The same argon2 work whether or not the user exists or has a password: the timing says nothing.
        ok = verify_password(cred.password_hash if cred else _dummy_hash(), password) and cred is not None
        if not ok or user is None or user.id is None or cred is None:
            s.add(LoginFailure(name=name, address=address, at=now_db))
            failed = True
        else:
            failed = False
            s.execute(delete(LoginFailure).where(col(LoginFailure.name) == name))
            result = _new_session(s, user, address, now_db, cred.temporary)
    if failed:  # the failure is committed (it counts towards the lock) before it is answered
        raise LoginFailed(WRONG)
    return result


def _new_session(s: Session, user: User, address: str, now_db: datetime, must_change: bool) -> Login:
    """A new session (a new random id; the database keeps its sha256) for a user whose login just succeeded."""
    assert user.id is not None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.add(
        WebSession(
            id=_digest(token),
            user_id=user.id,
            role=user.role,
            committee_id=user.committee_id,
            branch_id=user.branch_id,
            csrf=csrf,
            address=address,
            created_at=now_db,
            seen_at=now_db,
        )
    )
    return Login(token, csrf, user.name, must_change)


class SsoRefused(BranchflowError):
    """The 统一身份认证 account maps to no enabled user: nobody is created (exit 1, HTTP 403)."""

    code = 1


def sso_login(store: Store, sso_id: str, address: str, now: datetime) -> Login:
    """A session for the user whose 统一身份认证 account is `sso_id` (the identity provider has vouched for it), as
    a password login makes one. An account no user has is refused, never turned into a new user; so is a
    disabled user."""
    sso_id = sso_id.strip()
    with store.write() as s:
        user = s.exec(select(User).where(col(User.sso_id) == sso_id)).first() if sso_id else None
        if user is None or user.id is None:
            raise SsoRefused(
                f"统一身份认证账号 {sso_id or '（空）'} 尚未对应本系统的任何用户，不能登录。",
                hint="请联系党委组织部，为您的用户登记统一身份认证账号（工号）；或用用户名和密码登录。",
            )
        if user.disabled_at is not None:
            raise SsoRefused(f"用户 {user.name} 已停用，不能登录。", hint="如需恢复，请联系党委组织部。")
        cred = _credential(s, user.id)
        return _new_session(s, user, address, clock.to_db(now), bool(cred and cred.temporary))


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: the user's name, the session's CSRF token ('' for an API token)."""

    name: str
    csrf: str
    must_change: bool
    via: str  # session | token


def session_identity(store: Store, token: str, now: datetime) -> Identity | None:
    """The user of a live session (None: unknown, expired, or the user's role or scope changed since login)."""
    if not token:
        return None
    now_db = clock.to_db(now)
    key = _digest(token)
    with store.read() as s:  # a read per request; a write only to end the session or, once a minute, to touch it
        found = s.get(WebSession, key)
        if found is None:
            return None
        user = s.get(User, found.user_id)
        cred = _credential(s, found.user_id)
        expired = now_db - found.seen_at > IDLE or now_db - found.created_at > ABSOLUTE
        changed = user is None or (user.role, user.committee_id, user.branch_id) != (found.role, found.committee_id, found.branch_id)
        stale = now_db - found.seen_at >= TOUCH_EVERY
        identity = None if user is None else Identity(user.name, found.csrf, bool(cred and cred.temporary), "session")
    if expired or changed or identity is None:
        with store.write() as s:
            s.execute(delete(WebSession).where(col(WebSession.id) == key))
        return None
    if stale:
        with store.write() as s:
            s.execute(update(WebSession).where(col(WebSession.id) == key).values(seen_at=now_db))
    return identity


def logout(store: Store, token: str) -> None:
    """End one session (退出)."""
    with store.write() as s:
        s.execute(delete(WebSession).where(col(WebSession.id) == _digest(token)))


def end_user_sessions(ws: Workspace, name: str) -> int:
    """End every session of a user (org only): for front ends that disable a user or change a role."""
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "结束用户的登录")
        user = _user(s, name)
        assert user.id is not None
        return end_sessions(s, user.id)


# ---- API tokens -----------------------------------------------------------------------------


def new_token(ws: Workspace, name: str, label: str = "") -> dict[str, Any]:
    """A new API token for a user (org for anyone, a user for themself); the token is returned once, stored hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.store.write() as s:
        actor = ws.actor(s)
        target = _user(s, name)
        _require_self_or_org(actor, target, "创建令牌")
        assert target.id is not None
        row = ApiToken(user_id=target.id, token_hash=_digest(token), label=label.strip(), created_at=clock.to_db(ws.now))
        s.add(row)
        s.flush()
        return {"id": row.id, "name": name, "label": row.label, "token": token}


def revoke_tokens(ws: Workspace, name: str) -> dict[str, Any]:
    """Revoke every live API token of a user."""
    return {"name": name, "revoked": _revoke(ws, name)}


def revoke_token(ws: Workspace, name: str, token_id: int) -> dict[str, Any]:
    """Revoke one live API token of a user (by the id `tokens` lists)."""
    if not _revoke(ws, name, col(ApiToken.id) == token_id):
        raise NotFound(f"用户 {name} 没有编号为 {token_id} 的有效令牌（可能已吊销）。")
    return {"name": name, "revoked": 1}


def _revoke(ws: Workspace, name: str, *which: Any) -> int:
    """Revoke the live tokens of a user (those `which` picks; none: all) and say how many."""
    with ws.store.write() as s:
        actor = ws.actor(s)
        target = _user(s, name)
        _require_self_or_org(actor, target, "吊销令牌")
        result: Any = s.execute(
            update(ApiToken)
            .where(col(ApiToken.user_id) == target.id, col(ApiToken.revoked_at).is_(None), *which)
            .values(revoked_at=clock.to_db(ws.now))
        )
        return int(result.rowcount or 0)


def tokens(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """A user's tokens (never the token itself): id, label, created, last used, revoked."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        target = _user(s, name)
        _require_self_or_org(actor, target, "查看令牌")
        rows = s.exec(select(ApiToken).where(col(ApiToken.user_id) == target.id).order_by(col(ApiToken.id)))
        return [
            {
                "id": t.id,
                "label": t.label,
                "created_at": clock.from_db(t.created_at),
                "last_used_at": clock.from_db(t.last_used_at) if t.last_used_at else None,
                "revoked_at": clock.from_db(t.revoked_at) if t.revoked_at else None,
            }
            for t in rows
        ]


def token_identity(store: Store, token: str, now: datetime) -> Identity | None:
    """The user of a live API token (None: unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now_db = clock.to_db(now)
    with store.read() as s:
        found = s.exec(select(ApiToken).where(col(ApiToken.token_hash) == _digest(token), col(ApiToken.revoked_at).is_(None))).first()
        user = s.get(User, found.user_id) if found is not None else None
        if found is None or user is None or user.disabled_at is not None:
            return None
        stale = found.last_used_at is None or now_db - found.last_used_at >= TOUCH_EVERY
        token_id = found.id
    if stale:
        with store.write() as s:
            s.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now_db))
    return Identity(user.name, "", False, "token")


def can_log_in(store: Store, names: Iterable[str]) -> set[str]:
    """Which of the users `names` have a password (one query however many are listed)."""
    wanted = list(dict.fromkeys(names))
    found: set[str] = set()
    with store.read() as s:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = select(col(User.name)).join(Credential, col(Credential.user_id) == col(User.id)).where(col(User.name).in_(chunk))
            found.update(s.exec(q).all())
    return found


def has_password(store: Store, name: str) -> bool:
    """Whether the user can log in to the web (has a password)."""
    with store.read() as s:
        user = s.exec(select(User).where(col(User.name) == name)).first()
        return user is not None and user.id is not None and _credential(s, user.id) is not None
