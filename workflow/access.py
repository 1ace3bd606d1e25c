"""Roles and scopes, enforced here (never in the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, select
from sqlmodel import Session, col

from workflow.db import values
from workflow.db.models import Branch, Case, Committee, Review
from workflow.errors import NotFound, PermissionDenied
from workflow.spec import Spec, TransitionSpec
from workflow.spec.model import REQUIRED_ROLES


@dataclass(frozen=True)
class Actor:
    """The user a command acts as."""

    id: int
    name: str
    role: str
    committee_id: int | None
    branch_id: int | None
    email: str


ROLES = REQUIRED_ROLES  # the role ids the code relies on (states.yaml must declare them)
ORG, COMMITTEE, BRANCH, REVIEWER = ROLES
ROLE_LABELS = {"org": "党委组织部", "committee": "分党委", "branch": "党支部", "reviewer": "评审专家"}


def role_named(role: str) -> str:
    """A role as messages name it: its label with the id in brackets, `分党委（committee）`."""
    label = ROLE_LABELS.get(role)
    return f"{label}（{role}）" if label else role


def is_committee(actor: Actor) -> bool:
    """A 分党委 user: its own committee's branches and cases."""
    return actor.role == COMMITTEE


def is_branch(actor: Actor) -> bool:
    """A 党支部 user: its own branch and case."""
    return actor.role == BRANCH


def may_import_cases(actor: Actor) -> bool:
    """Org, or a committee for its own branches, may import a 申报汇总表."""
    return is_org(actor) or is_committee(actor)


# ---- a role id (a user being added or changed), before there is an Actor ---------------------------


def require_case_importer(actor: Actor) -> None:
    """Refuse unless the actor may import a 申报汇总表 (org, or a committee for its own branches)."""
    if not may_import_cases(actor):
        raise PermissionDenied(f"权限不足：只有党委组织部或分党委可以导入申报；用户 {actor.name} 的角色是{role_named(actor.role)}。")


def needs_committee(role: str) -> bool:
    """A 分党委 user names the committee they belong to."""
    return role == COMMITTEE


def needs_branch(role: str) -> bool:
    """A 党支部 user names their branch (its committee follows from it)."""
    return role == BRANCH


def is_reviewer_role(role: str) -> bool:
    """A 评审专家 may name a committee (R13 then keeps them off its cases), never a branch."""
    return role == REVIEWER


def scope_fields(role: str) -> tuple[str, ...]:
    """Which of committee and branch a user of this role may have: none for org, a committee for a committee
    or a reviewer, both for a branch."""
    if needs_branch(role):
        return ("committee", "branch")
    if needs_committee(role) or is_reviewer_role(role):
        return ("committee",)
    return ()


def visible_cases(query: Any, actor: Actor, committee_id: int | None = None) -> Any:
    """Restrict a query over `cases` to those the actor may see, and to one committee's when `committee_id` is given.

    The one scope rule of every listing (status, overdue, the calendar, advance-many's selection): org sees
    every case, a committee its committee's, a branch its own, a reviewer those assigned to them. A
    committee is a subquery on `branches`, not a join, so it fits whatever the query already joins, and a
    query of org's that names no committee reads `cases` alone.
    """

    def of_committee(committee: int | None) -> Any:
        return col(Case.branch_id).in_(select(col(Branch.id)).where(col(Branch.committee_id) == committee))

    if committee_id is not None:
        query = query.where(of_committee(committee_id))
    if is_org(actor):
        return query
    if is_committee(actor):
        return query.where(of_committee(actor.committee_id))
    if is_branch(actor):
        return query.where(col(Case.branch_id) == actor.branch_id)
    if is_reviewer(actor):
        return query.where(col(Case.id).in_(assigned_cases(actor)))
    return query.where(false())


def in_scope(actor: Actor, committee_id: int, branch_id: int) -> bool:
    """Whether the actor may act on a case of this branch (org: every case)."""
    if is_org(actor):
        return True
    if is_committee(actor):
        return actor.committee_id == committee_id
    if is_branch(actor):
        return actor.branch_id == branch_id
    return False


def can_read(actor: Actor, committee_id: int, branch_id: int, assigned: bool = False) -> bool:
    """Org reads every case, committees and branches their own, a reviewer the cases assigned to them."""
    return (is_reviewer(actor) and assigned) or in_scope(actor, committee_id, branch_id)


# ---- R13: the expert panel is blind and scoped ------------------------------------------------


def is_org(actor: Actor) -> bool:
    """党委组织部: sees and does everything."""
    return actor.role == ORG


