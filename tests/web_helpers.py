"""What the web pages' tests share: the sample week written once, a copy per test that changes it, the pages
served by the real listener (`metrics.serve` with the dispatcher), plain HTTP requests, and Debian's Chromium
driven by Playwright."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app

from camwatch import config as cfgmod
from camwatch.metrics import Metrics, serve
from camwatch.sim.fleet import free_port
from camwatch.store import repo
from camwatch.web import sample
from camwatch.web.app import AcknowledgeHook, WebApp, make_app
from camwatch.web.dispatch import site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SECRET = "p@ss:w#rd-SECRET"  # the cameras' password in the sample config


@dataclass
class Clock:
    now: dt.datetime = sample.NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Served:
    url: str
    app: WebApp
    config: cfgmod.Config
    clock: Clock
    state: Path
    acked: list[tuple[int, str]] = field(default_factory=list)


def write_sample(root: Path) -> Path:
    """The sample week's state folder (database and pictures) under `root`."""
    state = root / "state"
    (root / "cameras.toml").write_text(sample.config_text(state), encoding="utf-8")
    config = cfgmod.load(root / "cameras.toml")
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    sample.write(engine, state)
    engine.dispose()
    return state


def copy_sample(src: Path, dst: Path, web: str = "", metrics: str = "") -> cfgmod.Config:
    """A private copy of the sample (a test that writes must not change another's data) and its config."""
    shutil.copytree(src, dst / "state")
    extra = (f"[metrics]\n{metrics}\n" if metrics else "") + (f"[web]\n{web}\n" if web else "")
    (dst / "cameras.toml").write_text(sample.config_text(dst / "state", extra), encoding="utf-8")
    return cfgmod.load(dst / "cameras.toml")


@contextmanager
def serving(config: cfgmod.Config, auth: tuple[str, str] | None = None, pictures_without_auth: bool = True,
            acknowledge: bool | AcknowledgeHook = False) -> Iterator[Served]:
    """The pages and /metrics on one real listener, as `camwatch run` serves them."""
    engine = repo.make_engine(config.database_url)
    clock = Clock()
    acked: list[tuple[int, str]] = []

    def hook(incident: int, user: str, now: dt.datetime) -> bool:
        acked.append((incident, user))
        return True

    ack = (hook if acknowledge is True else acknowledge) or None
    web = make_app(config, engine, auth=auth, pictures_without_auth=pictures_without_auth, clock=clock,
                   acknowledge=ack)  # type: ignore[arg-type]
    web.availability.refresh()
    metrics = Metrics(CollectorRegistry())
    port = free_port()
    httpd, _ = serve(metrics.registry, "127.0.0.1", port, auth=auth, app=site(make_wsgi_app(metrics.registry), web))
    try:
        yield Served(f"http://127.0.0.1:{port}", web, config, clock, config.state_dir, acked)
    finally:
        httpd.shutdown()
        httpd.server_close()
        engine.dispose()


def get(url: str, auth: tuple[str, str] | None = None, headers: dict[str, str] | None = None,
        data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)


def watch(page: Any) -> list[str]:
    """Console errors and failed requests of a page (a CSP violation is a console error)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    return problems


def all_images_loaded(page: Any) -> Callable[[], bool]:
    """Every shown picture loaded (lazy ones below the fold are asked for at once, as a scroll would)."""
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    return lambda: bool(page.evaluate(
        "() => [...document.images].filter(i => i.offsetParent !== null).every(i => i.complete && i.naturalWidth > 0)"))
