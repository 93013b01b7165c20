"""Camera URLs: credentials encoded in, and masked out whenever a URL is shown."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# greedy up to the last @ of the authority: passwords may hold a raw @
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]*)@")


def with_credentials(url: str, user: str | None, password: str | None) -> str:
    """Put user and password into `url`, percent-encoded (passwords with # @ : break naive URLs)."""
    if not user:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = quote(user, safe="")
    if password is not None:
        netloc += ":" + quote(password, safe="")
    netloc += "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_url(url: str) -> str:
    """Replace any password in a URL (or in a text holding URLs) with ***."""

    def repl(m: re.Match[str]) -> str:
        userinfo = m.group("userinfo")
        user = userinfo.split(":", 1)[0]
        return f"{m.group('scheme')}{user}:***@"

    return _USERINFO.sub(repl, url)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Split user and password out of a URL given on the command line; returns (bare url, user, password)."""
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    authority, sep, path = rest.partition("/")
    if "@" not in authority:
        return url, None, None
    userinfo, host = authority.rsplit("@", 1)
    user, has_password, password = userinfo.partition(":")
    bare = f"{scheme}://{host}{sep}{path}" if scheme else f"{host}{sep}{path}"
    return bare, unquote(user), unquote(password) if has_password else None


def strip_credentials(url: str) -> str:
    """The URL without any user or password in it (devices sometimes hand out URIs with theirs)."""
    return split_credentials(url)[0]
