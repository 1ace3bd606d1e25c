"""统一身份认证 (single sign-on) through the university's CAS server: where to send the browser, and checking the
ticket it comes back with (CAS 2.0 `serviceValidate` or CAS 3.0 `p3/serviceValidate`, through python-cas).

Configured from the environment, like the mail channels: BRANCHFLOW_CAS_URL (the CAS server's base, e.g.
https://cas.example.edu.cn/cas/), BRANCHFLOW_CAS_VERSION (2 or 3, default 3) and BRANCHFLOW_CAS_ATTRIBUTE (the
attribute naming the person, e.g. a 工号 attribute; default: the CAS user name). The account found here is mapped
to a user by `auth.sso_login`, which never creates one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workflow.errors import BranchflowError, UsageError

URL_ENV = "BRANCHFLOW_CAS_URL"
VERSION_ENV = "BRANCHFLOW_CAS_VERSION"
ATTRIBUTE_ENV = "BRANCHFLOW_CAS_ATTRIBUTE"
TIMEOUT = 10.0  # seconds for the ticket check: a CAS server that does not answer must not hold a web worker


class SsoFailed(BranchflowError):
    """The ticket could not be checked, or the CAS server did not vouch for it (exit 1, HTTP 401)."""

    code = 1


@dataclass(frozen=True)
class CasSettings:
    """Where the CAS server is, which protocol version it speaks, and which attribute names the person ('' = the user)."""

    server_url: str
    version: int = 3
    attribute: str = ""


def settings(environ: Mapping[str, str]) -> CasSettings | None:
    """The CAS settings from the environment (None: single sign-on is off), checked up front with what to fix."""
    url = environ.get(URL_ENV, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"环境变量 {URL_ENV} 应是统一身份认证服务的地址（如 https://cas.example.edu.cn/cas/），现在是 {url!r}。")
    version_text = environ.get(VERSION_ENV, "3").strip() or "3"
    if version_text not in ("2", "3"):
        raise UsageError(f"环境变量 {VERSION_ENV} 应是 2 或 3（CAS 协议版本），现在是 {version_text!r}。")
    try:
        import cas  # noqa: F401  (python-cas, the optional extra [cas])
    except ImportError:
        raise UsageError(
            f"已设置 {URL_ENV}，但没有安装统一身份认证所需的 python-cas。", hint="请安装 branchflow[cas]（pip install 'branchflow[cas]'）。"
        ) from None
    return CasSettings(url.rstrip("/") + "/", int(version_text), environ.get(ATTRIBUTE_ENV, "").strip())


def _client(config: CasSettings, service: str) -> Any:
    import requests
    from cas import CASClient

    class _Session(requests.Session):
        """Every request with a timeout (python-cas sets none)."""

        def request(self, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", TIMEOUT)
            return super().request(*args, **kwargs)

    return CASClient(version=config.version, service_url=service, server_url=config.server_url, session=_Session())


def login_url(config: CasSettings, service: str) -> str:
    """Where to send the browser to log in; the CAS server sends it back to `service` with a ticket."""
    return str(_client(config, service).get_login_url())


def validate(config: CasSettings, ticket: str, service: str) -> str:
    """The account the CAS server vouches for with this ticket (its user, or the configured attribute), or SsoFailed."""
    from xml.etree.ElementTree import ParseError

    import requests

    if not ticket.strip():
        raise SsoFailed("统一身份认证没有返回票据。", hint="请重新登录。")
    try:
        user, attributes, _ = _client(config, service).verify_ticket(ticket.strip())
    except (requests.RequestException, ParseError, IndexError) as exc:
        raise SsoFailed(
            f"统一身份认证服务暂时无法验证登录（{type(exc).__name__}）。", hint="请稍后再试，或用用户名和密码登录。"
        ) from None
    if not user:
        raise SsoFailed("统一身份认证未通过：票据无效或已过期。", hint="请重新登录。")
    if not config.attribute:
        return str(user).strip()
    value = (attributes or {}).get(config.attribute)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or not str(value).strip():
        raise SsoFailed(
            f"统一身份认证没有返回账号 {user} 的属性 {config.attribute}，无法确定对应的用户。",
            hint="请联系党委组织部（统一身份认证的属性设置须包含该属性）。",
        )
    return str(value).strip()
