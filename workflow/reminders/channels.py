"""Which channels deliver reminders, and their settings: a config file, then environment variables.

The variables win over the file. The SMTP password is read only from BRANCHFLOW_SMTP_PASSWORD: it is
never accepted from the file, never shown (`describe` and repr() leave it out) and never stored.

Config file (TOML, given by `--config` or BRANCHFLOW_CONFIG)::

    channels = ["email", "dingtalk"]
    [smtp]
    host = "smtp.example.edu.cn"
    port = 587
    security = "starttls"      # none | starttls | ssl
    user = "dwzzb"
    from = "dwzzb@example.edu.cn"
    [wecom]
    webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    [dingtalk]
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=…"
    secret = "SEC…"
"""

from __future__ import annotations

import ipaddress
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from workflow.db import values
from workflow.errors import UsageError
from workflow.records.users import EMAIL_RX
from workflow.reminders.transports import (
    Channel,
    ConsoleChannel,
    DingtalkChannel,
    EmailChannel,
    Pacer,
    SmtpSettings,
    Wall,
    WecomChannel,
    redact,
    url_secrets,
)

CHANNELS = ("console", "email", "wecom", "dingtalk")
SECURITIES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
ENV = {
    "channels": "BRANCHFLOW_CHANNELS",
    "smtp.host": "BRANCHFLOW_SMTP_HOST",
    "smtp.port": "BRANCHFLOW_SMTP_PORT",
    "smtp.security": "BRANCHFLOW_SMTP_SECURITY",
    "smtp.user": "BRANCHFLOW_SMTP_USER",
    "smtp.from": "BRANCHFLOW_SMTP_FROM",
    "wecom.webhook": "BRANCHFLOW_WECOM_WEBHOOK",
    "dingtalk.webhook": "BRANCHFLOW_DINGTALK_WEBHOOK",
    "dingtalk.secret": "BRANCHFLOW_DINGTALK_SECRET",
    "base_url": "BRANCHFLOW_BASE_URL",
}
PASSWORD_ENV = "BRANCHFLOW_SMTP_PASSWORD"
HOST_RX = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?")
CONFIG_ENV = "BRANCHFLOW_CONFIG"
FILE_KEYS = {
    "channels": None,
    "timeout": None,
    "base_url": None,
    "smtp": ("host", "port", "security", "user", "from"),
    "wecom": ("webhook",),
    "dingtalk": ("webhook", "secret"),
}


@dataclass(frozen=True)
class Settings:
    """The validated channel settings (secrets are left out of repr())."""

    channels: tuple[str, ...] = ("console",)
    smtp: SmtpSettings | None = None
    wecom_webhook: str = field(default="", repr=False)
    dingtalk_webhook: str = field(default="", repr=False)
    dingtalk_secret: str = field(default="", repr=False)
    timeout: float = 10.0
    base_url: str = ""  # the web app's address: reminders link to each case's page under it

    def describe(self) -> list[str]:
        """One line per channel for people and logs, with no password, secret or token in it."""
        out = []
        for name in self.channels:
            if name == "email" and self.smtp:
                s = self.smtp
                login = f"，用户 {s.user}（密码来自 {PASSWORD_ENV}）" if s.user else ""
                out.append(f"email：{s.host}:{s.port}（{s.security}），发件人 {s.sender}{login}")
            elif name == "wecom":
                out.append(f"wecom：{_mask(self.wecom_webhook)}")
            elif name == "dingtalk":
                out.append(f"dingtalk：{_mask(self.dingtalk_webhook)}（{'加签' if self.dingtalk_secret else '未加签'}）")
            else:
                out.append("console：输出到标准错误")
        return out


def _mask(url: str) -> str:
    """A webhook without its key or token (which grant posting to the group)."""
    return url.split("?", 1)[0] + ("?…" if "?" in url else "")


