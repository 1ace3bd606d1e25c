"""Channels on real local servers: e-mail (aiosmtpd), WeCom and DingTalk robots (http.server), settings from file and env."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from conftest import Bf
from servers import FROM, PASSWORD, at, draft_case, from_env, smtp_env, smtp_server, sweep, webhook

from workflow.errors import UsageError
from workflow.reminders import channels
from workflow.reminders import transports as notify

WENFA = "wenfa@example.edu.cn"
BRANCH = "文法学院第1学生党支部"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: nothing here depends on the backend (test_reminders and test_outbox run both)."""
    return sqlite_url


def test_an_email_reminder_arrives_with_its_chinese_subject_and_body_intact(bf: Bf) -> None:
    cid = draft_case(bf)
    with smtp_server() as box:
        report = sweep(bf, "2024-05-03T09:00", from_env(smtp_env(box.port)))
    [mail] = box.to(WENFA)
    assert mail["Subject"] == f"【特色支部创建】截止提醒：{BRANCH}“草稿（申报材料准备）”2024年5月6日截止"
    assert mail["From"].addresses[0].addr_spec == FROM
    text = mail.get_content()
    assert f"申报 {cid} · {BRANCH}（文法学院分党委）" in text
    assert "截止：2024-05-06 23:59（2024年5月6日），还剩 3 天" in text
    assert "需要做的：完善创建方案，上传申报表电子版和盖章扫描件" in text
    [sent] = [r for r in report.results if r.recipient == WENFA]
    assert mail["Message-ID"] == f"<{sent.message_key}@example.edu.cn>"  # derived from the outbox keys it carries


