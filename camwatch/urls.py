"""Camera URLs: checked before use, credentials encoded in, and masked out whenever a URL is shown."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# greedy up to the last @ of the authority: passwords may hold a raw @. Anchored on "://" alone (not on a
# scheme before it, which made the search quadratic: 21 s for a 100k-character URL), it stays linear.
_USERINFO = re.compile(r"://(?P<userinfo>[^/\s]*)@")
MAX_URL_LENGTH = 2048  # FFmpeg truncates URLs past 4096; a camera's address is well under 200 characters
ENCODE_HINT = "holds a password with characters that must be percent-encoded (# as %23, / as %2F, ? as %3F, @ as %40)"


def check_url(url: str, schemes: tuple[str, ...], credentials: str = ENCODE_HINT, scheme_shown: str = "") -> str:
    """`url` with its scheme in lower case, or ValueError saying what is wrong with it.

    The message never quotes the URL or any part of it: a part may be a password that ended the address early
    (`rtsp://admin:pa#ss@host/` is host `admin`, port `pa`). `credentials`: what to say of a user and password in it."""
    shown = f"{scheme_shown or schemes[0]}://host[:port]/path"
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"is {len(url)} characters long: a camera address has at most {MAX_URL_LENGTH}")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(f"must be {shown}, without spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ of an IPv6 address
        raise ValueError(f"must be {shown}") from None
    try:
        port = parts.port  # None when absent; ValueError when not a number or over 65535
        bad_port = port == 0 or (port is None and parts.netloc.endswith(":"))
    except ValueError:
        bad_port = True
    if parts.scheme.lower() not in schemes or not url[len(parts.scheme):].startswith("://"):
        raise ValueError(f"must be {shown}")
    after = url[len(parts.scheme) + 3 + len(parts.netloc):]
    if "@" in parts.netloc or ("@" in after and (bad_port or "@" in parts.fragment)):
        # what precedes the last @ is a user and password: a #, ? or / in them ends the address early
        raise ValueError(credentials)
    if not parts.hostname:
        raise ValueError(f"has no host: it must be {shown}")
    if bad_port:
        raise ValueError("has a bad port: it must be a number from 1 to 65535")
    return parts.scheme.lower() + url[len(parts.scheme):]


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
        return f"://{user}:***@"

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
