"""One date parser and one range (2000–2100) for every date a user or a spec gives; YAML that attacks the parser.

Each class of bad input is tried with several members, through the CLI: exit 2, one Chinese line on stderr,
no traceback, and the database unchanged.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import Bf, ready_case
from helpers import (
    Seeded,
    seed_roster_and_users,
    snapshot,
    spec_parsed_once,  # noqa: F401  (autouse: parse states.yaml once)
)

from cli import cli
from workflow import clock, spec
from workflow.errors import SpecError, UsageError

CJK = re.compile(r"[\u4e00-\u9fff]")
TZ = clock.TZ


def build(b: Bf) -> None:
    seed_roster_and_users(b)
    draft = ready_case(b, "文法学院第1学生党支部")
    submitted = ready_case(b, "文法学院第2教工党支部")
    assert (draft, submitted) == (1, 2)
    b.ok("advance", "2", "submit", "--data", "attest=true", user="wenfa")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(tmp_path_factory.mktemp("seeded"), build)


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    return seeded.copy(tmp_path, monkeypatch)


def one_chinese_line(result: Result, code: int, phrase: str) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert phrase in lines[0] and CJK.search(lines[0]), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# --- the parser, directly -------------------------------------------------------------------------------------

ACCEPTED = [
    ("2024-05-06", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024-5-6", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024/5/6", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024/05/06", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024年5月6日", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024年5月6", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2024-05-06 9:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024-05-06 09:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024-05-06T09:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024/5/6 9:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024年5月6日 9:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024年5月6日09:00", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("2024-05-06T09:00:30", datetime(2024, 5, 6, 9, 0, 30, tzinfo=TZ)),
    ("2024-05-06T16:00:00+00:00", datetime(2024, 5, 7, tzinfo=TZ)),
    ("2024-05-06T16:00Z", datetime(2024, 5, 7, tzinfo=TZ)),
    ("２０２４－０５－０６　９：００", datetime(2024, 5, 6, 9, tzinfo=TZ)),
    ("  2024-05-06  ", datetime(2024, 5, 6, tzinfo=TZ)),
    ("2000-01-01", datetime(2000, 1, 1, tzinfo=TZ)),
    ("2100-12-31 23:59", datetime(2100, 12, 31, 23, 59, tzinfo=TZ)),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_every_way_people_write_a_date_reads_the_same(text: str, expected: datetime) -> None:
    assert clock.parse_moment(text, bare_day="start") == expected
    if expected.time() == datetime.min.time() and ":" not in text:
        assert clock.parse_day(text) == expected.date()
        assert clock.parse_moment(text) == clock.end_of_day(expected.date())


REFUSED = [
    # impossible dates and times
    ("2024-02-30", "日期不存在：'2024-02-30'（2024 年 2 月没有 30 日）"),
    ("2023-02-29", "日期不存在：'2023-02-29'（2023 年 2 月没有 29 日）"),
    ("2024/4/31", "日期不存在：'2024/4/31'（2024 年 4 月没有 31 日）"),
    ("2024年13月1日", "日期不存在：'2024年13月1日'（没有 13 月）"),
    ("2024-00-10", "日期不存在：'2024-00-10'（没有 0 月）"),
    ("2024-05-06 24:00", "时间不存在：'2024-05-06 24:00'"),
    ("2024-05-06 09:60", "时间不存在：'2024-05-06 09:60'"),
    # outside 2000–2100
    ("9999-12-31", "日期超出范围：'9999-12-31'，年份应在 2000 到 2100 之间"),
    ("0001-01-01T00:00+14:00", "日期超出范围：'0001-01-01T00:00+14:00'"),
    ("1999-12-31", "日期超出范围：'1999-12-31'"),
    ("2101-01-01", "日期超出范围：'2101-01-01'"),
    ("2100-12-31T23:00-05:00", "日期超出范围：'2100-12-31T23:00-05:00'"),  # 2101 in Beijing
    # not a date at all
    ("明天上午", "时间格式不对：'明天上午'"),
    ("5月20号", "时间格式不对：'5月20号'"),
    ("2024-5/6", "时间格式不对：'2024-5/6'"),
    ("20240506", "时间格式不对：'20240506'"),
    ("", "时间格式不对：''"),
    ("2024-05-06T09:00+15:00", "时区不存在"),
]


@pytest.mark.parametrize(("text", "phrase"), REFUSED, ids=[r[0] or "empty" for r in REFUSED])
def test_impossible_out_of_range_and_garbled_dates_are_one_usage_error(text: str, phrase: str) -> None:
    with pytest.raises(UsageError) as caught:
        clock.parse_moment(text, "--now")
    assert caught.value.message.startswith("--now 的" + phrase), caught.value.message
    assert caught.value.code == 2


def test_a_day_field_refuses_a_time_instead_of_dropping_it() -> None:
    with pytest.raises(UsageError) as caught:
        clock.parse_day("2024-05-20 17:00")
    assert caught.value.message == "日期只填年月日：'2024-05-20 17:00'，请写成 2024-09-30（指当天结束）。"


def test_no_instant_the_parser_returns_is_outside_the_range() -> None:
    # The edges, with every offset: whatever the zone, the moment in Beijing lies in 2000–2100.
    for hours in range(-14, 15):
        offset = f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
        for text in (f"2000-01-01T00:00{offset}", f"2100-12-31T23:59{offset}"):
            try:
                moment = clock.parse_moment(text)
            except UsageError as exc:
                assert "日期超出范围" in exc.message
                continue
            assert 2000 <= moment.year <= 2100
            assert moment.utcoffset() == timedelta(hours=8)
            assert moment == datetime.fromisoformat(text).astimezone(timezone(timedelta(hours=8)))


# --- through the CLI: --now, --until, --data until= ----------------------------------------------------------

BAD_DATES = ["9999-12-31", "0001-01-01T00:00+14:00", "2024-02-30", "1999-12-31", "2024年13月1日"]


@pytest.mark.parametrize("text", BAD_DATES)
def test_a_bad_now_is_refused_before_anything_happens(db: Bf, text: str) -> None:
    before = snapshot(db)
    one_chinese_line(db("advance", "1", "submit", "--data", "attest=true", user="wenfa", now=text), 2, "--now 的")
    one_chinese_line(db("status", now=text), 2, "--now 的")
    assert snapshot(db) == before


@pytest.mark.parametrize("text", BAD_DATES)
def test_a_bad_until_of_extend_is_refused_and_changes_nothing(db: Bf, text: str) -> None:
    before = snapshot(db)
    one_chinese_line(db("extend", "1", "--until", text, "--reason", "延期", user="zzb"), 2, "--until 的")
    one_chinese_line(db("extend", "--state", "draft", "--until", text, "--reason", "延期", user="zzb"), 2, "--until 的")
    assert snapshot(db) == before
    # and the calendar and the reminder sweep still work for everybody
    db.ok("calendar", "--ics", str(db.tmp / "due.ics"))
    db.ok("remind", "--dry-run", user="zzb")


@pytest.mark.parametrize("text", [*BAD_DATES, "2024-05-20 17:00"])
def test_a_bad_until_of_return_is_refused_and_changes_nothing(db: Bf, text: str) -> None:
    before = snapshot(db)
    line = one_chinese_line(db("advance", "2", "return", "--data", f"until={text}", user="zzb"), 2, "日期")
    assert text in line
    assert snapshot(db) == before


@pytest.mark.parametrize("text", ["2024/5/20", "2024年5月20日", "2024-5-20"])
def test_until_of_return_accepts_the_ways_people_write_a_day(db: Bf, text: str) -> None:
    db.ok("advance", "2", "return", "--data", f"until={text}", user="zzb")
    shown = db.json("case", "show", "2")
    assert shown["state"] == "draft"
    assert shown["due_at"].startswith("2024-05-20T23:59:59")


@pytest.mark.parametrize("text", ["2024年5月10日 18:00", "2024/5/10 18:00", "2024-05-10T18:00"])
def test_extend_and_now_accept_the_ways_people_write_a_time(db: Bf, text: str) -> None:
    db.ok("extend", "1", "--until", text, "--reason", "盖章流程延误", user="zzb", now="2024/5/7 9:00")
    assert db.json("case", "show", "1")["due_at"].startswith("2024-05-10T18:00")


# --- years ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", ["0", "1999", "2101", "-1", "99999999999999999999"])
def test_init_refuses_a_campaign_year_outside_2000_to_2100(tmp_path: Path, year: str) -> None:
    db = tmp_path / "fresh.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--now", "2024-04-25", "init", "--campaign", year], catch_exceptions=False)
    one_chinese_line(result, 2, "--campaign（年度）")
    assert not db.exists()


@pytest.mark.parametrize("year", ["0", "1999", "2101"])
def test_every_campaign_option_refuses_a_year_outside_the_range(db: Bf, year: str) -> None:
    before = snapshot(db)
    one_chinese_line(db("status", "--campaign", year), 2, "超出范围：应在 2000 到 2100 之间")
    one_chinese_line(
        db("extend", "--state", "draft", "--until", "2024-05-10", "--reason", "r", "--campaign", year, user="zzb"), 2, "2000 到 2100"
    )
    assert snapshot(db) == before


@pytest.mark.parametrize("year", [0, 1999, 2101, -5])
def test_the_library_refuses_a_year_outside_the_range_whoever_calls_it(db: Bf, year: int) -> None:
    from workflow import Store, campaigns

    before = snapshot(db)
    with pytest.raises(UsageError) as caught:
        campaigns.init(Store(db.url), spec.parse(spec.packaged_text()), year, clock.parse_now("2024-04-25"))
    assert caught.value.message == f"年度应在 2000 到 2100 年之间，实际是 {year}。"
    ws = db.ws()
    with ws.store.read() as s, pytest.raises(UsageError) as caught:
        ws.campaign(s, year)
    assert caught.value.message == f"年度应在 2000 到 2100 年之间，实际是 {year}。"
    assert snapshot(db) == before


def test_a_roster_cycle_outside_the_range_is_refused_with_its_row(db: Bf) -> None:
    path = db.tmp / "roster.csv"
    path.write_text(
        "分党委,支部名称,党员人数,联系人,邮箱,上年度参与,样板支部,培育周期\n文法学院分党委,文法学院新支部,12,王老师,,否,是,1023-9025\n",
        encoding="utf-8",
    )
    before = snapshot(db)
    result = db("roster", "import", str(path))
    assert result.exit_code == 2
    assert "第 2 行：培育周期的年份应在 2000 到 2100 之间，实际是“1023-9025”" in result.stderr
    assert snapshot(db) == before


# --- the spec: calendar dates and reminder offsets -----------------------------------------------------------

BAD = "状态配置文件有误"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (
            "draft: 2024-05-06               # notice §五",
            "draft: 9999-12-31",
            "（campaigns.2024.due.draft）：日期超出范围：9999-12-31；年份应在 2000 到 2100 之间",
        ),
        ("draft: 2024-05-06               # notice §五", "draft: 1999-05-06", "（campaigns.2024.due.draft）：日期超出范围：1999-05-06"),
        ("closing: 2028-05-31", "closing: 2101-05-31", "（campaigns.2027.due.closing）：日期超出范围：2101-05-31"),
        (
            "before: [7d, 3d, 1d]",
            "before: [99999999d, 3d, 1d]",
            "（reminders.before.0）：提醒时间 '99999999d' 太长；最多提前 400d、280wd、9600h",
        ),
        ("before: [7d, 3d, 1d]", "before: [7d, 401d, 1d]", "（reminders.before.1）：提醒时间 '401d' 太长"),
        ("before: [7d, 3wd, 1d]", "before: [7d, 281wd, 1d]", "（reminders.states.draft.before.1）：提醒时间 '281wd' 太长"),
        ("before: [14d, 7d, 1d]", "before: [9601h]", "（reminders.states.approved.before.0）：提醒时间 '9601h' 太长"),
    ],
)
def test_a_spec_date_outside_the_range_or_a_reminder_offset_over_400_days_is_refused(
    tmp_path: Path, old: str, new: str, phrase: str
) -> None:
    text = spec.packaged_text()
    assert text.count(old) == 1
    path = tmp_path / "states.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-states", str(path)], catch_exceptions=False)
    line = one_chinese_line(result, 2, phrase)
    assert line.startswith(f"{BAD}：{path} 第 ")


def test_the_longest_offsets_allowed_are_accepted() -> None:
    text = spec.packaged_text().replace("before: [7d, 3d, 1d]", "before: [400d, 280wd, 9600h]")
    assert [str(o) for o in spec.parse(text, "long.yaml").reminders.before] == ["400d", "280wd", "9600h"]


# --- YAML that attacks the parser ----------------------------------------------------------------------------


def alias_bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


ATTACKS = [
    ("alias bomb", alias_bomb(), 1, "不支持锚点和别名（& 与 *）"),
    ("one anchor", "roles: &r {org: 党委组织部}\n", 1, "不支持锚点和别名"),
    ("one alias", "roles: {org: 党委组织部}\nstates:\n  - x\n  - *nothing\n", 4, "不支持锚点和别名"),
    ("merge key", "base: &b {label: x}\nstates:\n  - <<: *b\n", 1, "不支持锚点和别名"),
    ("block nesting", "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "v\n", 0, "超过 256 KB"),
    ("block nesting, small", "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v\n", 12, "嵌套超过 12 层"),
    ("flow nesting", "a: " + "[" * 3000 + "]" * 3000 + "\n", 1, "嵌套超过 12 层"),
    ("python object", "roles: !!python/object:os.system {}\n", 1, "不支持的 YAML 标签 !!python/object:os.system"),
    ("python apply", "version: !!python/object/apply:os.system [echo]\n", 1, "不支持的 YAML 标签 !!python/object/apply:os.system"),
    ("python name", "roles:\n  org: !!python/name:os.system ''\n", 2, "不支持的 YAML 标签 !!python/name:os.system"),
    ("bad binary", 'version: !!binary "@@@ not base64"\n', 1, "不支持的 YAML 标签 !!binary"),
    ("good binary", "version: !!binary aGVsbG8=\n", 1, "不支持的 YAML 标签 !!binary"),
    ("set", "roles: !!set {a, b}\n", 1, "不支持的 YAML 标签 !!set"),
    ("local tag", "roles: !role {org: 党委组织部}\n", 1, "不支持的 YAML 标签 !role"),
    ("verbatim tag", "roles: !<tag:example.com,2024:x> {}\n", 1, "不支持的 YAML 标签 tag:example.com,2024:x"),
    ("huge file", "# " + "x" * (300 * 1024) + "\n", 0, "超过 256 KB"),
]


@pytest.mark.parametrize(("what", "text", "line", "phrase"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_yaml_that_attacks_the_parser_is_refused_with_its_line_at_once(
    tmp_path: Path, what: str, text: str, line: int, phrase: str
) -> None:
    path = tmp_path / "attack.yaml"
    path.write_text(text, encoding="utf-8")
    for argv in (["check-states", str(path)], ["--db", str(tmp_path / "a.db"), "init", "--states", str(path), "--campaign", "2024"]):
        started = time.perf_counter()
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        assert time.perf_counter() - started < 1.0
        message = one_chinese_line(result, 2, phrase)
        if line:
            assert f" 第 {line} 行" in message
    assert not (tmp_path / "a.db").exists()
    with pytest.raises(SpecError):
        spec.parse(text, "attack.yaml")


def test_standard_tags_and_plain_values_still_load() -> None:
    text = (
        spec.packaged_text()
        .replace("label: 2024年特色支部创建", "label: !!str 2024年特色支部创建")
        .replace("excellent_score: 90", "excellent_score: !!int 90")
    )
    loaded = spec.parse(text, "tags.yaml")
    assert loaded.rules.excellent_score == 90
    assert loaded.calendars[2024].label == "2024年特色支部创建"
    assert loaded.calendars[2024].due["draft"] == date(2024, 5, 6)
