"""The synthetic national campaign: rosters as files, and databases filled by bulk inserts.

Everything is drawn from one `random.Random(seed)`, so the same sizes give the same data. Rows go in
with one executemany per table in one transaction on SQLite and with COPY on PostgreSQL, into the
schema `branchflow init` builds (migrations, indexes and all), never through the CLI.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import random
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from bench.backends import SQLITE, Database

# Provinces and colleges make the committee names of a national campaign: 辽宁7号大学文法学院分党委.
PROVINCES = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
]
COLLEGES = [
    "文法学院",
    "外国语学院",
    "建筑学院",
    "艺术学院",
    "理学院",
    "机械工程学院",
    "材料学院",
    "冶金学院",
    "信息学院",
    "计算机学院",
    "工商管理学院",
    "马克思主义学院",
    "医学院",
    "化学学院",
    "生命科学学院",
    "经济学院",
    "教育学院",
    "体育学院",
    "机关",
    "后勤",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰博宇浩然思雨子涵"
THEMES = ("人才培养", "教学科研", "学科建设", "人才队伍建设", "服务社会或师生")
PLAN = {
    "expected_outcomes": "形成一套可复制的支部工作法，撰写案例1篇",
    "schedule": "5月启动，9月跟踪检查，次年4月总结",
    "innovation": "党建与业务同频共振",
    "promotion_plan": "校内交流会与公众号推广",
    "discipline_activity": "《中国共产党纪律处分条例》专题学习",
}


class Branch(NamedTuple):
    """One roster row."""

    committee: str
    name: str
    members: int
    contact: str
    email: str
    took_part_last_year: bool
    model_branch: bool
    cycle: tuple[int, int] | None

    def cells(self) -> list[str]:
        """The row as the roster file has it (columns of `workflow.roster.HEADERS`)."""
        return [
            self.committee,
            self.name,
            str(self.members),
            self.contact,
            self.email,
            "是" if self.took_part_last_year else "否",
            "是" if self.model_branch else "否",
            f"{self.cycle[0]}-{self.cycle[1]}" if self.cycle else "",
        ]


def committee_name(index: int) -> str:
    """The committee of a national roster: a college of a university of a province."""
    college = COLLEGES[index % len(COLLEGES)]
    university = index // len(COLLEGES)
    province = PROVINCES[university % len(PROVINCES)]
    suffix = "党委" if college in ("机关", "后勤") else "分党委"
    return f"{province}{university // len(PROVINCES) + 1}号大学{college}{suffix}"


def roster(
    branches: int, seed: int = 2024, sizes: tuple[int, int] = (8, 32), took_share: float = 0.15, model_share: float = 0.005
) -> list[Branch]:
    """`branches` roster rows in committees of `sizes` branches (inclusive; equal bounds give equal committees)."""
    rnd = random.Random(seed)
    people = [s + g + h for s in SURNAMES for g in GIVEN for h in ("", *GIVEN[:3])]
    kinds = ["学生" if k % 3 == 0 else "教工" for k in range(sizes[1])]
    out: list[Branch] = []
    committee = 0
    low, spread = sizes[0], sizes[1] - sizes[0] + 1
    random_ = rnd.random
    while len(out) < branches:
        name = committee_name(committee)
        stem = name.removesuffix("分党委").removesuffix("党委")
        size = min(low + int(random_() * spread), branches - len(out))
        for k in range(size):
            n = len(out) + 1
            model = random_() < model_share
            out.append(
                Branch(
                    name,
                    f"{stem}第{k + 1}{kinds[k]}党支部",
                    5 + int(random_() * 41),
                    people[int(random_() * len(people))],
                    f"b{n:07d}@example.edu.cn",
                    random_() < took_share,
                    model,
                    (2023, 2025) if model else None,
                )
            )
        committee += 1
    return out


def write_csv(path: Path, rows: Sequence[Branch], encoding: str = "gbk") -> Path:
    """The roster as Chinese Excel saves CSV: GBK, CRLF."""
    from workflow.intake.roster import HEADERS

    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADERS)
        w.writerows(r.cells() for r in rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Branch], sheet: str = "支部名单") -> Path:
    """The roster as Excel and WPS save a workbook: strings in the shared-strings table, a <dimension>, UTF-8.

    (openpyxl writes every string inline and no dimension, which costs a reader several times more
    than the files people actually upload; `workflow.sample.write_xlsx` is that kind.)
    """
    from workflow.intake.roster import HEADERS

    strings: dict[str, int] = {}

    def cell(ref: str, value: str | int) -> str:
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        index = strings.setdefault(value, len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    columns = "ABCDEFGH"
    lines = [f'<row r="1">{"".join(cell(f"{c}1", h) for c, h in zip(columns, HEADERS, strict=True))}</row>']
    for n, r in enumerate(rows, start=2):
        values: list[str | int] = list(r.cells())
        values[2] = r.members
        lines.append(f'<row r="{n}">{"".join(cell(f"{c}{n}", v) for c, v in zip(columns, values, strict=True) if v != "")}</row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    sheet_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {ns} {rel}><dimension ref="A1:H{len(rows) + 1}"/>'
        f"<sheetData>{''.join(lines)}</sheetData></worksheet>"
    )
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {ns} {rel}>'
            f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {ns}>'
            '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ),
        "xl/worksheets/sheet1.xml": sheet_xml,
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {ns} count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'
        ),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------------------------
# Databases


@functools.lru_cache(maxsize=1 << 16)
def _sqlite_datetime(value: datetime) -> str:
    """A datetime as SQLAlchemy writes it to SQLite (always with microseconds, so text order is time order)."""
    return value.isoformat(sep=" ", timespec="microseconds")


class Loader:
    """Bulk rows into one table at a time: executemany in one transaction (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.raw()
        self.counts: Counter[str] = Counter()
        if db.kind == SQLITE:
            # A load that fails is thrown away, so no journal; a big page cache keeps the indexes in memory.
            sqlite3.register_adapter(datetime, _sqlite_datetime)
            self.conn.execute("PRAGMA journal_mode=OFF")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-1000000")
            self.conn.execute("PRAGMA foreign_keys=OFF")  # the rows are consistent by construction
        else:
            # The same for PostgreSQL: no per-row foreign-key triggers, and room to sort when the indexes are rebuilt.
            self.conn.execute("SET session_replication_role = replica")
            self.conn.execute("SET maintenance_work_mem = '512MB'")

    def rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert `rows` (tuples in `columns` order); columns not given get their model default."""
        from sqlmodel import SQLModel

        extra_cols, extra_vals = _defaults(SQLModel.metadata.tables[table], columns)
        names = [*columns, *extra_cols]
        quoted = ", ".join(f'"{c}"' for c in names)
        tail = tuple(extra_vals)
        counted = _Counted(rows, tail)
        # Into an empty table, the secondary indexes are dropped and built again after the load (one sort
        # instead of a million B-tree inserts); the schema ends up exactly as `init` made it.
        indexes = self._secondary_indexes(table) if not self.counts[table] else []
        for name, _ in indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        if self.db.kind == SQLITE:
            marks = ", ".join("?" for _ in names)
            self.conn.execute("BEGIN")
            self.conn.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', counted)
            for _, sql in indexes:
                self.conn.execute(sql)
            self.conn.execute("COMMIT")
        else:
            with self.conn.cursor() as cur, cur.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for r in counted:
                    copy.write_row(r)
            for _, sql in indexes:
                self.conn.execute(sql)
            self.conn.commit()
        self.counts[table] += counted.n
        return counted.n

    def _secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of the table's indexes that no constraint owns."""
        if self.db.kind == SQLITE:
            found = self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
            )
            return [(str(n), str(q)) for n, q in found.fetchall()]
        found = self.conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (table, f'"{table}"'),
        )
        return [(str(n), str(q)) for n, q in found.fetchall()]

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the ids given explicitly, refresh planner statistics, and close."""
        if self.db.kind == SQLITE:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("ANALYZE")
            self.conn.close()
            return
        for table in self.counts:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false)"
            )
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load: statistics and the visibility map
        self.conn.close()


class _Counted:
    """Rows with the default columns appended, counting them as they go by."""

    def __init__(self, rows: Iterable[Sequence[Any]], tail: tuple[Any, ...]) -> None:
        self.rows = rows
        self.tail = tail
        self.n = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        tail = self.tail
        for r in self.rows:
            self.n += 1
            yield (*r, *tail) if tail else tuple(r)


def _defaults(table: Any, given: Sequence[str]) -> tuple[list[str], list[Any]]:
    """Columns the rows don't give that need a value (NOT NULL, no server default), with their scalar model default."""
    names, values = [], []
    for column in table.columns:
        if column.name in given or column.nullable or column.server_default is not None or column.primary_key:
            continue
        default = column.default
        if default is None or not getattr(default, "is_scalar", False):
            raise ValueError(f"bench: column {table.name}.{column.name} needs a value and has no scalar default")
        names.append(column.name)
        values.append(default.arg)
    return names, values


