"""Prometheus metrics: a collector that reads each camera's current state at scrape time (cameras
removed from the config simply disappear), counters and histograms for events, and the HTTP endpoint.

Labels are a small fixed set (`camera`, `commune`, and `status`/`kind`/`result` from closed
vocabularies); never a URL, an error message or anything unbounded. Human names (Vietnamese, with
diacritics) are only on the `_info` series, `camwatch_camera_info{camera,commune,name,…}` and
`camwatch_commune_info{commune,name}`, which queries join on `camera`/`commune`.

The camera's status is one gauge per state, `camwatch_camera_status{camera,commune,status}`: 1 for the
current state, 0 for the others (every state is always present, so `== 1` selects and `or` needs no
`absent()`). Not a StateSet: prometheus-client names a StateSet's label after the metric, which rules
and dashboards then have to spell `camwatch_camera_status="down"`.
"""

from __future__ import annotations

import base64
import hmac
import logging
import platform
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from camwatch import __version__
from camwatch.health import Status
from camwatch.listener import TIMEOUT_S, Server, tls_context
from camwatch.model import DOWN_VERDICTS, Verdict

log = logging.getLogger(__name__)

CHECK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


@dataclass
class CameraView:
    """What the collector shows for one camera (filled by the daemon after every check)."""

    camera: str
    commune: str
    name: str = ""
    status: str = "unknown"
    verdict: str | None = None
    incident_kind: str | None = None
    last_check_ts: float | None = None
    duration_s: float | None = None
    ttff_s: float | None = None
    fps: float | None = None
    bitrate_bps: float | None = None
    luma: float | None = None
    sharpness_ratio: float | None = None
    clock_offset_s: float | None = None
    recording_age_s: float | None = None
    consecutive_failures: int = 0
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    model: str | None = None
    firmware: str | None = None
    gop_s: float | None = None  # the learned keyframe interval (0: every frame a keyframe)
    acknowledged: bool = False  # the open incident has been acknowledged (`camwatch incidents ack`)
    commune_name: str = ""  # the commune's human name; the collector's `communes` mapping wins, then the slug


STATUSES = tuple(s.value for s in Status)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.checks = Counter("camwatch_checks", "Checks completed, by verdict.", ["result"], registry=r)
        self.check_duration = Histogram("camwatch_check_duration_seconds", "Time from the start of a check to its verdict.",
                                        buckets=CHECK_BUCKETS, registry=r)
        self.lag = Histogram("camwatch_scheduler_lag_seconds",
                             "How late checks start running after their scheduled time (waiting for a worker included).",
                             buckets=LAG_BUCKETS, registry=r)
        self.in_flight = Gauge("camwatch_checks_in_flight", "Checks running now.", registry=r)
        self.pool_size = Gauge("camwatch_check_pool_size", "Workers of the checks' pool (`concurrency`).", registry=r)
        self.pool_busy = Gauge("camwatch_check_pool_busy", "Workers of the checks' pool running a check now.", registry=r)
        self.waiting = Gauge("camwatch_checks_waiting", "Checks due and waiting for a free worker (a saturated pool).",
                             registry=r)
        self.transitions = Counter("camwatch_incidents_opened", "Incidents opened, by kind.", ["kind"], registry=r)
        self.email_failures = Counter("camwatch_email_send_failures", "Email deliveries that failed.", registry=r)
        self.node_cameras = Gauge("camwatch_node_cameras", "Cameras this node holds (several nodes).", ["node"],
                                  registry=r)
        self.takeovers = Counter("camwatch_lease_takeovers", "Cameras taken over from a node that stopped.", ["node"],
                                 registry=r)
        self.last_check_completed = Gauge("camwatch_last_check_completed_timestamp_seconds",
                                          "When the last check of any camera completed.", registry=r)
        self.state_free = Gauge("camwatch_state_free_bytes", "Free space on the state directory's disk.", registry=r)
        self.pictures_suspended = Gauge("camwatch_pictures_suspended",
                                        "1 while no picture is written for want of space on the state directory.",
                                        registry=r)
        self.storage_reserve = Gauge("camwatch_storage_reserve_bytes",
                                     "Space held in reserve for the database (0: released to it).", registry=r)
        info = Gauge("camwatch_build_info", "camwatch build information.", ["version", "python"], registry=r)
        info.labels(__version__, platform.python_version()).set(1)
        for v in Verdict:  # every result appears from the start, at 0
            self.checks.labels(str(v))


