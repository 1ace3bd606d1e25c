"""Roles and scopes, enforced here (never in the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from workflow.db import values
from workflow.db.models import Committee, Review
from workflow.errors import NotFound, PermissionDenied
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


ORG, COMMITTEE, BRANCH, REVIEWER = "org", "committee", "branch", "reviewer"  # the role ids the code relies on
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


def can_read(actor: Actor, committee_id: int, branch_id: int, assigned: bool = False) -> bool:
    """Org reads every case, committees and branches their own, a reviewer the cases assigned to them."""
    return (is_reviewer(actor) and assigned) or in_scope(actor, committee_id, branch_id)


# ---- R13: the expert panel is blind and scoped ------------------------------------------------


def is_org(actor: Actor) -> bool:
    """党委组织部: sees and does everything."""
    return actor.role == "org"


def is_reviewer(actor: Actor) -> bool:
    """评审专家: scores the cases assigned to them and sees nothing else."""
    return actor.role == "reviewer"


def sees_panel(actor: Actor) -> bool:
    """Who may see reviewers' names, their scores and comments, and the panel's audit rows: org only."""
    return is_org(actor)


def sees_history(actor: Actor) -> bool:
    """Reviewers never see a case's history; the others see it within their scope."""
    return not is_reviewer(actor)


def sees_score(actor: Actor) -> bool:
    """Whether the case's panel total is shown (to a committee or branch only once evaluated, where it is set)."""
    return not is_reviewer(actor)


def is_assigned(session: Session, actor: Actor, case_id: int) -> bool:
    """Whether the case is assigned to this reviewer (False for anyone else)."""
    if not is_reviewer(actor):
        return False
    q = select(col(Review.id)).where(col(Review.case_id) == case_id, col(Review.reviewer_id) == actor.id)
    return session.execute(q).first() is not None


def assigned_cases(actor: Actor) -> Any:
    """SELECT of the ids of the cases assigned to a reviewer, for `Case.id IN (...)`, or None for other roles."""
    if not is_reviewer(actor):
        return None
    return select(col(Review.case_id)).where(col(Review.reviewer_id) == actor.id)


def require_reviewer(actor: Actor, what: str) -> None:
    """Refuse unless the actor is a reviewer."""
    if not is_reviewer(actor):
        raise PermissionDenied(f"权限不足：只有评审专家可以{what}；用户 {actor.name} 的角色是 {actor.role}。")


def require_panel(actor: Actor, what: str) -> None:
    """Refuse unless the actor may see the panel (reviewers' names and scores)."""
    if not sees_panel(actor):
        raise PermissionDenied(f"权限不足：评审专家名单和评分只有党委组织部可以查看，不能{what}；用户 {actor.name} 的角色是 {actor.role}。")


def require_scope(actor: Actor, committee_id: int, branch_id: int, what: str = "该申报") -> None:
    """Refuse unless the actor may act on this branch's case."""
    if not in_scope(actor, committee_id, branch_id):
        who = ROLE_LABELS.get(actor.role, actor.role)
        raise PermissionDenied(f"权限不足：{who}用户 {actor.name} 不能操作{what}（不在其管辖范围内）。")


def require_read(actor: Actor, committee_id: int, branch_id: int, assigned: bool = False) -> None:
    """Refuse unless the actor may read this case (`assigned`: the case is assigned to this reviewer)."""
    if not can_read(actor, committee_id, branch_id, assigned):
        raise PermissionDenied(f"权限不足：用户 {actor.name} 不能查看该申报（不在其管辖范围内）。")


def require_org(actor: Actor, what: str) -> None:
    """Refuse unless the actor is org."""
    if not is_org(actor):
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


def acting_for(actor: Actor, owner: str | None) -> str:
    """The role org stands in for when it does the work of a state's owner outside a transition (editing or
    attaching to a committee's draft, importing it); '' when the actor acts in its own right."""
    if actor.role != "org" or owner is None or owner == "org":
        return ""
    return owner


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


def committee_id(session: Session, name: str) -> int:
    """The id of the committee of this name, or NotFound saying so."""
    found = session.execute(select(col(Committee.id)).where(col(Committee.name) == values.normal_name(name))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"没有名为“{name}”的分党委。", hint="请检查分党委名称（见支部名单）。", field="committee", value=name)
    return int(found)