@dataclass
class Generated:
    """A database filled with a synthetic campaign, and what is in it."""

    db: Database
    now: datetime  # aware, Asia/Shanghai: the moment the campaign is observed at
    year: int
    committees: int
    branches: int
    cases: int
    by_state: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    seconds: float = 0.0
    ids: dict[str, list[int]] = field(default_factory=dict)  # named groups of case ids for the measurements


def _init(db: Database, now: datetime, year: int) -> tuple[Any, int, dict[str, datetime]]:
    """`branchflow init` through the library: the real schema, the spec, the campaign, the admin user."""
    from workflow import campaigns
    from workflow import spec as spec_mod
    from workflow.db.store import Store

    spec = spec_mod.parse(spec_mod.packaged_text(), "states.yaml（内置）")
    store = Store(db.url)
    campaign = campaigns.init(store, spec, year, now).campaign
    store.engine.dispose()
    assert campaign.id is not None
    from workflow.dates import clock

    dues = {state: clock.to_db(clock.end_of_day(day)) for state, day in spec.calendar(year).due.items()}
    return spec, campaign.id, dues


def _load_roster(loader: Loader, branches: Sequence[Branch], last_year: int) -> tuple[dict[str, int], list[int]]:
    """Committees, branches and one org user plus one committee user (with e-mail) per committee; returns ids."""
    committees: dict[str, int] = {}
    for b in branches:
        committees.setdefault(b.committee, len(committees) + 1)
    loader.rows("committee", ["id", "name"], ((i, name) for name, i in committees.items()))
    loader.rows(
        "branch",
        [
            "id",
            "committee_id",
            "name",
            "members",
            "contact",
            "email",
            "took_part_last_year",
            "model_branch",
            "cycle_start",
            "cycle_end",
            "took_part_year",
        ],
        (
            (
                n,
                committees[b.committee],
                b.name,
                b.members,
                b.contact,
                b.email,
                b.took_part_last_year,
                b.model_branch,
                b.cycle[0] if b.cycle else None,
                b.cycle[1] if b.cycle else None,
                last_year if b.took_part_last_year else None,  # what `roster import` records for 上年度参与=是
            )
            for n, b in enumerate(branches, start=1)
        ),
    )
    # Users: `init` made admin (id 1); org gets a mailbox, and each committee one secretary.
    loader.rows(
        "app_user",
        ["id", "name", "role", "committee_id", "branch_id", "email"],
        [
            (2, "zzb", "org", None, None, "zzb@example.edu.cn"),
            *((2 + i, f"c{i:06d}", "committee", i, None, f"c{i:06d}@example.edu.cn") for i in committees.values()),
        ],
    )
    return committees, [committees[b.committee] for b in branches]


