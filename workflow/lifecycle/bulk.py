"""Fire one trigger on many cases: each case decided on its own, written in chunks of one transaction each.

Every case is decided by `engine.Decider`, as `advance` decides one (a chunk is its batch: its facts come
from a few grouped queries), and written with the same values as `engine.apply` (a versioned UPDATE and
one history row), but a chunk's writes come from a couple of statements
(executemany on SQLite, set-based on PostgreSQL) whose matched row count is checked. A refused case writes
nothing; a crash loses only the chunk in progress, whose cases stay untouched.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import BigInteger, Integer, bindparam, func, insert, literal, select, tuple_, update
from sqlalchemy.engine import CursorResult, Dialect
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.db import values
from workflow.db.models import Branch, Campaign, Case, Committee, History
from workflow.errors import BranchflowError, Conflict, NotFound, Refused, UsageError
from workflow.lifecycle import engine, repository
from workflow.lifecycle import facts as facts_mod
from workflow.spec import TransitionSpec, words
from workflow.workspace import Workspace

CHUNK = 1000
CHUNK_MAX = 100_000  # a larger chunk holds one transaction (and its locks) for minutes


class Outcome(NamedTuple):
    """What happened to one case: done (or, in a dry run, would be done), or the error that refused it."""

    id: int
    ok: bool
    error: BranchflowError | None = None
    source: str = ""
    dest: str = ""
    due_at: datetime | None = None
    version: int | None = None


class BulkRun:
    """An `advance-many` about to run: `total` cases selected; iterating runs it, yielding each chunk's outcomes once written."""

    def __init__(
        self,
        ws: Workspace,
        transition: TransitionSpec,
        inputs: Mapping[str, Any],
        *,
        state: str | None,
        ids: Sequence[int] | None,
        committee_id: int | None,
        committee: str | None,
        campaign_id: int | None,
        total: int,
        comment: str,
        dry_run: bool,
        chunk_size: int,
    ) -> None:
        self.ws = ws
        self.transition = transition
        self.inputs = inputs
        self.state = state
        self.ids = ids
        self.committee_id = committee_id
        self.committee = committee
        self.campaign_id = campaign_id
        self.total = total
        self.comment = comment
        self.dry_run = dry_run
        self.chunk_size = chunk_size
        self.done = 0
        self.refused = 0
        self._templates: dict[_Key, _Template] = {}
        self._after: tuple[datetime | None, int] = (None, 0)  # where `--state` selection goes on from
        self._position = 0  # where `--ids` goes on from
        self._years: dict[int, int] = {}  # campaign id → year
        self._committees: dict[int, str] = {}  # committee id → name
        self._locks_rows = not dry_run and ws.store.dialect != "sqlite"
        self._writer: _RowWriter | _SetWriter
        self._writer = _SetWriter() if ws.store.dialect == "postgresql" else _RowWriter(ws.store.engine.dialect)

    def __iter__(self) -> Iterator[list[Outcome]]:
        # In a dry run nothing is committed, so what earlier chunks decided is carried to later ones.
        carried = facts_mod.Pending() if self.dry_run else None
        while True:
            with self.ws.store.read() if self.dry_run else self.ws.store.write() as session:
                actor = self.ws.actor(session)
                wanted, loaded = self._next(session, actor)
                if not wanted:
                    return
                outcomes = self._chunk(session, actor, wanted, loaded, carried)
            self.done += sum(o.ok for o in outcomes)
            self.refused += sum(not o.ok for o in outcomes)
            yield outcomes

    def _next(self, session: Session, actor: Actor) -> tuple[list[int], dict[int, facts_mod.CaseRow]]:
        """The next chunk: its ids in the order they are reported, and their rows, locked for writing.

        Rows are locked (FOR UPDATE on PostgreSQL; on SQLite BEGIN IMMEDIATE already holds the write lock)
        so that the versions read here are still the versions when the chunk is written.
        """
        if self.ids is not None:
            wanted = list(self.ids[self._position : self._position + self.chunk_size])
            self._position += len(wanted)
            return wanted, self._load(session, wanted)
        if self._locks_rows:
            # Pick the ids first, then lock them: a LIMIT ... FOR UPDATE drops the rows it had to wait for.
            wanted = [r.id for r in self._keyset(session, actor, select(col(Case.id), col(Case.due_at)))]
            return wanted, self._load(session, wanted)
        rows = self._rows(session, self._keyset(session, actor, _light_case_query()))
        return [r.id for r in rows], {r.id: r for r in rows}

    def _load(self, session: Session, wanted: list[int]) -> dict[int, facts_mod.CaseRow]:
        """The rows of these cases by id (an id beyond the database's integers names no case)."""
        q = _light_case_query().where(facts_mod.any_of(session, col(Case.id), [i for i in wanted if 0 < i < 2**63]))
        q = q.order_by(col(Case.id))
        if not self.dry_run:
            q = q.with_for_update(of=Case)
        return {r.id: r for r in self._rows(session, session.connection().execute(q).all())}

    def _rows(self, session: Session, found: Sequence[Any]) -> list[facts_mod.CaseRow]:
        """CaseRows from `_light_case_query` rows, with their campaign's year and committee's name filled in."""
        if not found:
            return []
        conn = session.connection()
        if not self._years or any(r[1] not in self._years for r in found):
            self._years = {cid: year for cid, year in conn.execute(select(col(Campaign.id), col(Campaign.year))).all() if cid is not None}
        wanted = {r[_COMMITTEE_ID] for r in found} - self._committees.keys()
        if wanted:
            q = select(col(Committee.id), col(Committee.name)).where(col(Committee.id).in_(wanted))
            self._committees.update((cid, name) for cid, name in conn.execute(q).all() if cid is not None)
        out = []
        for r in found:
            values = list(r)
            values[_YEAR], values[_COMMITTEE] = self._years[r[1]], self._committees[r[_COMMITTEE_ID]]
            out.append(facts_mod.to_case_row(values))
        return out

    def _keyset(self, session: Session, actor: Actor, q: Any) -> list[Any]:
        """The next chunk of `--state` cases, walking the (state, due_at) index: those without a due date by id,
        then by (due_at, id). A keyset, so refused cases are not selected again and every chunk costs the same."""
        q = access.visible_cases(q.where(col(Case.campaign_id) == self.campaign_id, col(Case.state) == self.state), actor, self.committee_id)
        conn = session.connection()
        n = self.chunk_size
        due, after = self._after
        dated = q.where(col(Case.due_at).is_not(None)).order_by(col(Case.due_at), col(Case.id))
        found: list[Any]
        if due is None:
            found = list(conn.execute(q.where(col(Case.due_at).is_(None), col(Case.id) > after).order_by(col(Case.id)).limit(n)).all())
            if len(found) < n:
                found += conn.execute(dated.limit(n - len(found))).all()
        else:
            found = list(conn.execute(dated.where(tuple_(col(Case.due_at), col(Case.id)) > tuple_(due, after)).limit(n)).all())
        if found:
            self._after = (found[-1].due_at, found[-1].id)
        return found

    def _chunk(
        self, session: Session, actor: Actor, wanted: list[int], loaded: dict[int, facts_mod.CaseRow], carried: facts_mod.Pending | None
    ) -> list[Outcome]:
        """Decide every case of one chunk in order (`engine.Decider`, the chunk a batch), then write the ones decided (unless a dry run)."""
        rows = [loaded[i] for i in wanted if i in loaded]
        decider = engine.Decider(
            session, self.ws.spec, actor, self.transition.trigger, self.inputs, self.ws.now, rows, carried, comment=self.comment
        )
        out: list[Outcome] = []
        decided: dict[_Key, list[tuple[int, int]]] = {}  # (source state, campaign, inputs) → [(id, version read)]
        for case_id in wanted:
            row = loaded.get(case_id)
            if row is None:
                missing = NotFound(f"没有编号为 {case_id} 的申报。", hint=repository.CASE_HINT, field="case_id", value=case_id)
                out.append(Outcome(case_id, False, missing))
                continue
            try:
                if self.committee_id is not None and row.committee_id != self.committee_id:
                    raise Refused(f"申报 {row.id}（{row.branch}）属于{row.committee}，不属于指定的{self.committee}：未处理。", field="committee")
                decision = decider.decide(row)
            except BranchflowError as exc:
                out.append(Outcome(case_id, False, exc, source=row.state))
                continue
            # Cases share a template unless a hook (the panel's score) gave them inputs of their own.
            own = "" if decision.inputs is decider.inputs else json.dumps(decision.inputs, sort_keys=True, default=str)
            key = (row.state, row.campaign_id, own)
            if key not in self._templates:
                self._templates[key] = self._template(actor, decision)
            decided.setdefault(key, []).append((row.id, row.version))
            out.append(Outcome(case_id, True, None, row.state, decision.dest, decision.due, row.version + 1))
        if decided and not self.dry_run:
            groups = [(key, self._templates[key], pairs) for key, pairs in decided.items()]
            if self._writer.write(session, groups) != sum(len(pairs) for pairs in decided.values()):
                # Cannot happen while the rows are locked; if it does, nothing of this chunk is kept.
                raise Conflict("有申报在批量处理中被他人修改，本批未写入（之前的批次已保存）：请重新运行同一命令。")
        return out

    def _template(self, actor: Actor, decision: engine.Decision) -> _Template:
        """What a transition writes for every case of one (source state, campaign) group, built by
        `engine.case_values`, `repository.touched` and `engine.history_values` (the rows differ only in the case id and version)."""
        now = self.ws.now
        row, transition, inputs, dest, due = decision
        case = repository.touched(engine.case_values(row, inputs, dest, due), now)
        history = engine.history_values(self.ws.spec, actor, row, transition, inputs, dest, now, self.comment)
        return _Template(case, {k: v for k, v in history.items() if k != "case_id"})