def is_reviewer(actor: Actor) -> bool:
    """评审专家: scores the cases assigned to them and sees nothing else."""
    return actor.role == REVIEWER


def sees_panel(actor: Actor) -> bool:
    """Who may see reviewers' names, their scores and comments, and the panel's audit rows: org only."""
    return is_org(actor)


def sees_history(actor: Actor) -> bool:
    """Reviewers never see a case's history; the others see it within their scope."""
    return not is_reviewer(actor)


def sees_score(actor: Actor) -> bool:
    """Whether the case's panel total is shown (to a committee or branch only once evaluated, where it is set)."""
    return not is_reviewer(actor)


def works_on_panel(actor: Actor) -> bool:
    """Who has the expert panel's pages: a reviewer (their assignments and scores) and org (assignment, summary)."""
    return is_reviewer(actor) or sees_panel(actor)


def sees_committee_overview(actor: Actor) -> bool:
    """Who sees a committee's page (its branches, quota, R2/R4): org (every committee) and a committee (its own)."""
    return is_org(actor) or is_committee(actor)


def require_committee_overview(actor: Actor) -> None:
    """Refuse unless the actor may see a committee's page."""
    if not sees_committee_overview(actor):
        raise PermissionDenied(f"权限不足：分党委情况只有分党委和党委组织部可以查看；用户 {actor.name} 的角色是{role_named(actor.role)}。")


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
        raise PermissionDenied(f"权限不足：只有评审专家可以{what}；用户 {actor.name} 的角色是{role_named(actor.role)}。")


def require_panel(actor: Actor, what: str) -> None:
    """Refuse unless the actor may see the panel (reviewers' names and scores)."""
    if not sees_panel(actor):
        raise PermissionDenied(f"权限不足：评审专家名单和评分只有党委组织部可以查看，不能{what}；用户 {actor.name} 的角色是{role_named(actor.role)}。")


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
        raise PermissionDenied(f"权限不足：只有党委组织部可以{what}；用户 {actor.name} 的角色是{role_named(actor.role)}。")


def may_fire(actor: Actor, transition: TransitionSpec) -> bool:
    """Org may fire any trigger (on behalf of the owner); others only those listing their role."""
    return is_org(actor) or actor.role in transition.roles


def require_trigger(actor: Actor, transition: TransitionSpec, spec: Spec) -> None:
    """Refuse a trigger whose roles do not include the actor's."""
    if not may_fire(actor, transition):
        allowed = "、".join(spec.roles.get(r, r) for r in transition.roles)
        raise PermissionDenied(
            f"权限不足：“{transition.label}”（{transition.trigger}）只能由{allowed}执行；用户 {actor.name} 的角色是{role_named(actor.role)}。"
        )


def on_behalf_of(actor: Actor, transition: TransitionSpec, owner: str | None) -> str:
    """The role org acts for when it fires a trigger that does not list org ('' otherwise)."""
    if not is_org(actor) or ORG in transition.roles:
        return ""
    return owner if owner in transition.roles else transition.roles[0]


def acting_for(actor: Actor, owner: str | None) -> str:
    """The role org stands in for when it does the work of a state's owner outside a transition (editing or
    attaching to a committee's draft, importing it); '' when the actor acts in its own right."""
    if not is_org(actor) or owner is None or owner == ORG:
        return ""
    return owner


def sees_contacts(actor: Actor) -> bool:
    """Whether the actor may see contacts' names and e-mails in the part of the roster it sees (not reviewers)."""
    return is_org(actor) or is_committee(actor) or is_branch(actor)


def roster_scope(actor: Actor) -> tuple[int | None, int | None]:
    """The part of the roster, and of its people, the actor sees: (committee id, branch id), None for no limit.

    Org and reviewers see every branch (reviewers without contacts); a committee its own committee's; a
    branch itself only."""
    if is_committee(actor):
        return actor.committee_id, None
    if is_branch(actor):
        return actor.committee_id, actor.branch_id
    return None, None


def sees_user(actor: Actor, committee_id: int | None, branch_id: int | None, user_id: int) -> bool:
    """Whether `user list` shows this user to the actor: org everyone; a committee its committee's people (its
    branches' too); a branch and a reviewer only themselves."""
    if is_org(actor):
        return True
    if is_committee(actor):
        return committee_id is not None and committee_id == actor.committee_id
    return user_id == actor.id


def committee_id(session: Session, name: str) -> int:
    """The id of the committee of this name, or NotFound saying so."""
    found = session.execute(select(col(Committee.id)).where(col(Committee.name) == values.normal_name(name))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"没有名为“{name}”的分党委。", hint="请检查分党委名称（见支部名单）。", field="committee", value=name)
    return int(found)