class CameraCollector(Collector):
    """Per-camera current state, read at scrape time from the daemon's view.

    `communes` gives the communes' human names (id → name), e.g. `{"tay-yen-tu": "Thị trấn Tây Yên Tử"}`;
    a commune found only in the views is named by its `CameraView.commune_name`, else by its id, so that
    `camwatch_commune_info` always lists every commune that has a camera.
    """

    def __init__(self, views: Callable[[], Iterable[CameraView]], outbox: Callable[[], dict[str, int]] | None = None,
                 communes: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None) -> None:
        self.views = views
        self.outbox = outbox
        self.communes = communes

    def describe(self) -> Iterator[Any]:
        return iter(())  # dynamic: don't let the registry call collect() at registration

    def _commune_names(self) -> dict[str, str]:
        c = self.communes
        return dict((c() if callable(c) else c) or {})

    def collect(self) -> Iterator[Any]:
        labels = ["camera", "commune"]
        up = GaugeMetricFamily("camwatch_camera_up", "1 if the last check got a usable picture, else 0.", labels=labels)
        status = GaugeMetricFamily("camwatch_camera_status",
                                   "1 for the camera's current status (unknown, ok, degraded, down, maintenance), "
                                   "0 for the others.", labels=[*labels, "status"])
        incident = GaugeMetricFamily("camwatch_camera_incident_open", "1 for the kind of the camera's open incident.",
                                     labels=[*labels, "kind"])
        def g(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"camwatch_camera_{name}", doc, labels=labels)

        gauges = {
            "last_check_ts": g("last_check_timestamp_seconds", "When the last check started."),
            "duration_s": g("check_duration_seconds", "Duration of the last check."),
            "ttff_s": g("time_to_first_frame_seconds", "Time to the first decoded frame."),
            "fps": g("fps", "Frame rate, by the frames' timestamps when they agree with their arrival, else by arrival."),
            "bitrate_bps": g("bitrate_bytes_per_second", "Stream bitrate estimate (bytes, as Prometheus prefers)."),
            "luma": g("luma_ratio", "Mean brightness of the picture, 0 to 1."),
            "sharpness_ratio": g("sharpness_ratio", "Sharpness relative to this camera's baseline (1 = normal)."),
            "clock_offset_s": g("clock_offset_seconds", "Camera clock minus server clock."),
            "recording_age_s": g("recording_age_seconds", "Age of the camera's newest recording (ONVIF Profile G)."),
            "gop_s": g("keyframe_interval_seconds", "Seconds between keyframes (GOP) as learned for this camera."),
        }
        fails = GaugeMetricFamily("camwatch_camera_consecutive_failures", "Consecutive failing checks.", labels=labels)
        acked = GaugeMetricFamily("camwatch_camera_incident_acknowledged",
                                  "1 if the camera's open incident is acknowledged, 0 if not (no series: none open).",
                                  labels=labels)
        info = InfoMetricFamily("camwatch_camera", "Camera facts; `name` is the camera's human name.",
                                labels=["camera", "commune", "name", "codec", "resolution", "model", "firmware"])
        names = self._commune_names()
        seen: dict[str, str] = {}
        n = 0
        for v in self.views():
            n += 1
            lv = [v.camera, v.commune]
            if v.verdict is not None:
                up.add_metric(lv, 0.0 if Verdict(v.verdict) in DOWN_VERDICTS else 1.0)
            for s in STATUSES:
                status.add_metric([*lv, s], 1.0 if s == v.status else 0.0)
            if v.incident_kind:
                incident.add_metric([*lv, v.incident_kind], 1.0)
                acked.add_metric(lv, 1.0 if v.acknowledged else 0.0)
            for key, fam in gauges.items():
                value = getattr(v, key)
                if value is not None:
                    fam.add_metric(lv, float(value) / {"luma": 255.0, "bitrate_bps": 8.0}.get(key, 1.0))
            fails.add_metric(lv, float(v.consecutive_failures))
            res = f"{v.width}x{v.height}" if v.width else ""
            info.add_metric(lv, {"name": v.name, "codec": v.codec or "", "resolution": res, "model": v.model or "",
                                 "firmware": v.firmware or ""})
            seen.setdefault(v.commune, v.commune_name)
        communes = InfoMetricFamily("camwatch_commune", "Commune facts; `name` is the commune's human name.",
                                    labels=["commune", "name"])
        for commune in sorted(names.keys() | seen.keys()):
            communes.add_metric([commune], {"name": names.get(commune) or seen.get(commune) or commune})
        yield from (up, status, incident, *gauges.values(), fails, acked, info, communes)
        yield GaugeMetricFamily("camwatch_cameras", "Cameras configured and monitored (not retired).", value=n)
        if self.outbox is not None:
            try:
                counts = self.outbox()
            except Exception as err:  # the database being busy or down must not break the scrape (the daemon
                log.debug("outbox counts unavailable: %s", err)  # says once that the database is unavailable)
            else:
                yield GaugeMetricFamily("camwatch_outbox_pending", "Notifications waiting to be sent.", value=counts["pending"])
                yield GaugeMetricFamily("camwatch_outbox_failed", "Notifications that failed permanently.",
                                        value=counts["failed"])


def basic_auth(app: Callable[..., Any], user: str, password: str) -> Callable[..., Any]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # as bytes: a header with non-ASCII characters is a wrong password, not a TypeError (HTTP 500)
        if hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", "").encode("utf-8", "replace"), expected.encode()):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="camwatch"'),
                                            ("Content-Type", "text/plain")])
        return [b"authentication required\n"]

    return wrapped


def serve(registry: CollectorRegistry, host: str, port: int, certfile: str | None = None, keyfile: str | None = None,
          auth: tuple[str, str] | None = None, app: Callable[..., Any] | None = None,
          timeout_s: float = TIMEOUT_S) -> tuple[Server, threading.Thread]:
    """Serve /metrics (prometheus-client's WSGI app, or `app`: the web interface's dispatcher) with optional TLS and
    basic auth, on IPv4 or IPv6; no idle or slow client blocks it (`camwatch.listener`)."""
    app = app if app is not None else make_wsgi_app(registry)
    if auth is not None:
        app = basic_auth(app, *auth)
    tls = tls_context(certfile, keyfile) if certfile and keyfile else None
    httpd = Server(host, port, app, tls, timeout_s=timeout_s)
    t = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
    t.start()
    return httpd, t