CASE_COLUMNS = [
    "id",
    "campaign_id",
    "branch_id",
    "title",
    "theme",
    "theme_note",
    *PLAN,
    "state",
    "due_at",
    "version",
    "score",
    "criteria",
    "created_at",
    "updated_at",
]
HISTORY_COLUMNS = ["id", "case_id", "at", "actor", "role", "on_behalf_of", "trigger", "source", "dest", "inputs", "comment"]

# The queries campaign (2024, seen on 15 August): where a million cases stand. The early states
# are long past due, so every case still in one is overdue (1% in all) and owes its overdue notice;
# `approved` is due at the end of September, outside every reminder window yet; the rest are terminal or due next year.
QUERY_NOW = "2024-08-15T09:00"
QUERY_MIX = {
    "draft": 0.002,
    "submitted": 0.003,
    "preliminary_review": 0.002,
    "evaluated": 0.003,
    "approved": 0.58,
    "september_check": 0.04,
    "closing": 0.02,
    "completed": 0.015,
    "rejected": 0.08,
    "not_approved": 0.20,
    "withdrawn": 0.04,
    "check_failed": 0.01,
    "closing_failed": 0.005,
}


def query_campaign(db: Database, cases: int, seed: int = 2024) -> Generated:
    """`cases` cases of one 2024 campaign, one per branch, spread over every state (`QUERY_MIX`), ~1% overdue."""
    import time

    from workflow.dates import clock

    t0 = time.perf_counter()
    now = clock.parse_now(QUERY_NOW)
    now_db = clock.to_db(now)
    spec, campaign_id, dues = _init(db, now, 2024)
    rnd = random.Random(seed)
    branches = roster(cases, seed)
    loader = Loader(db)
    committees, _ = _load_roster(loader, branches, 2023)
    states = list(QUERY_MIX)
    weights = list(QUERY_MIX.values())
    drawn = rnd.choices(states, weights, k=cases)
    terminal = {s.id for s in spec.states if s.terminal}
    by_state: Counter[str] = Counter(drawn)
    overdue = 0
    plan = tuple(PLAN.values())

    rank = {state: i for i, state in enumerate(s.id for s in spec.states)}
    scored_from = rank["evaluated"]
    random_ = rnd.random

    def case_rows() -> Iterable[tuple[Any, ...]]:
        nonlocal overdue
        for n, state in enumerate(drawn, start=1):
            if state in terminal:
                due = None
            else:
                due = dues[state]
                if due < now_db and random_() < 0.5:
                    # Half the late cases were given an extension, itself now past: overdue by 1 day to the full term.
                    due = due + timedelta(days=1 + int(random_() * max(1, (now_db - due).days - 1)))
                elif state == "approved" and random_() < 0.05:
                    due = due + timedelta(days=1 + int(random_() * 20))
                if due < now_db:
                    overdue += 1
            scored = rank[state] >= scored_from and state not in ("rejected", "withdrawn")
            created = now_db - timedelta(days=140, minutes=int(random_() * 28800))
            yield (
                n,
                campaign_id,
                n,
                f"“党建+{THEMES[n % 5]}”特色创建",
                THEMES[n % 5],
                "",
                *plan,
                state,
                due,
                1 + rank[state],
                float(60 + int(random_() * 41)) if scored else None,
                "",
                created,
                created + timedelta(days=int(random_() * 100)),
            )

    loader.rows("cases", CASE_COLUMNS, case_rows())
    loader.finish()
    return Generated(db, now, 2024, len(committees), len(branches), cases, by_state, overdue, time.perf_counter() - t0)