def _read_file(path: str) -> dict[str, Any]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"找不到提醒渠道配置文件：{p}。", hint=f"请检查配置文件的路径或 {CONFIG_ENV}。", field="config") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"提醒渠道配置文件 {p} 不是合法的 TOML：{exc}。") from None
    for key, value in data.items():
        if key not in FILE_KEYS:
            raise UsageError(f"提醒渠道配置文件 {p}：未知的键 {key!r}；允许的键：{', '.join(FILE_KEYS)}。")
        allowed = FILE_KEYS[key]
        if allowed is None:
            continue
        if not isinstance(value, dict):
            raise UsageError(f"提醒渠道配置文件 {p}：[{key}] 应是一个表。")
        for sub in value:
            if key == "smtp" and sub == "password":
                raise UsageError(f"提醒渠道配置文件 {p}：SMTP 密码不能写在文件里，请只用环境变量 {PASSWORD_ENV} 提供。")
            if sub not in allowed:
                raise UsageError(f"提醒渠道配置文件 {p}：[{key}] 中未知的键 {sub!r}；允许的键：{', '.join(allowed)}。")
    return data


def _flatten(data: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = str(inner)
        elif isinstance(value, list):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def load(env: Mapping[str, str], path: str | None = None) -> Settings:
    """Settings from the file at `path` (or BRANCHFLOW_CONFIG), overridden by the variables in `env`."""
    path = path or env.get(CONFIG_ENV) or None
    raw = _flatten(_read_file(path)) if path else {}
    where = {key: f"配置文件 {path} 中的 {key}" for key in raw}
    for key, var in ENV.items():
        value = env.get(var, "").strip()
        if value:
            raw[key] = value
            where[key] = f"环境变量 {var}"

    def need(key: str, what: str) -> str:
        value = raw.get(key, "").strip()
        if not value:
            raise UsageError(f"已启用 {what}，但没有设置 {ENV[key]}（或配置文件中的 {key}）：请设置后再运行。")
        return value

    names = tuple(dict.fromkeys(n.strip().lower() for n in raw.get("channels", "console").split(",") if n.strip()))
    unknown = [n for n in names if n not in CHANNELS]
    if unknown or not names:
        raise UsageError(
            f"{where.get('channels', 'BRANCHFLOW_CHANNELS')} 中有未知的渠道 {'、'.join(unknown) or '（空）'}；可用：{', '.join(CHANNELS)}。"
        )
    timeout_text = raw.get("timeout", "10").strip()
    plain = values.plain_number(timeout_text)
    timeout = float(plain) if plain is not None else -1.0
    if not 0 < timeout <= 600:
        raise UsageError(f"{where.get('timeout', '配置中的 timeout')} 应是 0–600 的秒数，实际是 {timeout_text!r}。")
    for key in ("smtp.user", "smtp.from", "smtp.host", "dingtalk.secret", "channels"):
        problem = values.bad_character(raw.get(key, ""))
        if problem:
            raise UsageError(f"{where[key]} 含有不可见的控制字符（{problem}）：请改正后再运行。")
    smtp = None
    if "email" in names:
        security = raw.get("smtp.security", "starttls").strip().lower()
        if security not in SECURITIES:
            raise UsageError(f"{where['smtp.security']} 应是 {', '.join(SECURITIES)} 之一，实际是 {security!r}。")
        port_text = raw.get("smtp.port", str(DEFAULT_PORTS[security])).strip()
        if not values.is_digits(port_text) or len(port_text) > 5 or not 0 < int(port_text) < 65536:
            raise UsageError(f"{where['smtp.port']} 应是 1–65535 的端口号，实际是 {port_text!r}。")
        sender = need("smtp.from", "email 渠道")
        if not EMAIL_RX.match(sender):
            raise UsageError(f"{where['smtp.from']} 不是有效的邮箱地址：{sender!r}。")
        user = raw.get("smtp.user", "").strip()
        password = env.get(PASSWORD_ENV, "")
        if values.bad_character(password):
            raise UsageError(f"环境变量 {PASSWORD_ENV} 含有换行或其他控制字符（不显示其内容）：请改正后再运行。")
        _check_host(raw.get("smtp.host", "").strip(), where.get("smtp.host", ENV["smtp.host"]))
        if user and not password:
            raise UsageError(f"设置了 SMTP 用户 {user}，但没有设置环境变量 {PASSWORD_ENV}：密码只能从环境变量读取。")
        smtp = SmtpSettings(need("smtp.host", "email 渠道"), int(port_text), security, sender, user, password, max(timeout, 1.0))
    wecom = need("wecom.webhook", "wecom 渠道") if "wecom" in names else ""
    dingtalk = need("dingtalk.webhook", "dingtalk 渠道") if "dingtalk" in names else ""
    for key, url in (("wecom.webhook", wecom), ("dingtalk.webhook", dingtalk)):
        if url:
            _check_url(url, where[key])
    base_url = raw.get("base_url", "").strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"{where['base_url']} 应是 http(s) 地址，如 https://branchflow.example.edu.cn。", field="base_url", value=base_url)
    if base_url:
        _check_url(base_url, where["base_url"])
    return Settings(names, smtp, wecom, dingtalk, raw.get("dingtalk.secret", "").strip(), timeout, base_url)


