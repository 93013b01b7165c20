"""The daemon: every camera checked on its schedule, concurrently (bounded), never two of one at once.

APScheduler runs one interval job per camera on a bounded thread pool (checks are I/O-bound and
PyAV releases the GIL while it waits and decodes). Each job: probe → judge → state machine → one
transaction (check row, state, incidents, outbox). Snapshots are files under the state directory.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from camwatch import leases, sdnotify
from camwatch.analysis import Baseline
from camwatch.check import (
    CheckResult,
    OnvifFacts,
    apply_clock,
    check_camera,
    check_configured,
    facts_from,
    write_atomic,
)
from camwatch.config import Config, HealthSettings, ResolvedCamera
from camwatch.health import Event, Policy, State, Status, Transition, next_interval, resume, step
from camwatch.metrics import CameraCollector, CameraView, Metrics
from camwatch.probe.rtsp import RtspSettings
from camwatch.store import repo

log = logging.getLogger(__name__)

INCIDENT_SNAPSHOTS_KEPT = 40

CheckFn = Callable[..., tuple[CheckResult, Baseline | None]]


class ClusterError(RuntimeError):
    pass


def policy_from(h: HealthSettings) -> Policy:
    return Policy(failures_to_open=h.failures_to_open, degraded_failures_to_open=h.degraded_failures_to_open,
                  successes_to_close=h.successes_to_close, flap_window_s=h.flap_window_s,
                  flap_threshold=h.flap_threshold, backoff_after_s=h.backoff_after_s,
                  backoff_max_interval_s=h.backoff_max_interval_s, failures_by_kind=dict(h.failures_by_kind))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Stats:
    """In-memory service figures (the metrics issue exports them)."""

    checks_total: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    lags_s: list[float] = field(default_factory=list)
    last_completed: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Monitor:
    def __init__(self, config: Config, engine: Engine, node: str | None = None,
                 check: CheckFn | None = None, metrics: Metrics | None = None) -> None:
        self.config = config
        self.engine = engine
        self.node = node or config.district.node_id or socket.gethostname()
        self.policy = policy_from(config.health)
        self.thresholds = config.thresholds
        self.check_fn: CheckFn = check or check_camera
        self.snapshot_dir = config.state_dir / "snapshots"
        self.stats = Stats()
        self.run_id: int | None = None
        self._running: set[str] = set()
        self._intervals: dict[str, float] = {}
        self._onvif: dict[str, OnvifFacts] = {}
        self._guard = threading.Lock()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=config.file.defaults.concurrency)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.UTC,
        )
        self.scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.metrics = metrics or Metrics()
        self.alert_every_s = 5.0
        self.cluster = engine.dialect.name == "postgresql"
        shortest = min((c.check.interval_s for c in config.cameras.values()), default=60.0)
        self.lease_ttl_s = config.district.lease_ttl_intervals * shortest
        self.lease_renew_s = max(1.0, shortest / 3)
        self._held: set[str] = set()
        self._lease_rounds = 0
        self._lease_until = utcnow()
        self.views: dict[str, CameraView] = {}
        self.metrics.registry.register(CameraCollector(
            lambda: [self.views[c] for c in self.config.cameras if c in self.views], self._outbox_counts))

    def _outbox_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return repo.outbox_counts(conn)

    def _load_views(self) -> None:
        with self.engine.connect() as conn:
            rows = {r.id: r for r in repo.camera_rows(conn)}
            open_kind = {r.camera_id: r.kind for r in repo.incident_rows(conn, open_only=True)}
        for cam in self.config.cameras.values():
            r = rows.get(cam.id)
            v = CameraView(cam.id, cam.cfg.commune, cam.cfg.name)
            if r is not None:
                v.status, v.verdict, v.incident_kind = r.status, r.last_verdict, open_kind.get(cam.id)
                v.last_check_ts = r.last_check_at.timestamp() if r.last_check_at else None
                v.width, v.height, v.model, v.firmware = r.width, r.height, r.model, r.firmware
                v.consecutive_failures = State.from_json(r.state).fail_streak
            self.views[cam.id] = v

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            repo.sync_cameras(conn, ({"id": c.id, "commune": c.cfg.commune, "name": c.cfg.name,
                                      "location": c.cfg.location} for c in self.config.cameras.values()), now)
            self.run_id = repo.start_run(conn, self.node, now)
            others = [n for n in leases.live_nodes(conn, now, self.lease_ttl_s) if n != self.node]
            if not self.cluster and others:
                raise ClusterError(f"node(s) {', '.join(others)} already run on this SQLite database: SQLite is for "
                                   "one node; point every node at PostgreSQL (database_url) to run several")
            if not self.cluster:
                leases.heartbeat(conn, self.node, now)
        self._load_views()
        if self.cluster:  # cameras come and go with the leases this node holds
            self.scheduler.add_job(self._leases, IntervalTrigger(seconds=self.lease_renew_s), id="__leases__",
                                   next_run_time=now)
        else:
            for cam in self.config.cameras.values():
                self._schedule(cam.id, cam.check.interval_s, now + self._offset(cam.id, cam.check.interval_s))
        self.scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=5), id="__heartbeat__",
                               next_run_time=now)
        if self.config.file.smtp is not None:
            from camwatch.alerts.smtp import SmtpTransport

            self._transport = SmtpTransport(self.config.file.smtp)
            self.scheduler.add_job(self._alerts, IntervalTrigger(seconds=self.alert_every_s), id="__alerts__",
                                   next_run_time=now)
        else:
            log.warning("no [smtp] in the config: email alerts are off (transitions stay in the outbox)")
        self.scheduler.add_job(self._rollup, IntervalTrigger(hours=6), id="__rollup__",
                               next_run_time=now + dt.timedelta(minutes=5))
        self.scheduler.start()
        log.info("camwatch started: node=%s cameras=%d database=%s", self.node, len(self.config.cameras),
                 self.engine.url.render_as_string(hide_password=True))
        sdnotify.notify(f"READY=1\nSTATUS=checking {len(self.config.cameras)} cameras")

    @staticmethod
    def _offset(camera_id: str, interval: float) -> dt.timedelta:
        """Spread first checks over the interval, stably per camera, so 1,000 cameras never connect at once."""
        return dt.timedelta(seconds=(zlib.crc32(camera_id.encode()) % 10_000) / 10_000 * interval)

    def _leases(self) -> None:
        """Renew, release beyond the fair share, take free or expired cameras; schedule what this node holds."""
        now = utcnow()
        cams = {c.id: c.cfg.commune for c in self.config.cameras.values()}
        with self.engine.begin() as conn:
            held, taken = leases.rebalance(conn, self.node, cams, now, self.lease_ttl_s, self.config.district.node_communes)
        self._lease_until = now + dt.timedelta(seconds=self.lease_ttl_s)
        if taken:
            self.metrics.takeovers.labels(self.node).inc(taken)
            log.warning("node=%s took over %d camera(s) from a node that stopped renewing", self.node, taken)
        self.metrics.node_cameras.labels(self.node).set(len(held))
        first_round = not self._lease_rounds
        self._lease_rounds += 1
        for cid in sorted(held - self._held):
            cam = self.config.cameras[cid]
            # at start-up spread over the interval; a camera taken over is overdue: check it within seconds
            spread = cam.check.interval_s if first_round else min(cam.check.interval_s / 4, 5.0)
            self._schedule(cid, cam.check.interval_s, now + self._offset(cid, spread))
        for cid in sorted(self._held - held):
            try:
                self.scheduler.remove_job(cid)
            except JobLookupError:
                pass
            self._intervals.pop(cid, None)
        if held != self._held:
            log.info("node=%s holds %d camera(s)", self.node, len(held))
        self._held = held

    def stop(self) -> None:
        sdnotify.notify("STOPPING=1")
        log.info("stopping: waiting for %d running check(s) to finish or reach their deadline", self.stats.in_flight)
        self.scheduler.shutdown(wait=True)
        with self.engine.begin() as conn:
            leases.release_all(conn, self.node)  # the other nodes take over at once
        if self.run_id is not None:
            with self.engine.begin() as conn:
                repo.heartbeat(conn, self.run_id, utcnow(), stopped=True)
        log.info("stopped")

    def _schedule(self, camera_id: str, interval: float, first: dt.datetime) -> None:
        self._intervals[camera_id] = interval
        # no jitter: APScheduler 3 adds it to the previous (jittered) time, so the schedule would drift;
        # the stable per-camera offset already spreads the load
        self.scheduler.add_job(self.check_one, IntervalTrigger(seconds=interval),
                               args=[camera_id], id=camera_id, next_run_time=first, replace_existing=True,
                               misfire_grace_time=max(1, int(interval)))

    def _on_submitted(self, ev: JobSubmissionEvent) -> None:
        if ev.job_id.startswith("__"):
            return
        lag = max(0.0, (utcnow() - ev.scheduled_run_times[0]).total_seconds())
        self.metrics.lag.observe(lag)
        with self.stats.lock:
            self.stats.lags_s.append(lag)
            del self.stats.lags_s[:-5000]
        if lag > 5:
            log.warning("camera=%s check started %.1f s late", ev.job_id, lag)

    def _heartbeat(self) -> None:
        if self.run_id is not None:
            with self.engine.begin() as conn:
                repo.heartbeat(conn, self.run_id, utcnow())
                if not self.cluster:  # on SQLite, so that a second node is refused
                    leases.heartbeat(conn, self.node, utcnow())
        longest = max((c.check.interval_s for c in self.config.cameras.values()), default=60)
        stalled = self.config.cameras and time.monotonic() - self.stats.last_completed > 2 * longest + 30
        if not stalled:  # a stuck scheduler stops feeding the watchdog, and systemd restarts us
            sdnotify.notify("WATCHDOG=1")
        else:
            log.error("no check has completed for %.0f s: not feeding the watchdog",
                      time.monotonic() - self.stats.last_completed)

    def _alerts(self) -> None:
        """Route due transitions into emails and send what is due (several nodes may do this safely)."""
        from camwatch.alerts.outbox import route, send_due

        with self.engine.begin() as conn:
            route(conn, self.config, utcnow())
        if self.config.file.report.monthly_to:
            from camwatch.alerts.outbox import monthly_report

            with self.engine.begin() as conn:
                monthly_report(conn, self.config, utcnow(), self.config.state_dir / "reports")
        _, failed = send_due(self.engine, self.config, self._transport.send, self.node, utcnow)
        if failed:
            self.metrics.email_failures.inc(failed)

    def _rollup(self) -> None:
        cutoff = utcnow() - dt.timedelta(days=self.config.district.retention_days)
        with self.engine.begin() as conn:
            n = repo.rollup(conn, cutoff)
        if n:
            log.info("rolled up %d checks older than %s into hourly rows", n, cutoff.date())

    # ------------------------------------------------------------ one check
    def check_one(self, camera_id: str) -> CheckResult | None:
        cam = self.config.cameras[camera_id]
        if self.cluster and (camera_id not in self._held or utcnow() >= self._lease_until):
            return None  # not ours (any more): renewals go on during the check, and the result is stored only
            # if the lease is still ours then (leases.verify)
        with self._guard:
            if camera_id in self._running:
                return None  # never two checks of one camera at once
            self._running.add(camera_id)
        with self.stats.lock:
            self.stats.in_flight += 1
        self.metrics.in_flight.inc()
        try:
            return self._check(cam)
        except Exception:
            log.exception("camera=%s check failed with a bug", camera_id)
            return None
        finally:
            with self._guard:
                self._running.discard(camera_id)
            with self.stats.lock:
                self.stats.in_flight -= 1
                self.stats.last_completed = time.monotonic()
            self.metrics.in_flight.dec()

    def _check(self, cam: ResolvedCamera) -> CheckResult:
        settings = RtspSettings(deadline_s=cam.check.deadline_s, connect_timeout_s=cam.check.connect_timeout_s,
                                keyframes=cam.check.keyframes, keyframe_spacing_s=cam.check.keyframe_spacing_s)
        with self.engine.connect() as conn:
            state, baseline = repo.load_camera(conn, cam.id)
        facts = self._onvif.get(cam.id)
        polled = False
        if cam.cfg.onvif is not None and (facts is None or time.monotonic() >= facts.next_poll):
            facts, polled = self._poll_onvif(cam), True
        result, new_baseline = check_configured(cam, settings, baseline, self.thresholds, facts, self.check_fn)
        if cam.cfg.onvif is not None and not polled and result.ok and state.status is Status.DOWN:
            facts = self._poll_onvif(cam)  # back from an outage: cameras without a clock battery return in 1970
            result, new_baseline = apply_clock(result, new_baseline, facts, cam.check.clock_tolerance_s,
                                               cam.check.recording_max_age_s)
        at = result.started_at
        interval = cam.check.interval_s
        state = resume(state, at, max_gap_s=2 * self._intervals.get(cam.id, interval) + 10)
        with self.engine.connect() as conn:
            maint = repo.in_maintenance(conn, cam.id, cam.cfg.commune, at) or bool(
                self.config.maintenance_windows(cam.id, cam.cfg.commune, at, at + dt.timedelta(seconds=1)))
        new_state, transitions = step(state, result.verdict, at, self.policy, in_maintenance=maint)
        snapshots = self._snapshots(cam.id, result, new_state, transitions)
        try:
            with self.engine.begin() as conn:  # all of it or none of it
                if self.cluster:
                    leases.verify(conn, cam.id, self.node, utcnow())
                repo.record_check(conn, result, self._intervals.get(cam.id, interval), new_state, transitions,
                                  new_baseline, self.node, snapshots)
        except leases.LeaseLost:
            log.warning("camera=%s lease lost during the check: result left to the node that holds it", cam.id)
            return result
        with self.stats.lock:
            self.stats.checks_total[str(result.verdict)] = self.stats.checks_total.get(str(result.verdict), 0) + 1
        self._observe(cam, result, new_state, transitions)
        log.info("camera=%s verdict=%s status=%s duration=%.2fs reason=%s", cam.id, result.verdict,
                 new_state.status, result.duration_s, result.reason)
        for t in transitions:
            _log_transition(cam.id, t)
        want = next_interval(new_state, interval, at, self.policy)
        if want != self._intervals.get(cam.id):
            log.info("camera=%s check interval now %.0f s", cam.id, want)
            self._schedule(cam.id, want, utcnow() + dt.timedelta(seconds=want))
        return result

    def _poll_onvif(self, cam: ResolvedCamera) -> OnvifFacts:
        """Device facts, clock and stream address over ONVIF; changes of the device are recorded."""
        from camwatch.probe.onvif import probe_onvif

        o = cam.cfg.onvif
        assert o is not None
        r = probe_onvif(o.host, o.port, cam.onvif_user,
                        cam.onvif_password.get_secret_value() if cam.onvif_password else None,
                        deadline_s=cam.check.deadline_s, profile=o.profile,
                        want_stream=cam.cfg.rtsp_url is None or cam.source == "snapshot")
        now = utcnow()
        with self.engine.begin() as conn:
            changes = repo.record_onvif(conn, cam.id, r, now)
        for field_name, old, new in changes:
            log.warning("camera=%s device %s changed: %s -> %s", cam.id, field_name, old, new)
        if not r.ok:
            log.warning("camera=%s ONVIF %s: %s", cam.id, r.error, r.reason)
        facts = facts_from(r, self._onvif.get(cam.id), time.monotonic() + cam.check.onvif_interval_s)
        self._onvif[cam.id] = facts
        if r.device and cam.id in self.views:
            v = self.views[cam.id]
            v.model, v.firmware = r.device.model, r.device.firmware
        return facts

    def _observe(self, cam: ResolvedCamera, result: CheckResult, state: State, transitions: list[Transition]) -> None:
        m = self.metrics
        m.checks.labels(str(result.verdict)).inc()
        m.check_duration.observe(result.duration_s)
        m.last_check_completed.set_to_current_time()
        for t in transitions:
            if t.event is Event.OPENED and t.incident:
                m.transitions.labels(str(t.incident.kind)).inc()
        s, n = result.stream, result.numbers
        v = self.views.get(cam.id) or CameraView(cam.id, cam.cfg.commune, cam.cfg.name)
        v.status, v.verdict = str(state.status), str(result.verdict)
        v.incident_kind = str(state.incident.kind) if state.incident else None
        v.last_check_ts, v.duration_s = result.started_at.timestamp(), result.duration_s
        v.consecutive_failures = state.fail_streak
        if result.error is None:  # keep the last known stream facts while a camera is unreachable
            v.ttff_s, v.fps, v.bitrate_bps = s.time_to_first_frame_s, s.fps, s.bitrate_bps
            v.luma, v.sharpness_ratio = n.get("luma"), n.get("sharpness_ratio")
            v.width, v.height, v.codec = s.width, s.height, s.codec
        if "clock_offset_s" in n:
            v.clock_offset_s = n["clock_offset_s"]
        if "recording_age_s" in n:
            v.recording_age_s = n["recording_age_s"]
        self.views[cam.id] = v

    def _snapshots(self, camera_id: str, result: CheckResult, state: State,
                   transitions: list[Transition]) -> dict[str, str | None]:
        """Keep the last good and the first bad picture; copy both aside when an incident opens."""
        d = self.snapshot_dir / camera_id
        out: dict[str, str | None] = {}
        try:
            if result.jpeg is not None:
                if result.ok:
                    out["last_good"] = str(write_atomic(d / "last-good.jpg", result.jpeg))
                elif state.fail_streak == 1:
                    write_atomic(d / "first-bad.jpg", result.jpeg)
                result.snapshot = write_atomic(d / "latest.jpg", result.jpeg)
            if any(t.event is Event.OPENED for t in transitions):
                stamp = result.started_at.strftime("%Y%m%dT%H%M%SZ")
                for name, key in (("first-bad", "first_bad"), ("last-good", "last_good_at_open")):
                    src = d / f"{name}.jpg"
                    if src.exists():
                        dst = d / f"incident-{stamp}-{name}.jpg"
                        shutil.copyfile(src, dst)
                        out[key] = str(dst)
                _prune(d)
        except OSError as err:  # a full disk loses the picture, never the check
            log.error("camera=%s cannot write snapshot: %s", camera_id, err.strerror)
        return out


def _prune(d: Path) -> None:
    files = sorted(d.glob("incident-*.jpg"))
    for f in files[:-INCIDENT_SNAPSHOTS_KEPT]:
        f.unlink(missing_ok=True)


def _log_transition(camera_id: str, t: Transition) -> None:
    if t.event is Event.OPENED and t.incident:
        log.warning("camera=%s incident opened kind=%s severity=%s since=%s", camera_id, t.incident.kind,
                    t.incident.severity, t.incident.started_at.isoformat())
    elif t.event is Event.CLOSED and t.incident:
        log.warning("camera=%s incident closed kind=%s at=%s", camera_id, t.incident.kind,
                    t.closed_at.isoformat() if t.closed_at else "?")
    elif t.event is Event.FLAPPING:
        log.warning("camera=%s is flapping (%s incidents within the window)", camera_id,
                    t.details.get("opened_in_window"))
    elif t.event is Event.STATUS:
        log.info("camera=%s status %s -> %s", camera_id, t.status_from, t.status_to)
