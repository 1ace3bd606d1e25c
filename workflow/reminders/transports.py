"""Channels behind one small interface (`send(message)`), and the Chinese text of a reminder.

A channel either returns (delivered) or raises `DeliveryFailed`, saying whether trying again later
can help (`permanent=False`: SMTP 4xx, connection refused, HTTP 5xx or timeout, a robot's throttling
errcode) or not (`permanent=True`: SMTP 5xx, a refused address, HTTP 4xx, DingTalk "sign not match").
The outbox decides what happens next; channels know nothing about the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Protocol, TextIO

from workflow.dates import clock

SUBJECT_PREFIX = "【特色支部创建】"
KIND_LABELS = {"before": "截止提醒", "review": "评审提醒", "overdue": "逾期通知", "digest": "逾期汇总"}
# R13: what a reviewer is asked to do (a `review` row: a case assigned to them they have not scored yet).
# Without the web app's address, the reviewer is also told the command (REVIEW_COMMAND); with it, each case's link.
REVIEW_ACTION = "按七项要求逐项评分并填写评审意见"
REVIEW_COMMAND = "：branchflow review score 申报编号 --score 指标=分数 …"
# WeCom text messages are limited to 2048 bytes; DingTalk to about 20000.
WECOM_MAX_BYTES = 2000
DINGTALK_MAX_BYTES = 18000
# Robot webhooks accept about 20 messages a minute: stay under that.
ROBOT_PER_MINUTE = 18
# Robot errcodes that mean "too many messages, try later".
THROTTLED = {-1, 45009, 45033, 130101, 130102}


# Query parameters and words that carry a credential: a webhook's key or token, a signature, a password.
_SECRET_WORDS = r"key|access_token|token|sign|signature|secret|password|passwd|pwd|apikey|api_key|auth"
_SECRET_PARAM = re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_SECRET_WORDS})\s*[=:]\s*)[^&\s'\"#<>，。；]+")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without credentials: the secrets given (and their base64, as SMTP AUTH sends them), any
    `key=`/`access_token=`/`password=` value, and the password in a URL. Every error text passes here
    before it is printed, logged or stored."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        for form in (
            secret,
            base64.b64encode(secret.encode()).decode(),
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
        ):
            text = text.replace(form, "***")
    text = _URL_USERINFO.sub(r"\1***@", text)
    return _SECRET_PARAM.sub(r"\1***", text)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials inside a webhook URL: its query values and a password in it."""
    try:
        parts = urllib.parse.urlsplit(url)
        found = [v for _, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=False)]
        if parts.password:
            found.append(parts.password)
    except ValueError:
        found = [piece.partition("=")[2] for piece in url.partition("?")[2].split("&")]
    return tuple(v for v in found if v)


class DeliveryFailed(Exception):
    """A message was not delivered; `permanent` says whether retrying could help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Item:
    """One case in a message: a reminder before its due date, an overdue notice, or a digest line."""

    outbox_id: int
    kind: str  # before | review | overdue | digest
    case_id: int
    branch: str
    committee: str
    state_label: str
    owner_label: str
    due_at: datetime  # aware
    action: str


@dataclass(frozen=True)
class Message:
    """What one recipient gets by one channel: every item of one sweep, in one message."""

    channel: str
    recipient: str
    recipient_name: str
    subject: str
    text: str
    message_key: str  # derived from the outbox keys carried; stable across resends
    outbox_ids: tuple[int, ...]
    sent_at: datetime  # the sweep's clock
    attempt: int = 1
    base_url: str = ""  # the web app's address (where a robot's cut message points for the whole list)


class Channel(Protocol):
    """Delivers a message (returning None, or a warning when it was delivered with a doubt), or raises DeliveryFailed."""

    name: str

    def send(self, message: Message) -> str | None:
        """Deliver `message` or raise DeliveryFailed."""

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an error text: passwords, keys, tokens."""


@dataclass(frozen=True)
class Wall:
    """The real clock for transport only (DingTalk's signature, robot pacing), passed in like `now`.

    Only cli.py and jobs/ build the real one (`real_wall()`); tests may pass their own.
    """

    time: Callable[[], float]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]


def real_wall() -> Wall:
    """The machine's clocks (called by cli.py and jobs/ only)."""
    return Wall(time.time, time.monotonic, time.sleep)