class _Template(NamedTuple):
    """What one group of decided cases is written with: the case's columns (but its version) and its history row (but the case id)."""

    case: dict[str, Any]
    history: dict[str, Any]


_Key = tuple[str, int, str]  # (source state, campaign, the inputs when a case has its own)
Groups = list[tuple[_Key, _Template, list[tuple[int, int]]]]


class _RowWriter:
    """SQLite: the driver's executemany of UPDATE … WHERE id = ? AND version = ? and of the history INSERT.

    SQLAlchemy's per-row parameter handling would cost more than SQLite itself, so the statements are compiled
    once, each group's values converted once (datetimes to SQLite's text), and per case only id and version vary.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.updates: dict[tuple[str, ...], _Compiled] = {}  # by the columns set (those engine.case_values gives)
        self.insert = _Compiled(insert(History).values({c: bindparam(c) for c in _HISTORY}), dialect)
        self.converted: dict[_Key, _Template] = {}

    def write(self, session: Session, groups: Groups) -> int:
        """Write every group; returns how many cases the UPDATE matched (id and version)."""
        matched = 0
        history: list[dict[str, Any]] = []
        for key, template, pairs in groups:
            if key not in self.converted:
                self.converted[key] = _Template(
                    _for_driver(Case, template.case, self.dialect), _for_driver(History, template.history, self.dialect)
                )
            case, hist = self.converted[key]
            matched += self._update(tuple(case)).run(session, [{**case, "b_id": i, "b_version": v, "version": v + 1} for i, v in pairs])
            history += ({**hist, "case_id": i} for i, _ in pairs)
        self.insert.run(session, history)
        return matched

    def _update(self, columns: tuple[str, ...]) -> _Compiled:
        found = self.updates.get(columns)
        if found is None:
            stmt = update(Case).where(col(Case.id) == bindparam("b_id"), col(Case.version) == bindparam("b_version"))
            found = self.updates[columns] = _Compiled(stmt.values({c: bindparam(c) for c in ("version", *columns)}), self.dialect)
        return found


class _SetWriter:
    """PostgreSQL: per group, one UPDATE … FROM unnest(ids, versions) and one INSERT … SELECT … FROM unnest(ids).

    One statement per group rather than one per case: the server does the per-row work without a statement
    (and its round trip) per case.
    """

    def write(self, session: Session, groups: Groups) -> int:
        """Write every group; returns how many cases the UPDATE matched (id and version)."""
        from sqlalchemy.dialects.postgresql import ARRAY

        conn = session.connection()
        history = History.__table__  # type: ignore[attr-defined]
        matched = 0
        for _key, template, pairs in groups:
            ids = [i for i, _ in pairs]
            read = func.unnest(
                bindparam("ids", ids, type_=ARRAY(BigInteger)), bindparam("versions", [v for _, v in pairs], type_=ARRAY(Integer))
            )
            v = read.table_valued("id", "version").render_derived(name="v")
            stmt = update(Case).where(col(Case.id) == v.c.id, col(Case.version) == v.c.version)
            result = conn.execute(stmt.values(version=col(Case.version) + 1, **template.case))
            matched += cast(CursorResult[Any], result).rowcount
            h = func.unnest(bindparam("ids", ids, type_=ARRAY(BigInteger))).table_valued("case_id").render_derived(name="h")
            constants = [literal(value, history.c[name].type) for name, value in template.history.items()]
            conn.execute(insert(History).from_select(["case_id", *template.history], select(h.c.case_id, *constants)))
        return matched


class _Compiled:
    """A statement compiled once for the dialect and run with the driver's own executemany."""

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        names = tuple(compiled.positiontup or ()) if compiled.positional else ()
        self.order = itemgetter(*names) if len(names) > 1 else None  # positional drivers (SQLite) take tuples

    def run(self, session: Session, rows: list[dict[str, Any]]) -> int:
        """executemany on the session's own connection (same transaction); returns the total row count."""
        if not rows:
            return 0
        params: list[Any] = list(map(self.order, rows)) if self.order is not None else rows
        cursor = session.connection().connection.cursor()
        try:
            cursor.executemany(self.sql, params)
            return int(cursor.rowcount)
        finally:
            cursor.close()


