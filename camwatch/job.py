"""The daemon's check of one camera: the pipeline, then the state machine, pictures, one transaction.

    load state → pipeline.run_check → health.step → snapshots → repo.record_check (one transaction)
               → metrics view, logs → the interval of the next check

The scheduler decides when this runs; this module decides nothing about time but `now`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from camwatch.analysis import Baseline
from camwatch.config import Config, ResolvedCamera
from camwatch.devices import DeviceFacts
from camwatch.health import Event, State, Status, Transition, next_interval, resume, step
from camwatch.metrics import Metrics
from camwatch.model import CheckResult
from camwatch.pipeline import Outcome, run_check, utcnow
from camwatch.profile import StreamProfile
from camwatch.snapshots import SnapshotStore
from camwatch.storage import StorageGuard
from camwatch.store import acks, leases, repo, sqlite, writer
from camwatch.store.errors import Outage, is_disk_full
from camwatch.views import Views

if TYPE_CHECKING:
    from camwatch.probe.onvif import OnvifResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    result: CheckResult
    state: State
    next_interval_s: float


class CheckJob:
    """Everything a check needs besides its timing; one instance per daemon, called from many threads."""

    def __init__(self, config: Config, engine: Engine, node: str, metrics: Metrics, views: Views,
                 run_check: Callable[..., Outcome] = run_check, cluster: bool = False) -> None:
        self.config = config
        self.engine = engine
        self.node = node
        self.metrics = metrics
        self.views = views
        self.run_check = run_check
        self.cluster = cluster  # results are stored only while this node holds the camera's lease
        self.snapshots = SnapshotStore(config.state_dir / "snapshots")
        db = writer.sqlite_path(config.database_url)
        self.storage = StorageGuard(config.state_dir, config.file.storage, metrics,
                                    database_here=db is not None and db.parent.resolve() == config.state_dir.resolve())
        self.database = Outage()  # one WARNING per database outage, not a traceback per check
        self.devices = DeviceFacts(on_poll=self._on_poll)
        self.last_completed = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, cam: ResolvedCamera, interval_s: float) -> Done | None:
        """Check `cam` (scheduled every `interval_s`), record it; None when the lease was lost meanwhile."""
        try:
            return self._check(cam, interval_s)
        finally:
            with self._lock:
                self.last_completed = time.monotonic()

    def _check(self, cam: ResolvedCamera, interval_s: float) -> Done | None:
        with self.engine.connect() as conn:
            state, stored = repo.load_camera(conn, cam.id)
            profile = StreamProfile.from_json(repo.load_profile(conn, cam.id))
        baseline = Baseline.from_bytes(stored) if stored else None
        outcome = self.run_check(cam, baseline, self.config.thresholds, self.devices,
                                 recovering=state.status is Status.DOWN, profile=profile)
        result = outcome.result
        at = result.started_at
        state = resume(state, at, max_gap_s=2 * interval_s + 10)
        planned = self.config.maintenance_windows(cam.id, cam.cfg.commune, at, at + dt.timedelta(seconds=1))
        with self.engine.connect() as conn:
            maint = repo.in_maintenance(conn, cam.id, cam.cfg.commune, at, planned)
        new_state, transitions = step(state, result.verdict, at, self.config.health, in_maintenance=maint)
        pictures = self.snapshots.keep(result, new_state, transitions, write=self.storage.pictures_allowed())
        new_baseline = outcome.stored

        def store() -> bool:
            with self.engine.begin() as conn:  # all of it or none of it
                if self.cluster:
                    leases.verify(conn, cam.id, self.node, utcnow())
                repo.record_check(conn, result, interval_s, new_state, transitions,
                                  new_baseline.to_bytes() if new_baseline else None, self.node, pictures,
                                  outcome.profile.to_json() if outcome.profile else None)
                return acks.open_incident_acknowledged(conn, cam.id) if new_state.incident else False

        try:
            try:
                acked = store()
            except OperationalError as err:  # the disk is full: the reserve is the database's, then once more
                if not (is_disk_full(err) and self.storage.release(partial(sqlite.checkpoint, self.engine))):
                    raise
                acked = store()
        except leases.LeaseLost:
            log.warning("camera=%s lease lost during the check: result left to the node that holds it", cam.id)
            return None
        self.database.ok()
        self._observe(cam, result, new_state, transitions, acked)
        return Done(result, new_state, next_interval(new_state, cam.check.interval_s, at, self.config.health))

    def _observe(self, cam: ResolvedCamera, result: CheckResult, state: State, transitions: Sequence[Transition],
                 acknowledged: bool = False) -> None:
        m = self.metrics
        m.checks.labels(str(result.verdict)).inc()
        m.check_duration.observe(result.duration_s)
        m.last_check_completed.set_to_current_time()
        for t in transitions:
            if t.event is Event.OPENED and t.incident:
                m.transitions.labels(str(t.incident.kind)).inc()
        self.views.observe(cam, result, state, acknowledged)
        log.debug("camera=%s verdict=%s status=%s duration=%.2fs reason=%s", cam.id, result.verdict,
                  state.status, result.duration_s, result.reason)
        for t in transitions:
            log_transition(cam, t)

    def _on_poll(self, cam: ResolvedCamera, r: OnvifResult) -> None:
        """An ONVIF poll: device changes recorded (and logged), the metrics view told the model/firmware."""
        with self.engine.begin() as conn:
            changes = repo.record_onvif(conn, cam.id, r, utcnow())
        for field_name, old, new in changes:
            log.warning("camera=%s device %s changed: %s -> %s", cam.id, field_name, old, new)
        if not r.ok:
            log.warning("camera=%s commune=%s ONVIF %s: %s", cam.id, cam.cfg.commune, r.error, r.reason)
        if r.device is not None:
            self.views.device(cam.id, r.device.model, r.device.firmware)


def log_transition(cam: ResolvedCamera, t: Transition) -> None:
    """One line per state change, with the camera and its commune (INFO: an operator reads these)."""
    where = f"camera={cam.id} commune={cam.cfg.commune}"
    if t.event is Event.OPENED and t.incident:
        log.warning("%s incident opened kind=%s severity=%s since=%s", where, t.incident.kind,
                    t.incident.severity, t.incident.started_at.isoformat())
    elif t.event is Event.CLOSED and t.incident:
        log.info("%s incident closed kind=%s at=%s", where, t.incident.kind,
                 t.closed_at.isoformat() if t.closed_at else "?")
    elif t.event is Event.FLAPPING:
        log.warning("%s is flapping (%s incidents within the window)", where, t.details.get("opened_in_window"))
    elif t.event is Event.STATUS:
        log.info("%s status %s -> %s", where, t.status_from, t.status_to)
