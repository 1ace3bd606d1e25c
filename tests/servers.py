"""Real local servers for the reminder tests: an SMTP server (aiosmtpd) and a robot webhook (http.server)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from workflow import reminders
from workflow.dates import clock
from workflow.db.store import Store
from workflow.reminders import SweepReport, channels
from workflow.reminders import transports as notify
from workflow.workspace import Workspace

FROM = "dwzzb@example.edu.cn"
PASSWORD = "s3cret-Pa55w0rd"  # what the test SMTP server accepts for any login


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received, and how it should misbehave."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    refuse_data: int = 0  # answer 451 to this many DATA commands first
    refuse_rcpt: set[str] = field(default_factory=set)  # answer 550 to these addresses
    delay: float = 0.0  # seconds to hold each DATA (to make two senders overlap)
    logins: list[tuple[str, str]] = field(default_factory=list)
    quit: str = ""  # "421": answer QUIT with 421; "drop": cut the connection at QUIT (after accepting the message)
    echo_auth: bool = False  # a refused login quotes the password back (as some servers' logs do)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_data > 0:
            self.refuse_data -= 1
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        raw = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        if self.quit == "drop":
            server.transport.abort()
        return "421 4.3.2 Service shutting down" if self.quit == "421" else "221 Bye"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.password == PASSWORD.encode()
            if not ok and self.echo_auth:
                return AuthResult(
                    success=False,
                    handled=False,
                    message=f"535 5.7.8 bad password {auth_data.password.decode()} for {auth_data.login.decode()}",
                )
            return AuthResult(success=ok)
        return AuthResult(success=False)


@contextmanager
def smtp_server(auth: bool = False) -> Iterator[Mailbox]:
    """An aiosmtpd server on a free port of 127.0.0.1, stopped afterwards."""
    box = Mailbox(port=free_port())
    kwargs: dict[str, Any] = {"authenticator": box.authenticate, "auth_require_tls": False} if auth else {}
    controller = Controller(box, hostname="127.0.0.1", port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    """Environment variables for the email channel on a local server without TLS."""
    return {
        "BRANCHFLOW_CHANNELS": "email",
        "BRANCHFLOW_SMTP_HOST": "127.0.0.1",
        "BRANCHFLOW_SMTP_PORT": str(port),
        "BRANCHFLOW_SMTP_SECURITY": "none",
        "BRANCHFLOW_SMTP_FROM": FROM,
        **extra,
    }


@dataclass
class Hook:
    """What the webhook received, and what it answers next (a queue of (HTTP status, JSON body))."""

    port: int = 0
    secret: str = ""  # when set, DingTalk's signature is checked as DingTalk does
    posts: list[dict[str, Any]] = field(default_factory=list)
    replies: deque[tuple[int, dict[str, Any] | bytes]] = field(default_factory=deque)  # bytes: a body sent as is
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token=tok-123"

    def texts(self) -> list[str]:
        return [p["text"]["content"] for p in self.posts]


def signature_ok(secret: str, query: dict[str, list[str]]) -> bool:
    """DingTalk's check: sign = base64(HMAC-SHA256(secret, timestamp + "\\n" + secret)), timestamp within an hour."""
    try:
        stamp = query["timestamp"][0]
        sign = query["sign"][0]
    except KeyError:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, sign) and abs(time.time() * 1000 - int(stamp)) < 3600_000


@contextmanager
def webhook(secret: str = "") -> Iterator[Hook]:
    """A robot webhook on a free port of 127.0.0.1 (a real http.server in a thread)."""
    hook = Hook(secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hook.delay:
                time.sleep(hook.delay)
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            answer: dict[str, Any] | bytes
            if hook.secret and not signature_ok(hook.secret, query):
                status, answer = (
                    200,
                    {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"},
                )
            elif hook.replies:
                status, answer = hook.replies.popleft()
            else:
                status, answer = 200, {"errcode": 0, "errmsg": "ok"}
            if status == 200 and (isinstance(answer, bytes) or answer.get("errcode") == 0):
                hook.posts.append(json.loads(body.decode("utf-8")))
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as hook.port:
        yield hook


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 in a thread, answering with `handler`; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def console() -> dict[str, notify.Channel]:
    """Only the console channel, writing into a buffer."""
    return channels.build(channels.Settings(), notify.real_wall(), io.StringIO())


def from_env(env: dict[str, str]) -> dict[str, notify.Channel]:
    return channels.from_env(env, None, notify.real_wall(), io.StringIO())


_STORES: dict[str, Store] = {}


def sweep(bf: Any, when: str, chans: dict[str, notify.Channel] | None = None, **kw: Any) -> SweepReport:
    """One sweep at `when` (Asia/Shanghai), by default on the console channel.

    One Store per database, as in the scheduler: a new engine per sweep would recompile every statement.
    """
    store = _STORES.setdefault(bf.url, Store(bf.url))
    return reminders.sweep(Workspace(store, clock.parse_now(when)), chans if chans is not None else console(), **kw)


def draft_case(bf: Any, branch: str = "文法学院第1学生党支部", user: str = "wenfa") -> int:
    """A bare draft case: enough to be reminded (use conftest.ready_case when the case must be submitted)."""
    return int(bf.json("case", "new", "--branch", branch, "--title", f"{branch}特色创建", "--theme", "人才培养", user=user)["id"])


def queued(report: SweepReport) -> set[tuple[int, str, str]]:
    """(case, offset, recipient) of the rows a sweep queued."""
    return {(p.case_id, p.offset, p.recipient) for p in report.queued}


def at(text: str) -> Any:
    return clock.parse_now(text)
