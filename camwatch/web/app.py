"""The web interface as a WSGI app: the district overview, the camera wall, one page per camera, the JSON the
pages poll, the pictures and the acknowledge action's hook.

Served by the daemon on the metrics listener (same TLS and basic auth; `dispatch.site` sends `/metrics` to
prometheus-client). Security:
- with `[metrics].basic_auth` every request must carry it (checked here too, whoever serves the app); without
  it, pictures are shown only on a loopback listener, and actions never;
- pictures are found from a configured camera's id and a fixed kind (`snapshots/CAMERA/latest.jpg`), or from an
  incident's stored paths that must lie inside the snapshot folder: never a path from the request;
- the acknowledge POST needs a user and an anti-forgery token bound to that user (basic auth is sent by the
  browser on its own, so a form on another site could otherwise post it) and a same-origin request;
- headers: a Content-Security-Policy without inline scripts or styles, nosniff, frame-ancestors 'none', no referrer.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Engine

from camwatch.config import Config
from camwatch.store import web_queries
from camwatch.web import camera_page, pages, pictures
from camwatch.web.availability import Availability
from camwatch.web.data import SEVERITY, fleet
from camwatch.web.data import camera_page as camera_data
from camwatch.web.http import Response, read_form, same_origin
from camwatch.web.text import LANGS, Words

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# issue 18 (acknowledgement) plugs in here: (incident id, user, now) → whether the incident is now acknowledged
AcknowledgeHook = Callable[[int, str, dt.datetime], bool]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "no-referrer"), ("Cross-Origin-Opener-Policy", "same-origin"),
                    ("Cross-Origin-Resource-Policy", "same-origin")]
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}
LANG_COOKIE = "camwatch_lang"

ROUTES = [(re.compile(p), name) for p, name in (
    (r"^/$", "overview"), (r"^/wall$", "wall"), (r"^/camera/(?P<cam>[A-Za-z0-9_.-]{1,64})$", "camera"),
    (r"^/api/state$", "api"), (r"^/static/(?P<asset>app\.js|app\.css|icon\.svg)$", "static"),
    (r"^/favicon\.ico$", "favicon"),
    (r"^/picture/(?P<cam>[A-Za-z0-9_.-]{1,64})/(?P<kind>latest|last-good|first-bad)\.jpg$", "picture"),
    (r"^/incident/(?P<n>[0-9]{1,12})/(?P<kind>last-good|first-bad)\.jpg$", "incident_picture"),
    (r"^/camera/(?P<cam>[A-Za-z0-9_.-]{1,64})/incident/(?P<n>[0-9]{1,12})/acknowledge$", "acknowledge"),
)]


class WebApp:
    def __init__(self, config: Callable[[], Config], engine: Engine, *, auth: tuple[str, str] | None,
                 pictures_without_auth: bool, clock: Callable[[], dt.datetime],
                 acknowledge: AcknowledgeHook | None, availability: Availability) -> None:
        self.config = config
        self.engine = engine
        self.auth = auth
        self.pictures_without_auth = pictures_without_auth
        self.clock = clock
        self.acknowledge_hook = acknowledge
        self.availability = availability
        self._secret = secrets.token_bytes(32)  # anti-forgery tokens are valid for this process's life
        self._assets = {name: (STATIC / name).read_bytes() for name in ASSETS}

    # ------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            status, headers, body = self._handle(environ)
        except Response as r:
            status, headers, body = r.status, [("Content-Type", r.content_type), *r.headers], r.body
        except Exception:
            log.exception("web: %s %s failed", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, headers, body = "500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8")], \
                b"internal error\n"
        if not any(k == "Cache-Control" for k, _ in headers):
            headers.append(("Cache-Control", "no-store"))
        start_response(status, [*headers, *SECURITY_HEADERS, ("Content-Length", str(len(body)))])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def _handle(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        user = self._user(environ)
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        for pattern, name in ROUTES:
            m = pattern.match(path)
            if m is None:
                continue
            if (name == "acknowledge") != (method == "POST") or method not in ("GET", "HEAD", "POST"):
                raise Response("405 Method Not Allowed", b"method not allowed\n",
                               [("Allow", "POST" if name == "acknowledge" else "GET, HEAD")])
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            return getattr(self, f"_{name}")(environ, user, query, **m.groupdict())
        raise Response("404 Not Found", b"not found\n")

    def _user(self, environ: dict[str, Any]) -> str | None:
        """The authenticated user; None when no authentication is configured. Refuses wrong credentials."""
        if self.auth is None:
            return None
        header = environ.get("HTTP_AUTHORIZATION", "")
        expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        if hmac.compare_digest(header.encode(), expected.encode()):
            return self.auth[0]
        raise Response("401 Unauthorized", b"authentication required\n", [("WWW-Authenticate", 'Basic realm="camwatch"')])

    def _pictures(self, user: str | None) -> bool:
        return user is not None or (self.auth is None and self.pictures_without_auth)

    def _words(self, environ: dict[str, Any], query: dict[str, str]) -> tuple[Words, list[tuple[str, str]]]:
        config = self.config()
        cookie = re.search(rf"(?:^|;\s*){LANG_COOKIE}=(vi|en)\b", environ.get("HTTP_COOKIE", ""))
        lang = query.get("lang") if query.get("lang") in LANGS else (cookie.group(1) if cookie else config.district.language)
        headers = []
        if "lang" in query and query["lang"] in LANGS:
            headers.append(("Set-Cookie", f"{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly"))
        return Words(lang, config.district.tz), headers

    def _html(self, environ: dict[str, Any], query: dict[str, str], w: Words, headers: list[tuple[str, str]],
              title: str, body: str, active: str, api: str, status: str = "200 OK") -> tuple[str, list[tuple[str, str]], bytes]:
        other = {**query, "lang": "en" if w.lang == "vi" else "vi"}
        switch = (environ.get("PATH_INFO") or "/") + "?" + urlencode(other)
        page = pages.layout(w, title, body, active=active, api=api, refresh_s=self.config().file.web.refresh_s,
                            switch=switch, now=self.clock())
        return status, [("Content-Type", "text/html; charset=utf-8"), *headers], page.encode()

    # ------------------------------------------------------------ pages
    def _overview(self, environ: dict[str, Any], user: str | None, query: dict[str, str]) -> Any:
        w, headers = self._words(environ, query)
        f = fleet(self.config(), self.engine, self.availability, self.clock())
        title = self.config().district.name
        return self._html(environ, query, w, headers, title, pages.overview(w, f, title), "overview", "/api/state")

    def _wall(self, environ: dict[str, Any], user: str | None, query: dict[str, str]) -> Any:
        w, headers = self._words(environ, query)
        config = self.config()
        f = fleet(config, self.engine, self.availability, self.clock())
        communes = [(c.id, c.name) for c in f.communes]
        commune = query.get("commune") if query.get("commune") in {c for c, _ in communes} else None
        status = query.get("status") if query.get("status") in SEVERITY else None
        body = pages.wall(w, f, sorted(communes, key=lambda c: _sort(c[1])), commune, status, self._pictures(user))
        return self._html(environ, query, w, headers, w["wall"], body, "wall", "/api/state")

    def _camera(self, environ: dict[str, Any], user: str | None, query: dict[str, str], cam: str) -> Any:
        w, headers = self._words(environ, query)
        config = self.config()
        if cam not in config.cameras:
            body = pages.message(w, w["not_found"], w["unknown_camera"])
            return self._html(environ, query, w, headers, w["not_found"], body, "", "", "404 Not Found")
        now = self.clock()
        f = fleet(config, self.engine, self.availability, now)
        t = next(t for t in f.tiles if t.id == cam)
        p = camera_data(config, self.engine, self.availability, config.cameras[cam], now)
        csrf = self._csrf(user) if user is not None and self.acknowledge_hook is not None else None
        body = camera_page.render(w, p, t, now, self._pictures(user), csrf)
        return self._html(environ, query, w, headers, f"{cam} {config.cameras[cam].cfg.name}", body, "",
                          "/api/state?" + urlencode({"camera": cam}))

    def _api(self, environ: dict[str, Any], user: str | None, query: dict[str, str]) -> Any:
        w, headers = self._words(environ, query)
        f = fleet(self.config(), self.engine, self.availability, self.clock())
        body = pages.state_json(w, f, self._pictures(user), query.get("camera"))
        return "200 OK", [("Content-Type", "application/json; charset=utf-8"), *headers], body

    def _static(self, environ: dict[str, Any], user: str | None, query: dict[str, str], asset: str) -> Any:
        return "200 OK", [("Content-Type", ASSETS[asset]), ("Cache-Control", "max-age=3600")], self._assets[asset]

    def _favicon(self, environ: dict[str, Any], user: str | None, query: dict[str, str]) -> Any:
        return "301 Moved Permanently", [("Location", "/static/icon.svg"), ("Content-Type", "text/plain")], b""

    # ------------------------------------------------------------ pictures
    def _picture(self, environ: dict[str, Any], user: str | None, query: dict[str, str], cam: str, kind: str) -> Any:
        if not self._pictures(user):
            raise Response("404 Not Found", b"not found\n")
        return pictures.camera_picture(environ, self.config(), cam, kind)

    def _incident_picture(self, environ: dict[str, Any], user: str | None, query: dict[str, str], n: str,
                          kind: str) -> Any:
        if not self._pictures(user):
            raise Response("404 Not Found", b"not found\n")
        return pictures.incident_picture(environ, self.config(), self.engine, int(n), kind)

    # ------------------------------------------------------------ the acknowledge action
    def _csrf(self, user: str) -> str:
        return hmac.new(self._secret, f"acknowledge:{user}".encode(), hashlib.sha256).hexdigest()

    def _acknowledge(self, environ: dict[str, Any], user: str | None, query: dict[str, str], cam: str, n: str) -> Any:
        w, _ = self._words(environ, query)
        if self.acknowledge_hook is None:
            raise Response("501 Not Implemented", (w["ack_unavailable"] + "\n").encode())
        if user is None or not same_origin(environ):
            raise Response("403 Forbidden", (w["forbidden"] + "\n").encode())
        form = read_form(environ)
        if not hmac.compare_digest(form.get("csrf", "").encode(), self._csrf(user).encode()):
            raise Response("403 Forbidden", (w["forbidden"] + "\n").encode())
        with self.engine.connect() as conn:
            row = web_queries.incident_pictures(conn, int(n))
        if row is None or row.camera_id != cam or cam not in self.config().cameras:
            raise Response("404 Not Found", b"not found\n")
        done = self.acknowledge_hook(int(n), user, self.clock())
        log.info("camera=%s incident %s acknowledged by %s: %s", cam, n, user, done)
        return "303 See Other", [("Location", f"/camera/{cam}"), ("Content-Type", "text/plain; charset=utf-8")], b""


def _sort(name: str) -> str:
    from camwatch.words import sort_key

    return sort_key(name)


def make_app(config: Config | Callable[[], Config], engine: Engine, *, auth: tuple[str, str] | None = None,
             pictures_without_auth: bool = True, clock: Callable[[], dt.datetime] | None = None,
             acknowledge: AcknowledgeHook | None = None, background: bool = False) -> WebApp:
    """The web interface. `config` may be a callable (the daemon's current config, which a reload replaces);
    `background` refreshes the availability figures in a thread every `[web] availability_refresh_s`."""
    current = config if callable(config) else (lambda: config)
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    availability = Availability(current, engine, now)
    if background:
        availability.start(current().file.web.availability_refresh_s)
    return WebApp(current, engine, auth=auth, pictures_without_auth=pictures_without_auth, clock=now,
                  acknowledge=acknowledge, availability=availability)