# ---------------------------------------------------------------- text


def message_key(keys: Sequence[str]) -> str:
    """A stable id for the set of outbox keys a message carries (the same set gives the same id)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:40]


def days_left(due: datetime, now: datetime) -> int:
    """Calendar days from today to the due day, Asia/Shanghai (0 on the due day itself)."""
    return (due.astimezone(clock.TZ).date() - now.astimezone(clock.TZ).date()).days


def _when(item: Item, now: datetime) -> str:
    due = f"{clock.show(item.due_at)}（{clock.show_day(item.due_at)}）"
    if item.kind in ("before", "review"):
        left = days_left(item.due_at, now)
        if left <= 0:
            return f"{due}，今天 {item.due_at.astimezone(clock.TZ):%H:%M} 截止"
        return f"{due}，还剩 {left} 天"
    return f"{due}，已逾期 {max(1, clock.days_late(now, item.due_at))} 天"


def subject(items: Sequence[Item], now: datetime) -> str:
    """The subject line: the one case when there is one, else what kinds and how many."""
    if len(items) == 1:
        it = items[0]
        return f"{SUBJECT_PREFIX}{KIND_LABELS[it.kind]}：{it.branch}“{it.state_label}”{clock.show_day(it.due_at)}截止"
    counts = {kind: sum(1 for i in items if i.kind == kind) for kind in KIND_LABELS}
    parts = [f"{label} {counts[kind]} 项" for kind, label in KIND_LABELS.items() if counts[kind]]
    return f"{SUBJECT_PREFIX}{'，'.join(parts)}（{clock.show_day(now)}）"


def case_link(base_url: str, case_id: int) -> str:
    """The web page of a case under the configured base URL."""
    return f"{base_url.rstrip('/')}/cases/{case_id}"


def body(recipient_name: str, items: Sequence[Item], now: datetime, *, base_url: str = "", for_org: bool = True) -> str:
    """The Chinese text: a section per kind, one entry per case, with what to do.

    Where to see more: with a base URL (the web app), a link per case; without one, org's staff (who run
    the command line) are told the commands, and branch and committee contacts whom to ask.
    """
    lines = [f"{recipient_name}：您好！", ""]
    sections = [
        ("before", "以下申报即将到期，请在截止前完成："),
        ("review", "以下申报已分配给您评审，尚未评分，请在评审截止前提交："),
        ("overdue", "以下申报已超过截止时间，请尽快处理；如确需延期，请联系党委组织部："),
        ("digest", f"截至 {clock.show(now)}，以下申报已逾期（逾期最久的在前）："),
    ]
    for kind, heading in sections:
        chosen = [i for i in items if i.kind == kind]
        if not chosen:
            continue
        lines.append(heading)
        if kind == "digest":
            chosen.sort(key=lambda i: (i.due_at, i.case_id))
            for n, it in enumerate(chosen, 1):
                lines.append(
                    f"{n}. 申报 {it.case_id} · {it.branch}（{it.committee}） · {it.state_label} · 负责方：{it.owner_label}"
                    f" · 截止 {_when(it, now)}"
                    + (f" · {case_link(base_url, it.case_id)}" if base_url else "")
                )
        else:
            for n, it in enumerate(chosen, 1):
                lines.append(f"{n}. 申报 {it.case_id} · {it.branch}（{it.committee}）")
                lines.append(f"   阶段：{it.state_label}")
                lines.append(f"   截止：{_when(it, now)}")
                lines.append(f"   需要做的：{it.action}{REVIEW_COMMAND if it.kind == 'review' and not base_url else ''}")
                if base_url:
                    lines.append(f"   详情：{case_link(base_url, it.case_id)}")
        lines.append("")
    if not base_url:
        lines.append("查看详情：branchflow case show 申报编号；逾期清单：branchflow overdue。" if for_org else "如需查看申报详情，请联系党委组织部。")
    lines.append("—— 特色支部创建工作流（Branchflow）自动发送，请勿直接回复。")
    return "\n".join(lines)


def _robot_text(message: Message, limit: int) -> str:
    """Subject, addressee and body for a group robot, cut to the robot's size limit."""
    text = f"{message.subject}\n致：{message.recipient_name}（{message.recipient}）\n\n{message.text}"
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    where = f"见 {message.base_url.rstrip('/')}/cases?overdue=true " if message.base_url else "请运行 branchflow overdue "
    note = f"\n……（内容过长已截断；完整清单{where}或查看邮件）"
    cut = data[: limit - len(note.encode("utf-8"))].decode("utf-8", errors="ignore")
    return cut + note


