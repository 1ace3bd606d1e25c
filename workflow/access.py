"""Roles and scopes, enforced here (never in the CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.errors import PermissionDenied
from workflow.spec import Spec, TransitionSpec


@dataclass(frozen=True)
class Actor:
    """The user a command acts as."""

    id: int
    name: str
    role: str
    committee_id: int | None
    branch_id: int | None
    email: str


ROLE_LABELS = {"org": "党委组织部", "committee": "分党委", "branch": "党支部", "reviewer": "评审专家"}


def in_scope(actor: Actor, committee_id: int, branch_id: int) -> bool:
    """Whether the actor may act on a case of this branch (org: every case)."""
    if actor.role == "org":
        return True
    if actor.role == "committee":
        return actor.committee_id == committee_id
    if actor.role == "branch":
        return actor.branch_id == branch_id
    return False


def can_read(actor: Actor, committee_id: int, branch_id: int) -> bool:
    """Reviewers and org read every case; committees and branches their own."""
    return actor.role == "reviewer" or in_scope(actor, committee_id, branch_id)


def require_scope(actor: Actor, committee_id: int, branch_id: int, what: str = "该申报") -> None:
    """Refuse unless the actor may act on this branch's case."""
    if not in_scope(actor, committee_id, branch_id):
        who = ROLE_LABELS.get(actor.role, actor.role)
        raise PermissionDenied(f"权限不足：{who}用户 {actor.name} 不能操作{what}（不在其管辖范围内）。")


def require_read(actor: Actor, committee_id: int, branch_id: int) -> None:
    """Refuse unless the actor may read this case."""
    if not can_read(actor, committee_id, branch_id):
        raise PermissionDenied(f"权限不足：用户 {actor.name} 不能查看该申报（不在其管辖范围内）。")


def require_org(actor: Actor, what: str) -> None:
    """Refuse unless the actor is org."""
    if actor.role != "org":
        raise PermissionDenied(f"权限不足：只有党委组织部可以{what}；用户 {actor.name} 的角色是 {actor.role}。")


def may_fire(actor: Actor, transition: TransitionSpec) -> bool:
    """Org may fire any trigger (on behalf of the owner); others only those listing their role."""
    return actor.role == "org" or actor.role in transition.roles


def require_trigger(actor: Actor, transition: TransitionSpec, spec: Spec) -> None:
    """Refuse a trigger whose roles do not include the actor's."""
    if not may_fire(actor, transition):
        allowed = "、".join(spec.roles.get(r, r) for r in transition.roles)
        raise PermissionDenied(
            f"权限不足：“{transition.label}”（{transition.trigger}）只能由{allowed}执行；用户 {actor.name} 的角色是 {actor.role}。"
        )


def on_behalf_of(actor: Actor, transition: TransitionSpec, owner: str | None) -> str:
    """The role org acts for when it fires a trigger that does not list org ('' otherwise)."""
    if actor.role != "org" or "org" in transition.roles:
        return ""
    return owner if owner in transition.roles else transition.roles[0]


def sees_contacts(actor: Actor) -> bool:
    """Whether the actor may see contacts' names and e-mails in the part of the roster it sees (not reviewers)."""
    return actor.role in ("org", "committee", "branch")


def roster_scope(actor: Actor) -> tuple[int | None, int | None]:
    """The part of the roster, and of its people, the actor sees: (committee id, branch id), None for no limit.

    Org and reviewers see every branch (reviewers without contacts); a committee its own committee's; a
    branch itself only."""
    if actor.role == "committee":
        return actor.committee_id, None
    if actor.role == "branch":
        return actor.committee_id, actor.branch_id
    return None, None


def sees_user(actor: Actor, committee_id: int | None, branch_id: int | None, user_id: int) -> bool:
    """Whether `user list` shows this user to the actor: org everyone; a committee its committee's people (its
    branches' too); a branch and a reviewer only themselves."""
    if actor.role == "org":
        return True
    if actor.role == "committee":
        return committee_id is not None and committee_id == actor.committee_id
    return user_id == actor.id
