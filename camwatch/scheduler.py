"""The daemon's timing: every camera checked on its schedule, concurrently (bounded), never two of one at once.

APScheduler runs one interval job per camera on a bounded thread pool (checks are I/O-bound and
PyAV releases the GIL while it waits and decodes), plus the background jobs (heartbeat and
watchdog, leases, alerts, roll-up) on a pool of their own, so that checks never starve them. The checks'
pool measures each check's lag when it starts running (not when it is queued: a saturated pool shows there)
and how busy it is. What one check does is `job.CheckJob`; this module keeps only timing, concurrency,
leases and shutdown.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from apscheduler.executors.pool import BasePoolExecutor, ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from camwatch import memory, sdnotify
from camwatch.config import Config, changes
from camwatch.job import CheckJob, Done
from camwatch.metrics import CameraCollector, Metrics
from camwatch.pipeline import utcnow
from camwatch.store import errors, history, leases, repo, sqlite
from camwatch.views import Views

log = logging.getLogger(__name__)

ALERTS_EVERY_S = 5.0
BACKGROUND = "background"  # the executor of the heartbeat, leases, alerts and roll-up: never behind checks
LATE_S = 5.0  # a check that starts this late is logged (at most once a minute, with the count)
STORAGE_EVERY_S = 5.0


class Monitor:
    def __init__(self, config: Config, engine: Engine, node: str | None = None, metrics: Metrics | None = None) -> None:
        self.config = config
        self.engine = engine
        self.node = node or config.district.node_id or socket.gethostname()
        self.cluster = engine.dialect.name == "postgresql"
        self.metrics = metrics or Metrics()
        self.views = Views(config)
        self.job = CheckJob(config, engine, self.node, self.metrics, self.views, cluster=self.cluster)
        self.metrics.registry.register(CameraCollector(self.views.current, partial(repo.outbox_counts_of, engine),
                                                       communes=lambda: {c.id: c.name for c in self.config.file.communes}))
        self.pool = CheckPool(config.file.defaults.concurrency, self.metrics)
        self.scheduler = BackgroundScheduler(
            executors={"default": self.pool, BACKGROUND: ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1}, timezone=dt.UTC)
        shortest = min((c.check.interval_s for c in config.cameras.values()), default=60.0)
        self.lease_ttl_s = config.district.lease_ttl_intervals * shortest
        self.lease_renew_s = max(1.0, shortest / 3)
        self.holder = leases.Holder(engine, self.node, self.lease_ttl_s, config.district.node_communes)
        self.run_id: int | None = None
        self._intervals: dict[str, float] = {}
        self._running: set[str] = set()
        self._guard = threading.Lock()
        self.stopping = threading.Event()  # set at SIGTERM: the email being sent finishes, no new one starts

    def _sync(self, config: Config, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            repo.sync_cameras(conn, (c.row for c in config.cameras.values()), now)

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        now = utcnow()
        self._sync(self.config, now)
        with self.engine.begin() as conn:
            self.run_id = repo.start_run(conn, self.node, now)
            leases.join(conn, self.node, now, self.lease_ttl_s, self.cluster)
        self.views.load(self.engine)
        add, db = partial(self.scheduler.add_job, executor=BACKGROUND), partial(_guarded, self.job.database)
        if self.cluster:  # cameras come and go with the leases this node holds
            add(db(self._leases), IntervalTrigger(seconds=self.lease_renew_s), id="__leases__", next_run_time=now)
        else:
            for cam in self.config.cameras.values():
                self._schedule(cam.id, cam.check.interval_s, now + _offset(cam.id, cam.check.interval_s))
        add(self._heartbeat, IntervalTrigger(seconds=5), id="__heartbeat__", next_run_time=now)
        add(memory.trim, IntervalTrigger(seconds=memory.TRIM_EVERY_S), id="__trim__")
        add(db(partial(_storage, self)), IntervalTrigger(seconds=STORAGE_EVERY_S), id="__storage__", next_run_time=now)
        if self.config.file.smtp is not None or self.config.file.webhook is not None:
            add(db(partial(_alerts, self)), IntervalTrigger(seconds=ALERTS_EVERY_S), id="__alerts__", next_run_time=now)
        else:
            log.warning("no [smtp] nor [webhook] in the config: alerts are off (transitions stay in the outbox)")
        add(db(history.rollup_old), IntervalTrigger(hours=6), args=[self.engine, self.config.district.retention_days],
            id="__rollup__", next_run_time=now + dt.timedelta(minutes=5))
        self.scheduler.start()
        log.info("camwatch started: node=%s cameras=%d database=%s", self.node, len(self.config.cameras),
                 self.engine.url.render_as_string(hide_password=True))
        sdnotify.notify(f"READY=1\nSTATUS=checking {len(self.config.cameras)} cameras")

    def reload(self, config: Config) -> None:
        """A new camera list (SIGHUP): added cameras start, removed ones retire, changed ones apply at their next
        check. The database, state directory, listener and concurrency stay as started (a restart changes them)."""
        diff, now = changes(self.config, config), utcnow()
        if diff.needs_restart:
            log.warning("config reload: %s changed; that takes a restart (systemctl restart camwatch)",
                        ", ".join(diff.needs_restart))
        self._sync(config, now)
        self.config = self.job.config = config
        self.views.retarget(config)
        if not self.cluster:  # on several nodes the next lease round takes the new list
            for cid in diff.removed:
                self._unschedule(cid)
            for cid in diff.added + diff.new_interval:
                interval = config.cameras[cid].check.interval_s
                self._schedule(cid, interval, now + _offset(cid, min(interval, 10.0)))
        log.info("config reloaded: %d cameras (%d added, %d removed)", len(config.cameras), len(diff.added),
                 len(diff.removed))

    def stop(self) -> None:
        sdnotify.notify("STOPPING=1")
        self.stopping.set()
        log.info("stopping: waiting for %d running check(s) to finish or reach their deadline", len(self._running))
        self.scheduler.shutdown(wait=True)
        self.job.storage.close()
        with self.job.database.guard(), self.engine.begin() as conn:  # (the database may be down: one line)
            leases.release_all(conn, self.node)  # the other nodes take over at once
            if self.run_id is not None:
                repo.heartbeat(conn, self.run_id, utcnow(), stopped=True)
        log.info("stopped")

    def _schedule(self, camera_id: str, interval: float, first: dt.datetime) -> None:
        self._intervals[camera_id] = interval
        # no jitter: APScheduler 3 adds it to the previous (jittered) time, so the schedule would drift;
        # the stable per-camera offset already spreads the load
        self.scheduler.add_job(self.check_one, IntervalTrigger(seconds=interval), args=[camera_id], id=camera_id,
                               next_run_time=first, replace_existing=True, misfire_grace_time=max(1, int(interval)))

    def _unschedule(self, camera_id: str) -> None:
        with suppress(JobLookupError):
            self.scheduler.remove_job(camera_id)
        self._intervals.pop(camera_id, None)

    # ------------------------------------------------------------ one check, on time
    def check_one(self, camera_id: str) -> Done | None:
        cam = self.config.cameras.get(camera_id)
        if cam is None or (self.cluster and not self.holder.holds(camera_id, utcnow())):
            return None  # not ours (any more): the result is stored only if the lease is still ours then
        with self._guard:
            if camera_id in self._running:
                return None  # never two checks of one camera at once
            self._running.add(camera_id)
        self.metrics.in_flight.inc()
        try:
            done = self.job(cam, self._intervals.get(camera_id, cam.check.interval_s))
            if done is not None and done.next_interval_s != self._intervals.get(camera_id):
                log.info("camera=%s commune=%s check interval now %.0f s", camera_id, cam.cfg.commune,
                         done.next_interval_s)
                self._schedule(camera_id, done.next_interval_s, utcnow() + dt.timedelta(seconds=done.next_interval_s))
            return done
        except Exception as err:  # a bug (its traceback), or the database unusable (one line per outage)
            self.job.database.check_failed(err, camera_id)
            return None
        finally:
            with self._guard:
                self._running.discard(camera_id)
            self.metrics.in_flight.dec()

    # ------------------------------------------------------------ background jobs
    def _leases(self) -> None:
        """Renew, release beyond the fair share, take free or expired cameras; schedule what this node holds."""
        now = utcnow()
        first_round = not self.holder.rounds
        gained, lost, taken = self.holder.round({c.id: c.cfg.commune for c in self.config.cameras.values()}, now)
        if taken:
            self.metrics.takeovers.labels(self.node).inc(taken)
            log.warning("node=%s took over %d camera(s) from a node that stopped renewing", self.node, taken)
        self.metrics.node_cameras.labels(self.node).set(len(self.holder.held))
        for cid in sorted(gained):
            cam = self.config.cameras.get(cid)
            if cam is None:  # removed from the config since
                continue
            # at start-up spread over the interval; a camera taken over is overdue: check it within seconds
            spread = cam.check.interval_s if first_round else min(cam.check.interval_s / 4, 5.0)
            self._schedule(cid, cam.check.interval_s, now + _offset(cid, spread))
        for cid in sorted(lost):
            self._unschedule(cid)
        if gained or lost:
            log.info("node=%s holds %d camera(s)", self.node, len(self.holder.held))

    def _heartbeat(self) -> None:
        if self.run_id is not None:
            with self.job.database.guard(), self.engine.begin() as conn:
                repo.heartbeat(conn, self.run_id, utcnow())
                if not self.cluster:  # on SQLite, so that a second node is refused
                    leases.heartbeat(conn, self.node, utcnow())
        longest = max((c.check.interval_s for c in self.config.cameras.values()), default=60)
        silent = time.monotonic() - self.job.last_completed
        if self.config.cameras and silent > 2 * longest + 30:  # a stuck scheduler stops feeding the watchdog
            log.error("no check has completed for %.0f s: not feeding the watchdog", silent)
        else:
            sdnotify.notify("WATCHDOG=1")


def _guarded(outage: errors.Outage, job: Callable[..., object]) -> Callable[..., None]:
    """A background job whose database errors are the outage's one line, not a traceback each time."""
    def run(*args: object) -> None:
        with outage.guard():
            job(*args)
    return run


