"""One listener, two apps: `/metrics` to prometheus-client's, everything else to the web interface."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def site(metrics: WSGIApp, web: WSGIApp) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        return (metrics if path == "/metrics" else web)(environ, start_response)

    return app
