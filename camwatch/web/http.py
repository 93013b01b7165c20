"""The little HTTP the web app needs beyond WSGI: an early answer, the origin of a request, a small form."""

from __future__ import annotations

import binascii
from typing import Any
from urllib.parse import parse_qs

MAX_FORM_BYTES = 4096


class Response(Exception):
    """Raised to answer at once (401, 403, 404, 501…); the app adds the security headers."""

    def __init__(self, status: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                 content_type: str = "text/plain; charset=utf-8") -> None:
        super().__init__(status)
        self.status, self.body, self.headers, self.content_type = status, body, headers or [], content_type


def same_origin(environ: dict[str, Any]) -> bool:
    """A browser says where a request comes from: refuse another site's (Sec-Fetch-Site, else Origin)."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site is not None:
        return site in ("same-origin", "none")
    origin = environ.get("HTTP_ORIGIN")
    return origin is None or origin.split("://", 1)[-1] == environ.get("HTTP_HOST")


def read_form(environ: dict[str, Any]) -> dict[str, str]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BYTES:
        raise Response("413 Content Too Large", b"too large\n")
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        return {k: v[0] for k, v in parse_qs(raw.decode("ascii")).items()}
    except (UnicodeDecodeError, binascii.Error):
        return {}
