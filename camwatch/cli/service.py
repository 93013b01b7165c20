"""`camwatch run` (the service) and `camwatch db` (create or migrate the database)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import socket
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, UsageError
from camwatch.metrics import Metrics, serve
from camwatch.store import repo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from camwatch.scheduler import Monitor

log = logging.getLogger("camwatch")


def cmd_db(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config, secrets=False)
    if args.action == "upgrade":
        repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    print(f"database {engine.url.render_as_string(hide_password=True)} at revision {repo.current_revision(engine)}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from camwatch import memory

    memory.tune()  # before any thread: the checks' freed buffers go back to the system (`memory.py`)
    from camwatch.scheduler import Monitor
    from camwatch.store import errors, writer
    from camwatch.store.leases import SingleNodeError

    config = cfgmod.load(args.config)
    node = args.node_id or config.district.node_id or socket.gethostname()
    try:  # one writer per SQLite database, held until this process ends (however it ends)
        writer.lock(config.database_url, node, dt.datetime.now(dt.UTC))
    except writer.WriterLocked as err:
        raise UsageError(str(err)) from None
    where = repo.display_url(config.database_url)
    try:
        repo.upgrade(config.database_url)
    except Exception as err:  # read-only, corrupt, unreachable: one line
        line = errors.unavailable(err)
        if line is None:
            raise
        raise UsageError(f"cannot use the database {where}: {line}") from None
    monitor = Monitor(config, repo.make_engine(config.database_url), node=node)
    start_metrics(monitor.metrics, config, monitor)
    wake, stop, reload = threading.Event(), threading.Event(), threading.Event()

    def on(flag: threading.Event) -> None:
        flag.set()
        wake.set()

    signal.signal(signal.SIGTERM, lambda *_: on(stop))
    signal.signal(signal.SIGINT, lambda *_: on(stop))
    signal.signal(signal.SIGHUP, lambda *_: on(reload))  # systemctl reload camwatch
    try:
        monitor.start()
    except SingleNodeError as err:
        raise UsageError(str(err)) from None
    except Exception as err:
        line = errors.unavailable(err)
        if line is None:
            raise
        raise UsageError(f"cannot use the database {where}: {line}") from None
    while not stop.is_set():
        wake.wait()
        wake.clear()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            _reload(monitor, args.config)
    monitor.stop()
    return EXIT_OK


def _reload(monitor: Monitor, path: Path) -> None:
    """Re-read the config; an invalid file changes nothing (the running configuration stays)."""
    from camwatch import sdnotify

    sdnotify.notify("RELOADING=1")
    try:
        config = cfgmod.load(path)
    except cfgmod.ConfigError as err:
        log.error("config reload refused, the running configuration stays: %s: %s", err.source,
                  "; ".join(str(i) for i in err.issues))
    else:
        monitor.reload(config)
    sdnotify.notify("READY=1")


def start_metrics(metrics: Metrics, config: cfgmod.Config, monitor: Monitor | None = None) -> None:
    """Serve /metrics as the config says (TLS and basic auth optional), and the web pages beside it when `[web]`
    is on (by default on a loopback listener only)."""
    ms = config.file.metrics
    if not ms.enabled:
        return
    host, port = ms.host_port
    auth = ms.basic_auth
    credentials = (auth.user, config.metrics_password.get_secret_value()) \
        if auth is not None and auth.user and config.metrics_password is not None else None
    app = _web(metrics, config, monitor, credentials) if monitor is not None and config.file.web.active(ms) else None
    try:
        serve(metrics.registry, host, port, str(ms.tls_cert_file) if ms.tls_cert_file else None,
              str(ms.tls_key_file) if ms.tls_key_file else None, credentials, app=app)
    except OSError as err:
        raise UsageError(f"cannot serve metrics on {ms.listen}: {err.strerror}") from None
    scheme = "https" if ms.tls_cert_file else "http"
    log.info("metrics on %s://%s/metrics", scheme, ms.listen)
    if app is not None:
        log.info("web pages on %s://%s/", scheme, ms.listen)


def _web(metrics: Metrics, config: cfgmod.Config, monitor: Monitor, credentials: tuple[str, str] | None) -> Any:
    """`/metrics` and the web interface on one listener; the pages follow the monitor's config through reloads."""
    from prometheus_client import make_wsgi_app

    from camwatch.web.app import make_app
    from camwatch.web.dispatch import site

    web = make_app(lambda: monitor.config, monitor.engine, auth=credentials,
                   pictures_without_auth=config.file.metrics.loopback, background=True,
                   acknowledge=partial(_acknowledge, monitor.engine) if credentials else None)
    return site(make_wsgi_app(metrics.registry), web)


def _acknowledge(engine: Engine, incident_id: int, user: str, now: dt.datetime) -> bool:
    """The web page's acknowledge button: the same acknowledgement as `camwatch incidents ack ID --by USER`."""
    from camwatch.store import acks

    with engine.begin() as conn:
        return acks.acknowledge(conn, incident_id, user, "", now) is not None
