"""Read-only answers: where every case is, which are overdue, what happened to one case."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Attachment, Branch, Campaign, Case, Committee, History, Waiver
from workflow.errors import NotFound, UsageError
from workflow.spec import Spec
from workflow.workspace import Workspace

# The audit rows of the expert panel (review_assign, review_unassign, review_score): org's eyes only.
REVIEW_PREFIX = "review_"


def in_view(session: Session, ws: Workspace, year: int | None) -> list[Campaign]:
    """The campaigns a listing covers: `year`'s; by default every campaign that still has an open case (a
    2024 case closes in 2025, after the 2025 campaign exists), or the latest one when none has."""
    if year is not None:
        return [ws.campaign(session, year)]
    live = [st.id for st in ws.spec.states if not st.terminal]
    campaigns = session.execute(select(Campaign).order_by(col(Campaign.year))).scalars().all()
    open_ones = [
        c
        for c in campaigns
        if session.execute(select(col(Case.id)).where(col(Case.campaign_id) == c.id, col(Case.state).in_(live)).limit(1)).first()
        is not None
    ]
    return open_ones or [ws.campaign(session, None)]


def years_in_view(ws: Workspace, year: int | None = None) -> list[int]:
    """The years a listing without `--campaign` covers (for saying so beside it)."""
    with ws.store.read() as s:
        ws.actor(s)
        return [c.year for c in in_view(s, ws, year)]


def campaign_years(ws: Workspace) -> dict[str, list[int]]:
    """The years a year picker offers: every campaign (`all`, newest first) and those a listing covers by
    default (`in_view`: every campaign with open cases)."""
    with ws.store.read() as s:
        ws.actor(s)
        every = s.execute(select(col(Campaign.year)).order_by(col(Campaign.year).desc())).scalars().all()
        return {"all": list(every), "in_view": [c.year for c in in_view(s, ws, None)]}


def _scoped(q: Any, year: int | None, session: Session, ws: Workspace, actor: Actor, committee: str | None) -> Any:
    """Restrict a query over `cases` to the campaigns in view, the committee asked for, and what the actor may see.

    The scope is `access.visible_cases`: counting a million cases of one campaign for org reads `cases` alone.
    """
    ids = [c.id for c in in_view(session, ws, year)]
    committee_id = access.committee_id(session, committee) if committee else None
    where = col(Case.campaign_id) == ids[0] if len(ids) == 1 else col(Case.campaign_id).in_(ids)
    return access.visible_cases(q.where(where), actor, committee_id)


def _listed(keys: Any, order: tuple[Any, ...], limit: int | None) -> Any:
    """The listing columns for the cases picked (and ordered, and limited) by the subquery `keys`.

    Branch and committee names are joined after the limit, so a first page of a large result looks
    up a hundred names, not every candidate's.
    """
    picked = keys.order_by(*order)
    if limit:
        picked = picked.limit(values.check_int(limit, "列出数量", low=1, field="limit"))
    picked = picked.subquery()
    return _named(picked, [picked.c[c.key] for c in order])


def _named(picked: Any, ordering: Any) -> Any:
    """The listing columns (names, year) joined onto the ids a subquery picked, in its order."""
    return (
        select(
            col(Case.id),
            col(Branch.name),
            col(Committee.name),
            col(Case.title),
            col(Case.state),
            col(Case.due_at),
            col(Case.version),
            col(Campaign.year),
        )
        .select_from(picked)
        .join(Case, col(Case.id) == picked.c.id)
        .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
        .join(Branch, col(Branch.id) == col(Case.branch_id))
        .join(Committee, col(Committee.id) == col(Branch.committee_id))
        .order_by(*ordering)
    )


def next_roles(spec: Spec, state_id: str) -> tuple[str, ...]:
    """Who must act: the roles that can move a case on from `state_id` (the spec's transitions out of it), which need
    not be its owner (an `approved` case is the branch's, but only org's `pass_check` moves it on).

    The transitions to a live state count; from a state whose every way out ends the case (`closing`), those. An exit
    that ends the case while a way on exists (the committee's `withdraw`) is not what the case waits for.
    """
    outs = spec.transitions_from(state_id)
    on = [t for t in outs if t.dest in spec.by_id and not spec.by_id[t.dest].terminal] or outs
    return tuple(dict.fromkeys(r for t in on for r in t.roles))


class _Rows:
    """Turns result rows into listing dicts, working out each state's labels (and who can move it on) and each due
    date once."""

    def __init__(self, ws: Workspace) -> None:
        spec = ws.spec
        self.now = ws.now
        self.states = {st.id: (st.label, spec.roles.get(st.owner, "") if st.owner else "") for st in spec.states}
        self.movers = {st.id: list(next_roles(spec, st.id)) for st in spec.states}
        self.moved_by = {sid: "、".join(spec.roles.get(r, r) for r in roles) for sid, roles in self.movers.items()}
        self.dues: dict[Any, tuple[Any, int]] = {}  # stored due_at → (aware due_at, whole days overdue at `now`)

    def due(self, raw: Any) -> tuple[Any, int]:
        """The stored due date as shown, and the days overdue (at least 1), computed once per distinct date."""
        found = self.dues.get(raw)
        if found is None:
            shown = clock.from_db(raw)
            found = self.dues[raw] = (shown, max(1, clock.days_late(self.now, shown)))
        return found

    def __call__(self, r: Any) -> dict[str, Any]:
        label, owner = self.states.get(r[4]) or (r[4], "")
        return {
            "id": r[0],
            "branch": r[1],
            "committee": r[2],
            "title": r[3],
            "state": r[4],
            "state_label": label,
            "owner": owner,
            "next_by": self.moved_by.get(r[4], ""),
            "next_roles": self.movers.get(r[4], []),
            "due_at": self.due(r[5])[0] if r[5] else None,
            "version": r[6],
            **({"campaign": r[7]} if len(r) > 7 else {}),
        }


def status(
    ws: Workspace, committee: str | None = None, state: str | None = None, year: int | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Cases visible to the actor (the first `limit` by id, or all), with counts per state over all of them."""
    if state:
        state = ws.spec.state(state).id
    with ws.store.read() as s:
        actor = ws.actor(s)
        counts = _scoped(select(func.count()).select_from(Case), year, s, ws, actor, committee)
        keys = _scoped(select(col(Case.id)).select_from(Case), year, s, ws, actor, committee)
        if state:
            keys = keys.where(col(Case.state) == state)
        counted = _per_state(s, counts, [state] if state else [st.id for st in ws.spec.states])
        to_row = _Rows(ws)
        rows = [to_row(r) for r in s.connection().execute(_listed(keys, (col(Case.id),), limit))]
        years = [c.year for c in in_view(s, ws, year)]
    per_state = [{"state": st.id, "state_label": st.label, "count": counted[st.id]} for st in ws.spec.states if counted.get(st.id)]
    return {"cases": rows, "counts": per_state, "total": sum(counted.values()), "campaigns": years}


def _load_case(session: Session, case_id: int) -> Any:
    """The case repository's `load_case`, imported on first use: listing and counting never load the engine
    (nor transitions, nor the rules' facts), so a read command starts faster."""
    from workflow.lifecycle.repository import load_case

    return load_case(session, case_id)


def _per_state(session: Session, counts: Any, states: list[str]) -> dict[str, int]:
    """How many of the cases `counts` selects are in each state, in one statement.

    One count per state, each a range of the index on (campaign_id, state, due_at) read without
    touching the table; a GROUP BY over the campaign's whole range compares every entry's state
    and costs about a third more on SQLite.
    """
    per = [counts.where(col(Case.state) == sid).scalar_subquery() for sid in states]
    return {sid: n for sid, n in zip(states, session.execute(select(*per)).one(), strict=True) if n}


ORDERS = ("id", "due", "state", "committee")


def listing(
    ws: Workspace,
    committee: str | None = None,
    state: str | None = None,
    year: int | None = None,
    *,
    text: str | None = None,
    overdue_only: bool = False,
    order: str = "id",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of the cases visible to the actor, filtered (committee, state, overdue, text in branch or title)
    and sorted (id, due, state, committee); `counts` per state and `total` over the filters without `state`,
    `matched` with it (for paging). The rows are the same dicts `status` lists."""
    if state:
        state = ws.spec.state(state).id
    if order not in ORDERS:
        raise UsageError(f"排序方式 {order!r} 无效：请用 {', '.join(ORDERS)} 之一。")
    values.check_int(limit, "limit", low=1)
    values.check_int(offset, "offset", low=0)
    with ws.store.read() as s:
        actor = ws.actor(s)
        first = {
            "due": col(Case.due_at).label("o_first"),
            "state": col(Case.state).label("o_first"),
            "committee": select(col(Branch.committee_id)).where(col(Branch.id) == col(Case.branch_id)).scalar_subquery().label("o_first"),
        }.get(order)
        columns = (col(Case.id),) if first is None else (first, col(Case.id))

        def filtered(q: Any) -> Any:
            q = _scoped(q, year, s, ws, actor, committee)
            if overdue_only:
                live = [st.id for st in ws.spec.states if not st.terminal]
                q = q.where(col(Case.state).in_(live), col(Case.due_at) < clock.to_db(ws.now))
            if text and text.strip():
                needle = f"%{text.strip()}%"
                named = select(col(Branch.id)).where(col(Branch.name).like(needle))
                q = q.where(col(Case.title).like(needle) | col(Case.branch_id).in_(named))
            return q

        counts = filtered(select(col(Case.state), func.count()).select_from(Case))
        counted = dict(s.execute(counts.group_by(col(Case.state))).all())
        keys = filtered(select(*columns).select_from(Case))
        if state:
            keys = keys.where(col(Case.state) == state)
        picked = keys.order_by(*columns).limit(limit).offset(offset).subquery()
        ordering = [picked.c.id] if first is None else [picked.c.o_first, picked.c.id]
        query = _named(picked, ordering)
        to_row = _Rows(ws)
        rows = [to_row(r) for r in s.connection().execute(query)]
    per_state = [{"state": st.id, "state_label": st.label, "count": counted[st.id]} for st in ws.spec.states if counted.get(st.id)]
    total = sum(counted.values())
    return {"cases": rows, "counts": per_state, "total": total, "matched": counted.get(state, 0) if state else total}


def overdue(ws: Workspace, committee: str | None = None, year: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Cases past due in a non-terminal state, most overdue first, with days overdue."""
    live = [st.id for st in ws.spec.states if not st.terminal]
    now_db = clock.to_db(ws.now)
    with ws.store.read() as s:
        actor = ws.actor(s)
        # The index on (state, due_at) finds the late cases; only the page shown gets its names joined.
        keys = _scoped(select(col(Case.id), col(Case.due_at)).select_from(Case), year, s, ws, actor, committee)
        keys = keys.where(col(Case.state).in_(live), col(Case.due_at) < now_db)
        to_row = _Rows(ws)
        out = []
        for r in s.connection().execute(_listed(keys, (col(Case.due_at), col(Case.id)), limit)):
            row = to_row(r)
            row["days_overdue"] = to_row.due(r[5])[1]
            out.append(row)
        return out


def committee_names(ws: Workspace, limit: int = 500) -> list[str]:
    """The names of the committees the actor sees (org and reviewers: all; others: their own), sorted, at
    most `limit` (a filter's choices: a national roster has tens of thousands)."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        q = select(col(Committee.name)).order_by(col(Committee.name)).limit(values.check_int(limit, "limit", low=1))
        committee_id, _branch = access.roster_scope(actor)
        if committee_id is not None:
            q = q.where(col(Committee.id) == committee_id)
        return [str(n) for n in s.execute(q).scalars()]


def board(ws: Workspace, year: int | None = None, *, week_days: int = 7, limit: int = 50, committees: int = 100) -> dict[str, Any]:
    """组织部看板 as aggregates: counts per committee and state, overdue per committee, the `limit` most overdue
    cases and the first `limit` falling due within `week_days` — counted in the database, never by loading
    every case (a national campaign has a million). The matrix has the `committees` committees with the most
    overdue cases, then the most cases (a national campaign has tens of thousands; `committees_total` says how
    many there are); `per_state` counts every committee's cases."""
    live = [st.id for st in ws.spec.states if not st.terminal]
    now_db = clock.to_db(ws.now)
    soon_db = clock.to_db(ws.now + timedelta(days=week_days))
    with ws.store.read() as s:
        actor = ws.actor(s)
        # An alias of branch gives each case's committee (the scope filter may join branch itself).
        own = aliased(Branch)

        by_state = _scoped(
            select(col(own.committee_id), col(Case.state), func.count()).select_from(Case).join(own, col(own.id) == col(Case.branch_id)),
            year,
            s,
            ws,
            actor,
            None,
        ).group_by(col(own.committee_id), col(Case.state))
        late_q = (
            _scoped(
                select(col(own.committee_id), func.count()).select_from(Case).join(own, col(own.id) == col(Case.branch_id)),
                year,
                s,
                ws,
                actor,
                None,
            )
            .where(col(Case.state).in_(live), col(Case.due_at) < now_db)
            .group_by(col(own.committee_id))
        )
        counts = s.execute(by_state).all()
        late_counts = s.execute(late_q).all()
        late_of = dict(late_counts)
        size: dict[int, int] = {}
        for c, _state, n in counts:
            size[c] = size.get(c, 0) + n
        every = set(size) | set(late_of)
        ids = set(sorted(every, key=lambda c: (-late_of.get(c, 0), -size.get(c, 0), c))[:committees])
        names: dict[int, str] = {}
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            names.update(dict(s.execute(select(col(Committee.id), col(Committee.name)).where(col(Committee.id).in_(chunk))).all()))
        keys = _scoped(select(col(Case.id), col(Case.due_at)).select_from(Case), year, s, ws, actor, None)
        keys = keys.where(col(Case.state).in_(live), col(Case.due_at) >= now_db, col(Case.due_at) <= soon_db)
        to_row = _Rows(ws)
        week = [to_row(r) for r in s.connection().execute(_listed(keys, (col(Case.due_at), col(Case.id)), limit))]
    matrix: dict[str, dict[str, int]] = {}
    per_state: dict[str, int] = {}
    for committee_id, state, n in counts:
        per_state[state] = per_state.get(state, 0) + n
        if committee_id in ids:
            matrix.setdefault(names.get(committee_id, ""), {})[state] = n
    overdue_per_committee = {names.get(c, ""): n for c, n in late_counts if c in ids}
    return {
        "matrix": matrix,
        "states": [st.id for st in ws.spec.states if st.id in per_state],
        "per_state": per_state,
        "committees_total": len(every),
        "overdue_per_committee": overdue_per_committee,
        "overdue": overdue(ws, year=year, limit=limit),
        "overdue_total": sum(late_of.values()),
        "week": week,
        "total": sum(n for _c, _s, n in counts),
    }


def show(ws: Workspace, case_id: int) -> dict[str, Any]:
    """One case in full: fields, plan, score, attachments, waivers."""
    spec = ws.spec
    with ws.store.read() as s:
        actor = ws.actor(s)
        row = _load_case(s, case_id)
        access.require_read(actor, row.committee_id, row.branch_id, access.is_assigned(s, actor, case_id))
        case = s.get(Case, case_id)
        assert case is not None
        year = s.execute(select(col(Campaign.year)).where(col(Campaign.id) == row.campaign_id)).scalar_one()
        atts = [
            {"kind": a.kind, "name": a.original_name, "sha256": a.sha256, "size": a.size, "at": clock.from_db(a.created_at)}
            for a in s.execute(select(Attachment).where(col(Attachment.case_id) == case_id).order_by(col(Attachment.id))).scalars()
        ]
        waivers = [
            {"rule": w.rule, "reason": w.reason, "actor": w.actor, "at": clock.from_db(w.at)}
            for w in s.execute(select(Waiver).where(col(Waiver.case_id) == case_id)).scalars()
        ]
    owner = spec.by_id[row.state].owner if row.state in spec.by_id else None
    return {
        "id": case.id,
        "campaign": year,
        "branch": row.branch,
        "committee": row.committee,
        "title": case.title,
        "theme": case.theme,
        "theme_note": case.theme_note,
        **dict(row.plan),
        "state": row.state,
        "state_label": spec.label(row.state),
        "owner": spec.roles.get(owner, "") if owner else "",
        "next_by": "、".join(spec.roles.get(r, r) for r in next_roles(spec, row.state)),
        "next_roles": list(next_roles(spec, row.state)),
        "due_at": row.due_at,
        "version": case.version,
        "score": case.score if access.sees_score(actor) else None,
        "criteria": json.loads(case.criteria) if case.criteria and access.sees_score(actor) else {},
        "attachments": atts,
        "waivers": waivers,
    }


def history(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """The case's audit trail, oldest first (the panel's rows, `review_*`, only for org)."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        row = _load_case(s, case_id)
        access.require_read(actor, row.committee_id, row.branch_id, access.is_assigned(s, actor, case_id))
        if not access.sees_history(actor):
            raise access.PermissionDenied(
                f"权限不足：评审专家不能查看申报的操作记录（用户 {actor.name}）。", hint="可以查看该申报的方案和附件。", value=case_id
            )
        q = select(History).where(col(History.case_id) == case_id)
        if not access.sees_panel(actor):
            q = q.where(~col(History.trigger).startswith(REVIEW_PREFIX, autoescape=True))
        rows = s.execute(q.order_by(col(History.id))).scalars().all()
    return [
        {
            "at": clock.from_db(h.at),
            "actor": h.actor,
            "role": h.role,
            "on_behalf_of": h.on_behalf_of,
            "trigger": h.trigger,
            "source": h.source,
            "dest": h.dest,
            "inputs": json.loads(h.inputs) if h.inputs else {},
            "comment": h.comment,
        }
        for h in rows
    ]


def branches(ws: Workspace, committee: str | None = None) -> list[dict[str, Any]]:
    """The part of the roster the actor sees (org and reviewers: all, reviewers without contacts; a committee:
    its branches; a branch: itself)."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        q = select(Branch, col(Committee.name)).join(Committee, col(Committee.id) == col(Branch.committee_id))
        if committee:
            q = q.where(col(Committee.name) == values.normal_name(committee))
        committee_id, branch_id = access.roster_scope(actor)
        if committee_id is not None:
            q = q.where(col(Branch.committee_id) == committee_id)
        if branch_id is not None:
            q = q.where(col(Branch.id) == branch_id)
        contacts = access.sees_contacts(actor)
        return [
            {
                "id": b.id,
                "committee": cname,
                "name": b.name,
                "members": b.members,
                "contact": b.contact if contacts else "",
                "email": b.email if contacts else "",
                "took_part_last_year": b.took_part_last_year,
                "model_branch": b.model_branch,
                "cycle": f"{b.cycle_start}-{b.cycle_end}" if b.cycle_start else "",
            }
            for b, cname in s.execute(q.order_by(col(Branch.id)))
        ]


def attachments(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """A case's attachments with their ids (for download links), oldest first (`records.attachments.files` as dicts)."""
    from workflow.records import attachments as attachments_mod  # on first use, as `_load_case`

    return [asdict(f) for f in attachments_mod.files(ws, case_id)]


def attachment_file(ws: Workspace, case_id: int, attachment_id: int) -> dict[str, Any]:
    """One attachment of a case, with the path of its stored file (the caller's read scope is checked)."""
    for a in attachments(ws, case_id):
        if a["id"] == attachment_id:
            path = ws.store.files_dir / a["sha256"][:2] / a["sha256"]
            if not path.is_file():
                raise NotFound(f"附件 {attachment_id} 的文件不在附件目录中（{ws.store.files_dir}）：请检查 BRANCHFLOW_FILES。")
            return {**a, "path": path}
    raise NotFound(f"申报 {case_id} 没有附件 {attachment_id}。")


def committee_overview(ws: Workspace, committee: str | None = None, year: int | None = None) -> dict[str, Any]:
    """分党委 page: one committee's branches from the roster, each with its case of the campaign (if any) and where it
    stands on R2 and R4 by the rules' own facts, and the committee's R5 quota used and allowed.

    A committee sees only its own (naming another is not found, so names don't leak); org any, by default the first
    by name. Each branch's `r2`/`r4` is the rule's refusal reason, or None when the rule lets it take part.
    """
    from workflow.lifecycle import facts as facts_mod  # on first use, as `_load_case`
    from workflow.spec.rules import CONDITIONS

    spec = ws.spec
    with ws.store.read() as s:
        actor = ws.actor(s)
        access.require_committee_overview(actor)
        own, _branch = access.roster_scope(actor)
        if committee:
            wanted = access.committee_id(s, committee)
            if own is not None and wanted != own:
                raise NotFound(f"没有名为“{committee}”的分党委。", hint="请检查分党委名称（见支部名单）。", field="committee", value=committee)
        elif own is not None:
            wanted = own
        else:
            first = s.execute(select(col(Committee.id)).order_by(col(Committee.name)).limit(1)).scalar_one_or_none()
            if first is None:
                raise NotFound("还没有任何分党委。", hint="请先导入支部名单。")
            wanted = int(first)
        name = s.execute(select(col(Committee.name)).where(col(Committee.id) == wanted)).scalar_one()
        campaign = ws.campaign(s, year)
        assert campaign.id is not None
        roster = s.execute(select(Branch).where(col(Branch.committee_id) == wanted).order_by(col(Branch.id))).scalars().all()
        found = access.visible_cases(facts_mod.case_query().where(col(Case.campaign_id) == campaign.id), actor, wanted)
        titles: dict[int, str] = {}
        by_branch: dict[int, Any] = {}
        for r in s.execute(found.add_columns(col(Case.title)).order_by(col(Case.id))).all():
            row = facts_mod.to_case_row(r[:-1])
            titles[row.id] = r[-1]
            current = by_branch.get(row.branch_id)
            # The branch's live case (R3: at most one) stands for it; otherwise its latest.
            if current is None or (current.state in spec.rules.not_live) >= (row.state in spec.rules.not_live):
                by_branch[row.branch_id] = row
        rows = []
        for b in roster:
            assert b.id is not None
            case = by_branch.get(b.id)
            # A branch without a case is judged as the draft it would start (id 0: no waiver).
            rows.append(
                case
                or facts_mod.CaseRow(
                    0, campaign.id, campaign.year, b.id, b.name, wanted, name, spec.initial.id, None, 0, "", "", {},
                    None, b.model_branch, b.cycle_start, b.cycle_end, b.took_part_year,
                )
            )  # fmt: skip
        batch = facts_mod.Batch(s, spec, rows, conditions=["r2_no_repeat", "r4_model_cycle", "r5_quota"])
        used, allowed = batch.committee_quota(campaign.id, wanted)
        branches = []
        for b, row in zip(roster, rows, strict=True):
            f = batch.facts(row, ws.now, {})
            r2, r4 = CONDITIONS["r2_no_repeat"](f), CONDITIONS["r4_model_cycle"](f)
            branches.append(
                {
                    "id": b.id,
                    "name": b.name,
                    "members": b.members,
                    "model_branch": b.model_branch,
                    "cycle": f"{b.cycle_start}-{b.cycle_end}" if b.cycle_start else "",
                    "case": None
                    if row.id == 0
                    else {
                        "id": row.id,
                        "title": titles[row.id],
                        "state": row.state,
                        "state_label": spec.label(row.state),
                        "counted": batch.counts_against_quota(row),
                    },
                    "took_part_last_year": f.took_part_last_year,
                    "model_in_cycle": f.model_in_cycle,
                    "model_participations_in_cycle": f.model_participations_in_cycle,
                    "r2_waived": "R2" in f.waived,
                    "r2": r2.reason if r2 else None,
                    "r4": r4.reason if r4 else None,
                }
            )
    return {
        "committee": name,
        "campaign": campaign.year,
        "branch_count": len(roster),
        "quota_used": used,
        "quota_limit": allowed,
        "with_case": sum(1 for b in branches if b["case"]),
        "branches": branches,
    }
