"""Users: who may act, with which role and scope."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from workflow import access
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Branch, Committee, User, UserHistory
from workflow.errors import NotFound, Refused, UsageError
from workflow.spec import words
from workflow.workspace import Workspace

EMAIL_RX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def role_id(ws: Workspace, role: str) -> str:
    """A user's role by its id or its label (`分党委`, `党委组织部`; see `words.roles`), or a usage error naming the closest."""
    found = words.roles(ws.spec).resolve(role)
    if found not in access.ROLES:
        raise words.roles(ws.spec).unknown(role)
    return found


def _scope(s: Session, name: str, role: str, committee: str | None, branch: str | None) -> tuple[int | None, int | None]:
    """The (committee id, branch id) a user of `role` gets from the names given, or the error saying what to fix."""
    if role not in access.ROLES:
        raise UsageError(f"角色 {role!r} 无效：请用 {', '.join(access.ROLES)} 之一。", field="role")
    if access.needs_committee(role) or (access.is_reviewer_role(role) and committee):
        # A reviewer may belong to a committee: R13's conflict of interest keeps them off its cases.
        if access.is_reviewer_role(role) and branch:
            raise UsageError("评审专家不属于某个支部。", hint="请不填支部（可以填写所在分党委）。", field="branch")
        if not committee:
            raise UsageError("分党委用户须指定所属分党委。", hint="请填写分党委名称。", field="committee")
        c = s.exec(select(Committee).where(col(Committee.name) == committee)).first()
        if c is None:
            raise NotFound(f"没有名为“{committee}”的分党委：请先导入支部名单。", field="committee")
        return c.id, None
    if access.needs_branch(role):
        if not branch:
            raise UsageError("党支部用户须指定所属支部。", hint="请填写支部名称。", field="branch")
        b = s.exec(select(Branch).where(col(Branch.name) == branch)).first()
        if b is None:
            raise NotFound(f"没有名为“{branch}”的支部：请先导入支部名单。", field="branch")
        if committee:
            c = s.exec(select(Committee).where(col(Committee.id) == b.committee_id)).first()
            if c is None or c.name != committee:
                raise UsageError(f"支部“{branch}”不属于“{committee}”。", hint="请不填分党委，或改正名称。", field="committee", value=committee)
        return b.committee_id, b.id
    if committee or branch:
        raise UsageError(f"{role} 用户不属于某个分党委或支部。", hint="请不填分党委和支部。", field="committee" if committee else "branch")
    return None, None


def _email(email: str) -> str:
    email = values.check_text(email.strip(), "邮箱")
    if email and not EMAIL_RX.match(email):
        raise UsageError(f"邮箱地址无效：{email!r}。", field="email")
    return email


def _audit(
    s: Session,
    ws: Workspace,
    actor: access.Actor,
    user: User,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    comment: str = "",
) -> None:
    assert user.id is not None
    s.add(
        UserHistory(
            user_id=user.id,
            at=clock.to_db(ws.now),
            actor=actor.name,
            role=actor.role,
            action=action,
            before=json.dumps(before, ensure_ascii=False),
            after=json.dumps(after, ensure_ascii=False),
            comment=comment,
        )
    )


def _sso_id(sso_id: str) -> str:
    """A 统一身份认证 account (the CAS user name or 工号) as given: one line, no spaces ("" removes it)."""
    text = values.check_text(sso_id.strip(), "统一身份认证账号")
    if any(ch.isspace() for ch in text) or len(text) > 128:
        raise UsageError(f"统一身份认证账号 {text!r} 无效：应是一个不含空格的账号（如 工号 20190001）。", field="sso_id", value=text)
    return text


def _user(s: Session, name: str) -> User:
    user = s.exec(select(User).where(col(User.name) == values.normal_name(name))).first()
    if user is None or user.id is None:
        raise NotFound(f"没有用户 {name!r}：请检查用户名（user list 可查看）。", field="name")
    return user


def add(ws: Workspace, name: str, role: str, committee: str | None = None, branch: str | None = None, email: str = "") -> User:
    """Add a user (org only; the role by id or label: `分党委`). A committee user needs its committee, a branch user
    its branch."""
    role = role_id(ws, role)
    name = values.clean_name(name, "用户名")
    committee = values.clean_name(committee, "分党委名称") if committee else committee
    branch = values.clean_name(branch, "支部名称") if branch else branch
    email = _email(email)
    if not name:
        raise UsageError("用户名不能为空。", field="name")
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "添加用户")
        if s.exec(select(User).where(col(User.name) == name)).first() is not None:
            raise UsageError(f"用户 {name!r} 已存在：请换一个名字。", field="name")
        committee_id, branch_id = _scope(s, name, role, committee, branch)
        user = User(name=name, role=role, email=email, committee_id=committee_id, branch_id=branch_id)
        s.add(user)
        s.flush()
        _audit(s, ws, actor, user, "add", {}, {"role": role, "committee": committee or "", "branch": branch or "", "email": email})
        s.refresh(user)
        s.expunge(user)
        return user


@dataclass(frozen=True)
class Changed:
    """What `user set`, `user disable` or `user enable` changed: the fields before and after, and how many web
    sessions of the user were ended by it."""

    name: str
    before: dict[str, Any]
    after: dict[str, Any]
    sessions_ended: int