_YEAR, _COMMITTEE_ID, _COMMITTEE = (facts_mod.CaseRow._fields.index(f) for f in ("year", "committee_id", "committee"))


@functools.cache
def _light_case_query() -> Any:
    """`facts.case_query` without its joins to committee and campaign, which cost half its time on SQLite:
    `BulkRun._rows` fills in the campaign's year and the committee's name from two small lookups."""
    columns: list[Any] = list(facts_mod.CASE_COLUMNS)
    columns[_YEAR], columns[_COMMITTEE] = literal(0), literal("")
    return select(*columns).select_from(Case).join(Branch, col(Branch.id) == col(Case.branch_id))


_HISTORY = ("case_id", "at", "actor", "role", "on_behalf_of", "trigger", "source", "dest", "inputs", "comment")


def _for_driver(model: Any, values: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Values as SQLAlchemy would bind them (e.g. datetimes as SQLite's text), for the driver's executemany."""
    table = model.__table__
    out = {}
    for key, value in values.items():
        process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
        out[key] = process(value) if process is not None and value is not None else value
    return out


def parse_ids(text: str) -> list[int]:
    """'1,2,3' (spaces and Chinese commas allowed) → [1, 2, 3], duplicates dropped, order kept."""
    out: dict[int, None] = {}
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not values.is_digits(part):
            raise UsageError(f"{part!r} 不是申报编号。", hint="请写出用逗号分隔的申报编号，如 1,2,3。", field="ids", value=part)
        out[values.parse_int(part, "申报编号", low=1, field="ids")] = None
    if not out:
        raise UsageError("没有给出任何申报编号。", hint="请写出申报编号，如 1,2,3。", field="ids")
    return list(out)


def advance_many(
    ws: Workspace,
    trigger: str,
    *,
    state: str | None = None,
    ids: Sequence[int] | None = None,
    committee: str | None = None,
    year: int | None = None,
    inputs: Mapping[str, Any] | None = None,
    comment: str = "",
    dry_run: bool = False,
    chunk_size: int = CHUNK,
) -> BulkRun:
    """Check the command, select the cases (`--state` in a campaign, or `--ids`), and return the run to iterate."""
    spec = ws.spec
    if (state is None) == (ids is None):
        raise UsageError("没有指明要处理哪些申报。", hint="请指定一个状态，或列出申报编号（二者选一）。", field="state")
    if ids is not None and year is not None:
        raise UsageError("年度只用于按状态选择申报。", hint="按编号选择时请不填年度。", field="campaign")
    values.check_int(chunk_size, "每批申报数", low=1, high=CHUNK_MAX, field="chunk_size")
    values.check_text(comment, "说明", multiline=True, field="comment")
    committee = values.normal_name(committee) if committee else committee
    for cid in ids or ():
        values.check_int(cid, "申报编号", low=1)
    transition = spec.by_trigger[words.triggers(spec).resolve(trigger)]
    typed = engine.parse_inputs(transition, inputs or {})
    engine.require_future_until(typed, ws.now)
    if state is not None:
        state = spec.state(state).id
    with ws.store.read() as session:
        actor = ws.actor(session)
        committee_id = access.committee_id(session, committee) if committee else None
        campaign_id = None
        if ids is not None:
            ids = list(dict.fromkeys(ids))
            total = len(ids)
        else:
            campaign = ws.campaign(session, year)
            campaign_id = campaign.id
            q = select(func.count()).select_from(Case).where(col(Case.campaign_id) == campaign_id, col(Case.state) == state)
            total = int(session.execute(access.visible_cases(q, actor, committee_id)).scalar_one())
    return BulkRun(
        ws,
        transition,
        typed,
        state=state,
        ids=ids,
        committee_id=committee_id,
        committee=committee,
        campaign_id=campaign_id,
        total=total,
        comment=comment,
        dry_run=dry_run,
        chunk_size=chunk_size,
    )