def _alerts(monitor: Monitor) -> None:
    """Drain the outbox (SMTP, webhook); at SIGTERM the one being sent finishes and no new one starts."""
    from camwatch.alerts.outbox import deliver

    m = monitor
    m.metrics.email_failures.inc(deliver(m.engine, m.config, None, m.node, utcnow, stop=m.stopping))


def _storage(monitor: Monitor) -> None:
    """The state directory's space (`storage.py`); the district team is emailed once when it runs low."""
    edge = monitor.job.storage.tick(partial(sqlite.checkpoint, monitor.engine))
    if edge != "low":
        return
    from camwatch.alerts.routing import district_team, notify_all

    config, now = monitor.config, utcnow()
    team = district_team(config)
    payload = {"district": config.district.name, "state_dir": str(config.state_dir),
               "free_bytes": monitor.job.storage.free(), "at": now.isoformat(),
               "timezone": config.district.timezone, "grafana_url": config.file.alerts.grafana_url}
    with monitor.engine.begin() as conn:
        notify_all(conn, config, now, "storage", team, payload, None, None)
    if not team:
        log.warning("no district team ([alerts] escalation) to email about the state directory's space")


class CheckPool(BasePoolExecutor):
    """The checks' threads. A check's lag is measured when a worker starts it, from the time it was due (the latest,
    when missed runs are coalesced): a check waiting for a free worker is late, and shows it."""

    def __init__(self, workers: int, metrics: Metrics) -> None:
        super().__init__(_TimedThreads(workers, self._started, self._ended))
        self.metrics, self.size, self._late, self._late_logged = metrics, workers, 0, float("-inf")
        metrics.pool_size.set(workers)

    def _started(self, job_id: str, due: dt.datetime) -> None:
        lag = max(0.0, (utcnow() - due).total_seconds())
        m = self.metrics
        m.waiting.dec()
        m.pool_busy.inc()
        m.lag.observe(lag)
        if lag > LATE_S:
            self._late += 1
            if time.monotonic() - self._late_logged > 60:
                log.warning("camera=%s check started %.1f s late (%d checks late since the last warning): the pool "
                            "of %d workers is saturated", job_id, lag, self._late, self.size)
                self._late, self._late_logged = 0, time.monotonic()

    def _ended(self) -> None:
        self.metrics.pool_busy.dec()

    def shutdown(self, wait: bool = True) -> None:
        """Running checks finish (or reach their deadline); checks still waiting for a worker are dropped."""
        self._pool.closing = True
        super().shutdown(wait)

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        self.metrics.waiting.inc()
        try:
            super()._do_submit_job(job, run_times)
        except BaseException:  # the pool is shutting down
            self.metrics.waiting.dec()
            raise


class _TimedThreads(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that calls `started(job id, due time)` in the worker, as it starts APScheduler's `run_job`."""

    def __init__(self, workers: int, started: Callable[[str, dt.datetime], None], ended: Callable[[], None]) -> None:
        super().__init__(workers, thread_name_prefix="check")
        self.started, self.ended, self.closing = started, ended, False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        job, run_times = args[0], args[2]  # apscheduler.executors.base.run_job(job, jobstore_alias, run_times, …)

        def run() -> Any:
            if self.closing:
                return []  # run_job's answer: no events
            self.started(job.id, max(run_times))
            try:
                return fn(*args, **kwargs)
            finally:
                self.ended()

        return super().submit(run)


def _offset(camera_id: str, interval: float) -> dt.timedelta:
    """Spread first checks over the interval, stably per camera, so 1,000 cameras never connect at once."""
    return dt.timedelta(seconds=(zlib.crc32(camera_id.encode()) % 10_000) / 10_000 * interval)