# The advance-many campaign (2024, seen on 1 May, before the draft deadline): every case a complete
# draft with both files, two per committee of ten branches (R5 lets such a committee recommend two).
# 1% took part last year (R2 refuses them) and 1% lack the stamped scan (R8 refuses them).
ADVANCE_NOW = "2024-05-01T09:00"


def advance_campaign(db: Database, cases: int, seed: int = 2024, groups: dict[str, int] | None = None) -> Generated:
    """`cases` draft cases ready to submit; `groups` names leading slices of them (e.g. {"naive": 2000}) by whole committees."""
    import time

    from workflow.dates import clock

    t0 = time.perf_counter()
    now = clock.parse_now(ADVANCE_NOW)
    now_db = clock.to_db(now)
    _spec, campaign_id, dues = _init(db, now, 2024)
    rnd = random.Random(seed)
    committees_needed = (cases + 1) // 2
    branches = roster(committees_needed * 10, seed, sizes=(10, 10), took_share=0.0, model_share=0.0)
    # Two branches per committee have a case; 1% of those took part last year.
    with_case = [i for i in range(len(branches)) if i % 10 < 2][:cases]
    took = set(rnd.sample(with_case, k=len(with_case) // 100))
    no_scan = set(rnd.sample(with_case, k=len(with_case) // 100))
    branches = [
        Branch(b.committee, b.name, b.members, b.contact, b.email, i in took, False, None) if i in took else b
        for i, b in enumerate(branches)
    ]
    loader = Loader(db)
    committees, _ = _load_roster(loader, branches, 2023)
    created = now_db - timedelta(days=5)
    loader.rows(
        "cases",
        CASE_COLUMNS,
        (
            (
                n,
                campaign_id,
                bi + 1,
                f"“党建+{THEMES[n % 5]}”特色创建",
                THEMES[n % 5],
                "",
                *PLAN.values(),
                "draft",
                dues["draft"],
                3,
                None,
                "",
                created,
                created,
            )
            for n, bi in enumerate(with_case, start=1)
        ),
    )
    sha = hashlib.sha256(b"bench").hexdigest()

    def attachments() -> Iterable[tuple[Any, ...]]:
        k = 0
        for n, bi in enumerate(with_case, start=1):
            for kind in ("form", "stamped_scan"):
                if kind == "stamped_scan" and bi in no_scan:
                    continue
                k += 1
                yield (k, n, kind, f"{kind}{n}.pdf", sha, 1024, "admin", created)

    loader.rows("attachment", ["id", "case_id", "kind", "original_name", "sha256", "size", "actor", "created_at"], attachments())
    loader.rows(
        "history",
        HISTORY_COLUMNS,
        ((n, n, created, "admin", "org", "", "create", "", "draft", "{}", "") for n in range(1, len(with_case) + 1)),
    )
    loader.finish()
    ids = list(range(1, len(with_case) + 1))
    named: dict[str, list[int]] = {}
    start = 0
    for name, size in (groups or {}).items():
        size += size % 2  # whole committees: both cases of a committee stay in one group
        named[name] = ids[start : start + size]
        start += size
    named["rest"] = ids[start:]
    return Generated(
        db, now, 2024, len(committees), len(branches), len(with_case), Counter(draft=len(with_case)), 0, time.perf_counter() - t0, named
    )


def empty_campaign(db: Database) -> Generated:
    """An initialised database with no roster and no cases (start-up and roster import)."""
    import time

    from workflow.dates import clock

    t0 = time.perf_counter()
    now = clock.parse_now(QUERY_NOW)
    _init(db, now, 2024)
    return Generated(db, now, 2024, 0, 0, 0, seconds=time.perf_counter() - t0)