def _check_host(host: str, where: str) -> None:
    """A host name or an IP address, nothing else (a blank, a path or a bad IPv6 literal is refused up front)."""
    if not host:
        return
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            raise UsageError(f"{where} 不是有效的主机名或 IP 地址：{host!r}。") from None
    elif not HOST_RX.fullmatch(bare):
        raise UsageError(f"{where} 不是有效的主机名或 IP 地址：{host!r}。")


def _check_url(url: str, where: str) -> None:
    """A webhook that can be posted to: http(s), a valid host and port, no blanks. The message never shows its key."""
    shown = _mask(url.split("#", 1)[0])
    if any(ch.isspace() for ch in url) or values.bad_character(url):
        raise UsageError(f"{where} 中有空白或控制字符（{redact(shown)}）：请检查是否多粘贴了内容。")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname or ""
    except ValueError as exc:
        raise UsageError(
            f"{where} 不是有效的网址（{redact(str(exc), url_secrets(url))}）：请检查主机名、IPv6 地址的方括号和端口。"
        ) from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"{where} 应是 http(s) 地址。")
    if not host or (port is not None and not 0 < port < 65536):
        raise UsageError(f"{where} 缺少主机名或端口无效：请检查。")
    _check_host(f"[{host}]" if ":" in host else host, where)


_PACERS: dict[str, Pacer] = {}


def _pacer(url: str, wall: Wall) -> Pacer:
    """One pacer per webhook for the whole process, so every sweep shares the robot's budget."""
    found = _PACERS.get(url)
    if found is None or found.wall != wall:  # real_wall() is a new but equal object at every sweep
        found = _PACERS[url] = Pacer(wall)
    return found


def build(settings: Settings, wall: Wall, console: TextIO | None = None) -> dict[str, Channel]:
    """The configured channels by name, ready to send."""
    out: dict[str, Channel] = {}
    for name in settings.channels:
        if name == "console":
            out[name] = ConsoleChannel(console or sys.stderr)
        elif name == "email":
            assert settings.smtp is not None
            out[name] = EmailChannel(settings.smtp)
        elif name == "wecom":
            out[name] = WecomChannel(settings.wecom_webhook, _pacer(settings.wecom_webhook, wall), settings.timeout)
        elif name == "dingtalk":
            out[name] = DingtalkChannel(
                settings.dingtalk_webhook, settings.dingtalk_secret, _pacer(settings.dingtalk_webhook, wall), wall, settings.timeout
            )
    return out


def from_env(env: Mapping[str, str], path: str | None, wall: Wall, console: TextIO | None = None) -> dict[str, Channel]:
    """`build(load(env, path))`: the channels a command or a job sends with."""
    return build(load(env, path), wall, console)