def test_an_overdue_notice_says_how_many_days_late(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box:
        sweep(bf, "2024-05-09T09:00", from_env(smtp_env(box.port)))
    [mail] = box.to(WENFA)
    assert mail["Subject"].startswith("【特色支部创建】逾期通知：")
    assert "已逾期 3 天" in mail.get_content()  # due 05-06, sent 05-09: three calendar days late


def test_the_server_refusing_then_accepting_delivers_the_reminder_once(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box:
        box.refuse_data = 2  # 451: both first messages are refused
        chans = from_env(smtp_env(box.port))
        first = sweep(bf, "2024-05-03T09:00", chans)
        assert {r.status for r in first.results} == {"retry"} and "451" in first.results[0].error
        sweep(bf, "2024-05-03T09:10", chans)  # not due again yet
        assert box.messages == []
        sweep(bf, "2024-05-03T09:30", chans)
        sweep(bf, "2024-05-03T10:30", chans)
    assert len(box.to(WENFA)) == 1 and len(box.messages) == 2
    assert {(r["status"], r["attempts"]) for r in bf.json("outbox")} == {("sent", 2)}


def test_a_refused_address_is_failed_with_the_server_s_reason_and_the_others_still_go(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box:
        box.refuse_rcpt = {WENFA}
        sweep(bf, "2024-05-03T09:00", from_env(smtp_env(box.port)))
    [failed] = bf.json("outbox", "--status", "failed")
    assert failed["recipient"] == WENFA and "550" in failed["last_error"] and "no such user" in failed["last_error"]
    assert len(box.messages) == 1  # the branch contact got theirs


def test_starttls_against_a_server_without_it_is_failed_with_what_to_check(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box:
        sweep(bf, "2024-05-03T09:00", from_env(smtp_env(box.port, BRANCHFLOW_SMTP_SECURITY="starttls")))
    failed = bf.json("outbox", "--status", "failed")
    assert len(failed) == 2 and box.messages == []
    assert "不支持所需功能（请检查 BRANCHFLOW_SMTP_SECURITY 和端口）" in failed[0]["last_error"]


def test_the_smtp_password_comes_only_from_the_environment_and_is_never_shown_logged_or_stored(
    bf: Bf, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    draft_case(bf)
    with smtp_server(auth=True) as box:
        for key, value in smtp_env(box.port, BRANCHFLOW_SMTP_USER="dwzzb", BRANCHFLOW_SMTP_PASSWORD=PASSWORD).items():
            monkeypatch.setenv(key, value)
        with caplog.at_level(logging.DEBUG):
            result = bf("remind", now="2024-05-03T09:00")
            listing = bf("outbox")
    assert result.exit_code == 0 and box.logins == [("dwzzb", PASSWORD), ("dwzzb", PASSWORD)] and len(box.messages) == 2
    assert PASSWORD not in result.output + listing.output + caplog.text
    assert PASSWORD not in repr(channels.load(os.environ)) + "".join(channels.load(os.environ).describe())
    if bf.url.startswith("sqlite"):
        db = Path(bf.url.removeprefix("sqlite:///"))
        assert all(PASSWORD.encode() not in p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_a_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "branchflow.toml"
    config.write_text(
        'channels = ["email"]\n[smtp]\nhost = "smtp.example.edu.cn"\nfrom = "a@example.edu.cn"\npassword = "x"\n', encoding="utf-8"
    )
    with pytest.raises(UsageError, match="SMTP 密码不能写在文件里，请只用环境变量 BRANCHFLOW_SMTP_PASSWORD 提供"):
        channels.load({}, str(config))


def test_environment_variables_win_over_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "branchflow.toml"
    config.write_text(
        'channels = ["email"]\n[smtp]\nhost = "smtp.file.example"\nport = 25\nsecurity = "none"\nfrom = "file@example.edu.cn"\n'
        '[dingtalk]\nwebhook = "https://oapi.dingtalk.com/robot/send?access_token=secret-token"\nsecret = "SECfile"\n',
        encoding="utf-8",
    )
    env = {"BRANCHFLOW_CHANNELS": "email,dingtalk", "BRANCHFLOW_SMTP_HOST": "smtp.env.example", "BRANCHFLOW_SMTP_SECURITY": "ssl"}
    settings = channels.load(env, str(config))
    assert settings.channels == ("email", "dingtalk")
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security, settings.smtp.sender) == (
        "smtp.env.example",
        25,
        "ssl",
        "file@example.edu.cn",
    )
    assert settings.dingtalk_secret == "SECfile"
    assert "secret-token" not in "".join(settings.describe())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANCHFLOW_CHANNELS": "email,fax"}, "BRANCHFLOW_CHANNELS 中有未知的渠道 fax；可用：console, email, wecom, dingtalk。"),
        (
            {"BRANCHFLOW_CHANNELS": "email", "BRANCHFLOW_SMTP_FROM": "a@example.edu.cn"},
            "已启用 email 渠道，但没有设置 BRANCHFLOW_SMTP_HOST",
        ),
        ({"BRANCHFLOW_CHANNELS": "wecom"}, "已启用 wecom 渠道，但没有设置 BRANCHFLOW_WECOM_WEBHOOK"),
        (
            {
                "BRANCHFLOW_CHANNELS": "email",
                "BRANCHFLOW_SMTP_HOST": "h",
                "BRANCHFLOW_SMTP_FROM": "a@example.edu.cn",
                "BRANCHFLOW_SMTP_SECURITY": "tls",
            },
            "环境变量 BRANCHFLOW_SMTP_SECURITY 应是 none, starttls, ssl 之一，实际是 'tls'。",
        ),
        (
            {
                "BRANCHFLOW_CHANNELS": "email",
                "BRANCHFLOW_SMTP_HOST": "h",
                "BRANCHFLOW_SMTP_FROM": "a@example.edu.cn",
                "BRANCHFLOW_SMTP_USER": "u",
            },
            "设置了 SMTP 用户 u，但没有设置环境变量 BRANCHFLOW_SMTP_PASSWORD",
        ),
    ],
)
def test_a_channel_mistake_is_reported_before_anything_is_sent(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        channels.load(env)
    assert message in err.value.message


def test_remind_with_a_bad_channel_setting_exits_2(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_CHANNELS", "pigeon")
    result = bf("remind", now="2024-05-03T09:00")
    assert result.exit_code == 2 and "未知的渠道 pigeon" in result.output


def test_a_wecom_robot_receives_the_reminder_as_json(bf: Bf) -> None:
    draft_case(bf)
    with webhook() as hook:
        sweep(bf, "2024-05-03T09:00", from_env({"BRANCHFLOW_CHANNELS": "wecom", "BRANCHFLOW_WECOM_WEBHOOK": hook.url}))
    assert len(hook.posts) == 2 and {p["msgtype"] for p in hook.posts} == {"text"}
    [to_committee] = [t for t in hook.texts() if WENFA in t]
    assert to_committee.startswith("【特色支部创建】截止提醒") and "还剩 3 天" in to_committee


def test_a_dingtalk_robot_checks_the_signed_url(bf: Bf) -> None:
    draft_case(bf)
    with webhook(secret="SECgood") as hook:
        env = {"BRANCHFLOW_CHANNELS": "dingtalk", "BRANCHFLOW_DINGTALK_WEBHOOK": hook.url, "BRANCHFLOW_DINGTALK_SECRET": "SECgood"}
        report = sweep(bf, "2024-05-03T09:00", from_env(env))
    assert {r.status for r in report.results} == {"sent"} and len(hook.posts) == 2


def test_a_wrong_dingtalk_secret_is_a_permanent_failure_with_the_reason(bf: Bf) -> None:
    draft_case(bf)
    with webhook(secret="SECgood") as hook:
        env = {"BRANCHFLOW_CHANNELS": "dingtalk", "BRANCHFLOW_DINGTALK_WEBHOOK": hook.url, "BRANCHFLOW_DINGTALK_SECRET": "SECwrong"}
        report = sweep(bf, "2024-05-03T09:00", from_env(env))
    assert {r.status for r in report.results} == {"failed"} and hook.posts == []
    assert all("310000" in r["last_error"] and "sign not match" in r["last_error"] for r in bf.json("outbox", "--status", "failed"))


def a_message() -> notify.Message:
    return notify.Message("wecom", WENFA, "wenfa", "【特色支部创建】截止提醒", "正文", "k" * 40, (1,), at("2024-05-03T09:00"))


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        ((502, {"errmsg": "bad gateway"}), False),
        ((429, {"errmsg": "too many"}), False),
        ((200, {"errcode": 45009, "errmsg": "api freq out of limit"}), False),
        ((404, {"errmsg": "not found"}), True),
        ((200, {"errcode": 93000, "errmsg": "invalid webhook url"}), True),
    ],
)
def test_robot_failures_are_temporary_or_permanent(reply: tuple[int, dict[str, object]], permanent: bool) -> None:
    with webhook() as hook:
        hook.replies.append(reply)
        with pytest.raises(notify.DeliveryFailed) as err:
            notify.WecomChannel(hook.url, notify.Pacer(notify.real_wall())).send(a_message())
    assert err.value.permanent is permanent


def test_a_robot_that_does_not_answer_in_time_is_a_temporary_failure() -> None:
    with webhook() as hook:
        hook.delay = 0.5
        with pytest.raises(notify.DeliveryFailed) as err:
            notify.WecomChannel(hook.url, notify.Pacer(notify.real_wall()), timeout=0.1).send(a_message())
    assert not err.value.permanent and "超时" in err.value.reason


def test_every_configured_channel_gets_every_message(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box, webhook() as wecom, webhook(secret="SECd") as ding:
        env = smtp_env(
            box.port,
            BRANCHFLOW_CHANNELS="email,wecom,dingtalk",
            BRANCHFLOW_WECOM_WEBHOOK=wecom.url,
            BRANCHFLOW_DINGTALK_WEBHOOK=ding.url,
            BRANCHFLOW_DINGTALK_SECRET="SECd",
        )
        sweep(bf, "2024-05-03T09:00", from_env(env))
    assert (len(box.messages), len(wecom.posts), len(ding.posts)) == (2, 2, 2)


class FakeWall:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sends: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def wall(self) -> notify.Wall:
        return notify.Wall(lambda: self.now, lambda: self.now, self.sleep)


def test_a_robot_gets_fewer_than_20_messages_in_any_minute() -> None:
    clock = FakeWall()
    pacer = notify.Pacer(clock.wall())
    for _ in range(50):
        pacer.wait()
        clock.sends.append(clock.now)
    assert max(sum(1 for t in clock.sends if start <= t < start + 60) for start in clock.sends) < 20
    assert clock.sends[-1] - clock.sends[0] < 3 * 60  # and it does not wait longer than it must
