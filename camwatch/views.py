"""What the metrics collector shows for each camera: a view kept current by the daemon after each check.

Loaded from the database at start (so a restart shows the last known state at once), updated in
memory after every check and ONVIF poll; read by `metrics.CameraCollector` at scrape time.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from camwatch.config import Config, ResolvedCamera
from camwatch.health import State
from camwatch.metrics import CameraView
from camwatch.model import CheckResult
from camwatch.store import repo


class Views:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._views: dict[str, CameraView] = {}
        self._lock = threading.Lock()

    def current(self) -> list[CameraView]:
        """The views of the configured cameras, in config order (removed cameras disappear)."""
        with self._lock:
            return [self._views[c] for c in self.config.cameras if c in self._views]

    def load(self, engine: Engine) -> None:
        with engine.connect() as conn:
            rows = {r.id: r for r in repo.camera_rows(conn)}
            open_incs = {r.camera_id: r for r in repo.incident_rows(conn, open_only=True)}
        views = {}
        for cam in self.config.cameras.values():
            r = rows.get(cam.id)
            v = self._new(cam)
            if r is not None:
                inc = open_incs.get(cam.id)
                v.status, v.verdict, v.incident_kind = r.status, r.last_verdict, inc.kind if inc else None
                v.acknowledged = bool(inc.acknowledged) if inc else False
                v.last_check_ts = r.last_check_at.timestamp() if r.last_check_at else None
                v.width, v.height, v.model, v.firmware = r.width, r.height, r.model, r.firmware
                v.consecutive_failures = State.from_json(r.state).fail_streak
            views[cam.id] = v
        with self._lock:
            self._views = views

    def retarget(self, config: Config) -> None:
        """A new camera list (reload): views of cameras still configured stay."""
        with self._lock:
            self.config = config
            for cam in config.cameras.values():
                self._views.setdefault(cam.id, self._new(cam))

    def observe(self, cam: ResolvedCamera, result: CheckResult, state: State, acknowledged: bool = False) -> None:
        """After a check; `acknowledged`: its open incident is (read in the check's transaction, so an `ack`
        from the command line shows from the camera's next check on)."""
        s, n = result.stream, result.numbers
        with self._lock:
            v = self._views.setdefault(cam.id, self._new(cam))
            v.status, v.verdict = str(state.status), str(result.verdict)
            v.incident_kind = str(state.incident.kind) if state.incident else None
            v.acknowledged = acknowledged and state.incident is not None
            v.last_check_ts, v.duration_s = result.started_at.timestamp(), result.duration_s
            v.consecutive_failures = state.fail_streak
            if result.error is None:  # keep the last known stream facts while a camera is unreachable
                v.ttff_s, v.fps, v.bitrate_bps = s.time_to_first_frame_s, s.fps, s.bitrate_bps
                v.luma, v.sharpness_ratio = n.get("luma"), n.get("sharpness_ratio")
                v.width, v.height, v.codec = s.width, s.height, s.codec
                v.gop_s = 0.0 if s.intra_only else (s.gop_s if s.gop_s is not None else v.gop_s)
            if "clock_offset_s" in n:
                v.clock_offset_s = n["clock_offset_s"]
            if "recording_age_s" in n:
                v.recording_age_s = n["recording_age_s"]

    def device(self, camera_id: str, model: str, firmware: str) -> None:
        with self._lock:
            if camera_id in self._views:
                self._views[camera_id].model, self._views[camera_id].firmware = model, firmware

    @staticmethod
    def _new(cam: ResolvedCamera) -> CameraView:
        return CameraView(cam.id, cam.cfg.commune, cam.cfg.name)
