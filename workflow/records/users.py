"""Users: who may act, with which role and scope."""

from __future__ import annotations

import re

from sqlmodel import col, select

from workflow import access
from workflow.db import values
from workflow.db.models import Branch, Committee, User
from workflow.errors import NotFound, UsageError
from workflow.workspace import Workspace

ROLES = ("org", "committee", "branch", "reviewer")
EMAIL_RX = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def add(ws: Workspace, name: str, role: str, committee: str | None = None, branch: str | None = None, email: str = "") -> User:
    """Add a user (org only). A committee user needs --committee, a branch user --branch."""
    if role not in ROLES:
        raise UsageError(f"角色 {role!r} 无效：请用 {', '.join(ROLES)} 之一。")
    name = values.clean_name(name, "用户名")
    committee = values.clean_name(committee, "分党委名称") if committee else committee
    branch = values.clean_name(branch, "支部名称") if branch else branch
    email = values.check_text(email.strip(), "邮箱")
    if not name:
        raise UsageError("用户名不能为空。")
    if email and not EMAIL_RX.match(email):
        raise UsageError(f"邮箱地址无效：{email!r}。")
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "添加用户")
        if s.exec(select(User).where(col(User.name) == name)).first() is not None:
            raise UsageError(f"用户 {name!r} 已存在：请换一个名字。")
        user = User(name=name, role=role, email=email)
        if role == "committee" or (role == "reviewer" and committee):
            # A reviewer may belong to a committee: R13's conflict of interest keeps them off its cases.
            if role == "reviewer" and branch:
                raise UsageError("评审专家不属于某个支部：请去掉 --branch（可用 --committee 指明所在分党委）。")
            if not committee:
                raise UsageError("分党委用户须指定 --committee（分党委名称）。")
            c = s.exec(select(Committee).where(col(Committee.name) == committee)).first()
            if c is None:
                raise NotFound(f"没有名为“{committee}”的分党委：请先导入支部名单。")
            user.committee_id = c.id
        elif role == "branch":
            if not branch:
                raise UsageError("党支部用户须指定 --branch（支部名称）。")
            b = s.exec(select(Branch).where(col(Branch.name) == branch)).first()
            if b is None:
                raise NotFound(f"没有名为“{branch}”的支部：请先导入支部名单。")
            if committee:
                c = s.exec(select(Committee).where(col(Committee.id) == b.committee_id)).first()
                if c is None or c.name != committee:
                    raise UsageError(f"支部“{branch}”不属于“{committee}”：请去掉 --committee 或改正名称。")
            user.branch_id, user.committee_id = b.id, b.committee_id
        elif committee or branch:
            raise UsageError(f"{role} 用户不属于某个分党委或支部：请去掉 --committee / --branch。")
        s.add(user)
        s.flush()
        s.refresh(user)
        s.expunge(user)
        return user


def listing(ws: Workspace) -> list[dict[str, object]]:
    """The users the actor may see (org: everyone; a committee: its own people; others: themselves)."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        committees = {c.id: c.name for c in s.exec(select(Committee))}
        branches = {b.id: b.name for b in s.exec(select(Branch))}
        return [
            {
                "name": u.name,
                "role": u.role,
                "committee": committees.get(u.committee_id, ""),
                "branch": branches.get(u.branch_id, ""),
                "email": u.email,
            }
            for u in s.exec(select(User).order_by(col(User.id)))
            if u.id is not None and access.sees_user(actor, u.committee_id, u.branch_id, u.id)
        ]