def update(
    ws: Workspace,
    name: str,
    *,
    email: str | None = None,
    committee: str | None = None,
    branch: str | None = None,
    role: str | None = None,
    sso_id: str | None = None,
    comment: str = "",
) -> Changed:
    """Correct a user's e-mail, role or scope, or set the 统一身份认证 account that logs in as them (`sso_id`; ""
    removes it), org only, audited; a change of role, scope or account ends the user's web sessions at once.
    Nothing to change is refused ("用户信息未变")."""
    role = role_id(ws, role) if role is not None else None
    committee = values.clean_name(committee, "分党委名称") if committee else committee
    branch = values.clean_name(branch, "支部名称") if branch else branch
    new_email = _email(email) if email is not None else None
    new_sso = _sso_id(sso_id) if sso_id is not None else None
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "修改用户")
        user = _user(s, name)
        was_committee, was_branch = _scope_names(s, user.committee_id, user.branch_id)
        was = {
            "role": user.role,
            "committee": was_committee,
            "branch": was_branch,
            "email": user.email,
            "sso_id": user.sso_id or "",
        }
        if new_sso:
            holder = s.exec(select(User).where(col(User.sso_id) == new_sso, col(User.id) != user.id)).first()
            if holder is not None:
                raise UsageError(
                    f"统一身份认证账号 {new_sso} 已对应用户 {holder.name}：一个账号只能对应一个用户。",
                    hint=f"请先取消 {holder.name} 的统一身份认证账号，或检查账号是否填错。",
                    field="sso_id",
                    value=new_sso,
                )
        target_role = role or user.role
        scope_given = role is not None or committee is not None or branch is not None
        if scope_given:
            # A new scope is given whole: the role's committee/branch as asked, else kept where they still fit.
            keep_committee = committee if committee is not None else (was["committee"] or None) if branch is None else None
            keep_branch = branch if branch is not None else (was["branch"] or None) if committee is None else None
            fields = access.scope_fields(target_role)
            keep_committee = keep_committee if "committee" in fields else None
            keep_branch = keep_branch if "branch" in fields else None
            committee_id, branch_id = _scope(s, name, target_role, keep_committee, keep_branch)
        else:
            committee_id, branch_id = user.committee_id, user.branch_id
        now_committee, now_branch = _scope_names(s, committee_id, branch_id)
        now = {
            "role": target_role,
            "committee": now_committee,
            "branch": now_branch,
            "email": new_email if new_email is not None else user.email,
            "sso_id": new_sso if new_sso is not None else was["sso_id"],
        }
        before = {k: v for k, v in was.items() if now[k] != v}
        after = {k: now[k] for k in before}
        if not before:
            raise UsageError(f"用户 {user.name} 的信息未变：没有要修改的内容。")
        ended = 0
        if {"role", "committee", "branch", "sso_id"} & set(before):
            from workflow.records import auth

            assert user.id is not None
            ended = auth.end_sessions(s, user.id)
        user.role, user.committee_id, user.branch_id, user.email = target_role, committee_id, branch_id, now["email"]
        user.sso_id = now["sso_id"] or None
        s.add(user)
        _audit(s, ws, actor, user, "set", before, after, comment)
        return Changed(user.name, before, after, ended)


def disable(ws: Workspace, name: str, reason: str = "") -> Changed:
    """Disable a user (org only): they can no longer act, log in or use a token (their sessions end, their
    password and tokens are removed); history keeps their name. Audited."""
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "停用用户")
        user = _user(s, name)
        assert user.id is not None
        if user.id == actor.id:
            raise Refused(f"不能停用自己（{user.name}）：请由另一位党委组织部用户操作。")
        if user.disabled_at is not None:
            raise UsageError(f"用户 {user.name} 已停用。")
        from workflow.records import auth

        ended = auth.forget_user(s, user.id)
        user.disabled_at = clock.to_db(ws.now)
        s.add(user)
        _audit(s, ws, actor, user, "disable", {"disabled": False}, {"disabled": True}, values.check_text(reason.strip(), "原因"))
        return Changed(user.name, {"disabled": False}, {"disabled": True}, ended)


def enable(ws: Workspace, name: str, reason: str = "") -> Changed:
    """Enable a disabled user again (org only; a new password is needed for the web). Audited."""
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "启用用户")
        user = _user(s, name)
        if user.disabled_at is None:
            raise UsageError(f"用户 {user.name} 未停用。")
        user.disabled_at = None
        s.add(user)
        _audit(s, ws, actor, user, "enable", {"disabled": True}, {"disabled": False}, values.check_text(reason.strip(), "原因"))
        return Changed(user.name, {"disabled": True}, {"disabled": False}, 0)


def _scope_names(s: Session, committee_id: int | None, branch_id: int | None) -> tuple[str, str]:
    """The names of a user's committee and branch ("" for none), read by id (never the whole roster)."""
    committee = s.get(Committee, committee_id) if committee_id is not None else None
    branch = s.get(Branch, branch_id) if branch_id is not None else None
    return (committee.name if committee else ""), (branch.name if branch else "")


def listing(ws: Workspace, name: str | None = None) -> list[dict[str, object]]:
    """The users the actor may see (org: everyone; a committee: its own people; others: themselves); with `name`,
    only that user (if the actor may see them).

    Committee and branch names are joined onto the users, never read whole: a national roster has hundreds of
    thousands of branches, and every page that names its user asks this."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        rows = s.execute(
            select(User, col(Committee.name), col(Branch.name))
            .outerjoin(Committee, col(Committee.id) == col(User.committee_id))
            .outerjoin(Branch, col(Branch.id) == col(User.branch_id))
            .where(*([col(User.name) == values.normal_name(name)] if name is not None else []))
            .order_by(col(User.id))
        ).all()
        return [
            {
                "name": u.name,
                "role": u.role,
                "committee": committee or "",
                "branch": branch or "",
                "email": u.email,
                "disabled": u.disabled_at is not None,
                "sso_id": u.sso_id or "",
            }
            for u, committee, branch in rows
            if u.id is not None and access.sees_user(actor, u.committee_id, u.branch_id, u.id)
        ]