# ---------------------------------------------------------------- channels


@dataclass
class ConsoleChannel:
    """Writes each message to a stream (stderr by default), so `--json` on stdout stays clean."""

    stream: TextIO
    name: str = "console"

    def send(self, message: Message) -> str | None:
        """Write the message with a separator."""
        self.stream.write(f"===== {message.subject}\n收件人：{message.recipient_name} <{message.recipient}>\n{message.text}\n=====\n")
        self.stream.flush()
        return None

    def secrets(self) -> tuple[str, ...]:
        """The console has none."""
        return ()


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail. The password is never shown by repr()."""

    host: str
    port: int
    security: str  # none | starttls | ssl
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 20.0


@dataclass
class EmailChannel:
    """E-mail over SMTP; the Message-ID comes from the outbox keys, so a resend is recognisable."""

    settings: SmtpSettings
    name: str = "email"

    def build(self, message: Message) -> EmailMessage:
        """The MIME message (UTF-8 subject and body)."""
        domain = self.settings.sender.rpartition("@")[2] or "branchflow.invalid"
        mail = EmailMessage()
        mail["From"] = formataddr(("特色支部创建工作流", self.settings.sender))
        mail["To"] = formataddr((message.recipient_name, message.recipient))
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.sent_at.astimezone(clock.TZ))
        mail["Message-ID"] = f"<{message.message_key}@{domain}>"
        mail["X-Branchflow-Outbox"] = ",".join(str(i) for i in message.outbox_ids)
        mail["X-Branchflow-Attempt"] = str(message.attempt)
        mail.set_content(message.text, charset="utf-8")
        return mail

    def secrets(self) -> tuple[str, ...]:
        """The SMTP password, alone and as AUTH PLAIN sends it."""
        s = self.settings
        return (s.password, f"\0{s.user}\0{s.password}") if s.password else ()

    def send(self, message: Message) -> str | None:
        """Send one message; classify failures as temporary (4xx, network) or permanent (5xx).

        Once the server has answered 250 to the message's DATA it has the message: whatever QUIT then
        says (421, or the connection dropping), the message counts as delivered, with a warning.
        """
        try:
            return self._send(message)
        except DeliveryFailed as exc:
            raise DeliveryFailed(redact(exc.reason, self.secrets()), permanent=exc.permanent) from None

    def _send(self, message: Message) -> str | None:
        s = self.settings
        server: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                server = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if s.user:
                server.login(s.user, s.password)
            server.send_message(self.build(message))  # returns on 250 to DATA: from here on the message is the server's
            try:
                code, reply = server.docmd("QUIT")
            except (OSError, smtplib.SMTPException) as exc:
                return f"服务器已接收邮件，但结束会话（QUIT）时出错，按已发送处理：{type(exc).__name__}: {exc}"
            if code != 221:
                return f"服务器已接收邮件，但结束会话（QUIT）时答复 {code} {_text(reply)}，按已发送处理"
            return None
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryFailed(f"SMTP 拒收地址 {message.recipient}：{code} {_text(reply)}", permanent=code >= 500) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryFailed(f"SMTP 连接中断：{exc}", permanent=False) from None
        except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS or AUTH there: a setting to fix, not to retry
            raise DeliveryFailed(
                f"SMTP 服务器 {s.host}:{s.port} 不支持所需功能（请检查 BRANCHFLOW_SMTP_SECURITY 和端口）：{exc}", permanent=True
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(f"SMTP 服务器 {s.host} 的证书无法验证：{exc.verify_message}", permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"无法连接 SMTP 服务器 {s.host}:{s.port}：{type(exc).__name__}: {exc}", permanent=False) from None
        finally:
            if server is not None:
                server.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)


class Pacer:
    """At most `per_minute` messages in any 60 s to one webhook (robots refuse more)."""

    def __init__(self, wall: Wall, per_minute: int = ROBOT_PER_MINUTE) -> None:
        self.wall = wall
        self.per_minute = per_minute
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        """Block until one more message fits in the window, then count it."""
        with self.lock:
            while True:
                now = self.wall.monotonic()
                while self.sent and now - self.sent[0] >= 60:
                    self.sent.popleft()
                if len(self.sent) < self.per_minute:
                    self.sent.append(now)
                    return
                self.wall.sleep(60 - (now - self.sent[0]))


def post_json(url: str, payload: dict[str, object], timeout: float) -> tuple[dict[str, object], str | None]:
    """POST JSON; HTTP 4xx is permanent, 5xx / timeout / connection errors are temporary.

    Returns the robot's answer and a warning: HTTP 200 with a body that is not JSON means the robot got
    the message (it is not sent again), but says so.
    """
    secrets = url_secrets(url)
    try:
        parts = urllib.parse.urlsplit(url)
        host = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}"
        request = urllib.request.Request(
            url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers={"Content-Type": "application/json; charset=utf-8"}
        )
    except ValueError as exc:
        raise DeliveryFailed(f"机器人地址无效：{redact(str(exc), secrets)}", permanent=True) from None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except ValueError as exc:
        raise DeliveryFailed(f"机器人地址无效（{host}）：{redact(str(exc), secrets)}", permanent=True) from None
    except urllib.error.HTTPError as exc:
        temporary = exc.code >= 500 or exc.code == 429
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}（{host}）", permanent=not temporary) from None
    except TimeoutError:
        raise DeliveryFailed(f"HTTP 超时（{host}，{timeout:g} 秒）", permanent=False) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"HTTP 连接失败（{host}）：{redact(str(getattr(exc, 'reason', exc)), secrets)}", permanent=False) from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}, f"机器人答复 HTTP 200 但内容不是 JSON（{host}）：消息已送达，按已发送处理，不再重发"
    return (answer if isinstance(answer, dict) else {}), None


def _check_robot(reply: tuple[dict[str, object], str | None], robot: str, secrets: tuple[str, ...]) -> str | None:
    answer, warning = reply
    code = answer.get("errcode", 0)
    if code in (0, None):
        return warning
    message = redact(str(answer.get("errmsg", ""))[:500], secrets)
    raise DeliveryFailed(f"{robot}机器人返回错误 {redact(str(code), secrets)[:40]}：{message}", permanent=code not in THROTTLED)


@dataclass
class WecomChannel:
    """A WeCom (企业微信) group robot."""

    webhook: str
    pacer: Pacer
    timeout: float = 10.0
    name: str = "wecom"

    def secrets(self) -> tuple[str, ...]:
        """The key in the webhook (it grants posting to the group)."""
        return url_secrets(self.webhook)

    def send(self, message: Message) -> str | None:
        """Post a text message to the group."""
        self.pacer.wait()
        payload: dict[str, object] = {"msgtype": "text", "text": {"content": _robot_text(message, WECOM_MAX_BYTES)}}
        return _check_robot(post_json(self.webhook, payload, self.timeout), "企业微信", self.secrets())


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class DingtalkChannel:
    """A DingTalk (钉钉) group robot, with the signed URL when a secret is set."""

    webhook: str
    secret: str
    pacer: Pacer
    wall: Wall
    timeout: float = 10.0
    name: str = "dingtalk"

    def url(self) -> str:
        """The webhook, signed with the real time (DingTalk refuses a timestamp over an hour off)."""
        if not self.secret:
            return self.webhook
        stamp = int(self.wall.time() * 1000)
        sign = urllib.parse.quote_plus(dingtalk_sign(self.secret, stamp))
        return f"{self.webhook}{'&' if '?' in self.webhook else '?'}timestamp={stamp}&sign={sign}"

    def secrets(self) -> tuple[str, ...]:
        """The access token in the webhook and the signing secret."""
        return (*url_secrets(self.webhook), *((self.secret,) if self.secret else ()))

    def send(self, message: Message) -> str | None:
        """Post a text message to the group."""
        self.pacer.wait()
        payload: dict[str, object] = {"msgtype": "text", "text": {"content": _robot_text(message, DINGTALK_MAX_BYTES)}}
        url = self.url()
        return _check_robot(post_json(url, payload, self.timeout), "钉钉", (*self.secrets(), *url_secrets(url)))
