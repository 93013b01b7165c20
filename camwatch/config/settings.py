"""The validated settings: one pydantic model per concept, defaults next to their fields.

These models are what the code uses (the analysis takes `Thresholds`, the state machine `HealthSettings`,
the probes `CheckSettings`): nothing is copied field by field. Strict: unknown keys are errors.
No I/O here; secrets are resolved by `camwatch.config.load`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from camwatch.config.base import ID_PATTERN, Credentials, Strict
from camwatch.config.thresholds import Thresholds
from camwatch.model import Verdict
from camwatch.urls import check_url

_TIME = r"([01]\d|2[0-3]):[0-5]\d"


class CheckSettings(Strict):
    """How one camera is checked; also what every probe takes (one settings type for every picture source)."""

    interval_s: float = Field(60.0, ge=1)
    onvif_interval_s: float = Field(3600.0, ge=10)  # device facts and clock, and after every recovery
    clock_tolerance_s: float = Field(30.0, gt=0)
    recording_max_age_s: float = Field(900.0, gt=0)  # Profile G: the newest recording older than this is a fault
    deadline_s: float = Field(10.0, gt=0, le=120)  # a check of a camera with a short GOP takes at most this
    max_deadline_s: float = Field(30.0, gt=0, le=120)  # a long-GOP camera's check may take up to this (its learned GOP)
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    keyframes: int = Field(2, ge=1, le=10)
    # once freezing is judged across checks (this camera's change from one check to the next is learned and its
    # last picture is recent, under 3 intervals old), a check stops after this many keyframes when they show a
    # live picture beyond doubt (`frozen_second_look`), and reads up to `keyframes` only when freezing is in
    # doubt: on the detection corpus 1.18 keyframes a check, no verdict worse than reading two (bench/README.md)
    keyframes_when_recent: int = Field(1, ge=1, le=10)
    keyframe_spacing_s: float = Field(1.5, ge=0)
    # RTSP's media transport: auto tries TCP, falls back to UDP on "461 Unsupported transport", remembers what worked;
    # http tunnels RTSP over HTTP
    transport: Literal["auto", "tcp", "udp", "http"] = "auto"
    transport_first: Literal["tcp", "udp", "http"] | None = None  # set per check from the learned profile


class HealthSettings(Strict):
    """The state machine's policy: hysteresis, flapping, back-off (`[defaults.health]`)."""

    failures_to_open: int = Field(3, ge=1)  # down-kind verdicts
    degraded_failures_to_open: int = Field(3, ge=1)  # picture-quality verdicts
    successes_to_close: int = Field(2, ge=1)
    startup_grace_s: float = Field(0, ge=0)
    backoff_after_s: float = Field(6 * 3600, ge=0)  # a camera down this long is checked less often
    backoff_max_interval_s: float = Field(600, ge=1)
    flap_window_s: float = Field(3600, gt=0)
    flap_threshold: int = Field(4, ge=2)  # incidents opened within the window that make a camera "flapping"
    # a flapping camera is stable again (one summary email) after this long without a change of status;
    # default: flap_window_s
    flap_stable_s: float | None = Field(None, gt=0)
    failures_by_kind: dict[str, Annotated[int, Field(ge=1)]] = {}  # e.g. {moved = 5}: per-verdict override

    @field_validator("failures_by_kind")
    @classmethod
    def _kinds(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k in v if k not in {x.value for x in Verdict} or k == "ok"]
        if bad:
            raise ValueError(f"unknown verdict(s) {', '.join(bad)}")
        return v


class Defaults(Credentials, CheckSettings):
    concurrency: int = Field(32, ge=1, le=1000)
    thresholds: Thresholds = Thresholds()
    health: HealthSettings = HealthSettings()


class District(Strict):
    name: str = "camwatch"
    timezone: str = "Asia/Ho_Chi_Minh"
    language: Literal["vi", "en"] = "vi"
    state_dir: Path = Path("state")
    database_url: str | None = None
    node_id: str | None = None
    retention_days: int = Field(90, ge=1)  # raw checks kept this long, then rolled up per hour
    lease_ttl_intervals: float = Field(2.0, ge=1)  # several nodes: a silent node's cameras move after this
    node_communes: list[str] = []  # several nodes: communes this node checks first

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class StorageSettings(Strict):  # [storage]: the state directory's space (pictures give way first; storage.py)
    pictures_min_free_mb: float = Field(1024, ge=0)  # below this much free space no picture is written
    reserve_mb: float = Field(256, ge=0)  # held in a file for the database, released when the disk fills

    @model_validator(mode="after")
    def _order(self) -> StorageSettings:
        if self.reserve_mb > self.pictures_min_free_mb:
            raise ValueError("reserve_mb must not exceed pictures_min_free_mb (pictures stop before the reserve goes)")
        return self


class Technician(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = None
    language: Literal["vi", "en"] | None = None
    channels: list[Literal["email", "webhook"]] = ["email"]  # how this technician is told (webhook: [webhook])


class Commune(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    technicians: list[str] = []
    # the commune's router/switch ("host" or "host:port", TCP): when it is unreachable, the cameras behind it
    # are reported as one upstream alert
    upstream: str | None = Field(None, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = "(" + "|".join(WEEKDAYS) + ")"


class Maintenance(Strict):
    """A planned window: one-off (`start`/`end`, local ISO date-times), daily (`daily = "01:00-02:30"`) or
    weekly on some days (`weekly = "sat,sun 07:00-11:30"`, e.g. a commune's scheduled power cut). Local
    times; a window whose end is before its start runs past midnight (and starts on the day named)."""

    camera: str | None = None
    commune: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    daily: str | None = Field(None, pattern=rf"^{_TIME}-{_TIME}$")
    weekly: str | None = Field(None, pattern=rf"^{_DAY}(,{_DAY})* {_TIME}-{_TIME}$")
    reason: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Maintenance:
        if (self.camera is None) == (self.commune is None):
            raise ValueError("give exactly one of `camera` or `commune`")
        forms = (self.start is not None or self.end is not None) + (self.daily is not None) + (self.weekly is not None)
        if forms != 1 or (self.start is None) != (self.end is None):
            raise ValueError("give `start` and `end`, or `daily`, or `weekly` (one of them)")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        return self

    def windows(self, tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """This window's occurrences overlapping [start, end), as UTC intervals."""
        out = []
        if self.start is not None and self.end is not None:
            a, b = (x if x.tzinfo else x.replace(tzinfo=tz) for x in (self.start, self.end))
            out.append((a.astimezone(dt.UTC), b.astimezone(dt.UTC)))
        elif self.daily or self.weekly:
            days, _, times = (self.weekly or "").rpartition(" ") if self.weekly else ("", "", self.daily or "")
            on = {WEEKDAYS.index(d) for d in days.split(",")} if days else set(range(7))
            (h1, m1), (h2, m2) = (map(int, t.split(":")) for t in times.split("-"))
            day = start.astimezone(tz).date() - dt.timedelta(days=1)
            while dt.datetime.combine(day, dt.time(0), tz) < end:
                if day.weekday() not in on:
                    day += dt.timedelta(days=1)
                    continue
                a = dt.datetime.combine(day, dt.time(h1, m1), tz)
                b = dt.datetime.combine(day + dt.timedelta(days=1) if (h2, m2) <= (h1, m1) else day, dt.time(h2, m2), tz)
                out.append((a.astimezone(dt.UTC), b.astimezone(dt.UTC)))
                day += dt.timedelta(days=1)
        return [(a, b) for a, b in out if b > start and a < end]


class OnvifSettings(Credentials):
    host: str
    port: int = Field(80, ge=1, le=65535)
    profile: str | None = None  # a profile token or name; default: the lowest-resolution H.264/H.265 one


def camera_url(v: str | None, schemes: tuple[str, ...], shown: str) -> str | None:
    """A camera address: the right scheme, a host, a valid port, and no credentials in it (the scheme in lower
    case). Errors never quote the address: what looks like its port may be a password's tail."""
    if v is None:
        return v
    return check_url(v, schemes, "put the user and password in `user` and `password_env`/`password_file`, "
                                 "not in the URL", shown)


class Camera(Credentials):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    commune: str
    location: str = ""
    gps: tuple[float, float] | None = None
    rtsp_url: str | None = None  # the stream to check; without it, found through ONVIF
    onvif: OnvifSettings | None = None
    snapshot_url: str | None = None  # http(s) JPEG snapshot; with source = "snapshot" it is checked instead of RTSP
    source: Literal["rtsp", "snapshot"] | None = None  # default: rtsp when rtsp_url or onvif is given
    tags: list[str] = []
    technicians: list[str] = []
    retired: bool = False
    interval_s: float | None = Field(None, ge=1)
    deadline_s: float | None = Field(None, gt=0, le=120)
    keyframes: int | None = Field(None, ge=1, le=10)
    transport: Literal["auto", "tcp", "udp", "http"] | None = None

    @model_validator(mode="after")
    def _source(self) -> Camera:
        if self.rtsp_url is None and self.onvif is None and self.snapshot_url is None:
            raise ValueError("give `rtsp_url`, `snapshot_url`, or `onvif = { host = … }` to find the stream")
        if self.source == "snapshot" and self.snapshot_url is None and self.onvif is None:
            raise ValueError("source = \"snapshot\" needs `snapshot_url` or `onvif`")
        if self.source == "rtsp" and self.rtsp_url is None and self.onvif is None:
            raise ValueError("source = \"rtsp\" needs `rtsp_url` or `onvif`")
        return self

    @field_validator("snapshot_url")
    @classmethod
    def _snapshot_url(cls, v: str | None) -> str | None:
        return camera_url(v, ("http", "https"), "http(s)")

    @field_validator("rtsp_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return camera_url(v, ("rtsp", "rtsps"), "rtsp")

    @property
    def overrides(self) -> dict[str, float | int | str]:
        """The check settings this camera sets for itself."""
        keys = ("interval_s", "deadline_s", "keyframes", "transport")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class MetricsSettings(Strict):
    enabled: bool = True
    listen: str = Field("127.0.0.1:9834", pattern=r"^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$")  # host:port; "0.0.0.0:9834" = all
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    basic_auth: Credentials | None = None  # { user = "prometheus", password_env = "…" } or password_file

    @field_validator("listen")
    @classmethod
    def _address(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"port {int(port)} is out of range 1-65535")
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                raise ValueError(f"{host} is not an IPv6 address") from None
        return v

    @model_validator(mode="after")
    def _pairs(self) -> MetricsSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        if self.basic_auth is not None and (self.basic_auth.user is None or not self.basic_auth.has_password):
            raise ValueError("basic_auth needs `user` and `password_env` or `password_file`")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    @property
    def loopback(self) -> bool:
        """Whether the listener is reachable from this machine only."""
        host = self.host_port[0]
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


class WebSettings(Strict):
    """`[web]`: the status pages in the browser, served on the metrics listener (its TLS and basic auth).

    Default: on when the listener is loopback only, off otherwise. On a listener other hosts can reach, the
    pages need `[metrics].basic_auth`, or `allow_unauthenticated = true` (pages without pictures or actions)."""

    enabled: bool | None = None
    allow_unauthenticated: bool = False
    refresh_s: float = Field(15.0, ge=2, le=3600)  # how often an open page asks for the current state
    availability_refresh_s: float = Field(300.0, ge=10)  # how often the availability figures are recomputed

    def active(self, metrics: MetricsSettings) -> bool:
        if not metrics.enabled:
            return False
        return metrics.loopback if self.enabled is None else self.enabled


class SmtpSettings(Credentials):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str = Field("camwatch <camwatch@localhost>", alias="from")
    timeout_s: float = Field(20.0, gt=0, le=300)


class AlertSettings(Strict):
    degraded_delay_s: float = Field(1800, ge=0)  # picture problems may wait: sent only if still open then
    group_window_s: float = Field(60, ge=0)  # cameras of one commune going down within this are grouped
    group_threshold: int = Field(3, ge=2)  # this many of one commune at once: one "commune cut off" email
    reminder_every_h: float = Field(24, gt=0)
    escalate_after_h: float = Field(48, gt=0)
    escalation: list[str] = []  # technician ids of the district team
    grafana_url: str | None = None  # link in emails, e.g. https://grafana.example/d/camwatch
    max_attempts: int = Field(50, ge=1)  # the server's refusals of one email before it fails (an outage never counts)
    # a claimed email not marked sent after this is sent again (at once when its sender, on this machine, is dead)
    claim_timeout_s: float = Field(300, gt=0)
    daily_digest_at: str | None = Field(None, pattern=rf"^{_TIME}$")  # local time of a daily summary


class Signer(Strict):
    """One signature of the report: the role printed above the space to sign, the name below it."""

    title: str = Field(min_length=1)  # "Người lập biểu", "Thủ trưởng đơn vị"
    name: str = ""


class WebhookSettings(Credentials):
    """A JSON POST per notification to `url` (a bridge to Zalo, Telegram or an SMS gateway), signed with
    HMAC-SHA256 with the key from `password_env`/`password_file` (header `X-Camwatch-Signature`)."""

    url: str = Field(pattern=r"^https?://[^\s@]+$")
    timeout_s: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _key(self) -> WebhookSettings:
        if not self.has_password:
            raise ValueError("give the signing key: `password_env` or `password_file`")
        return self


class ReportSettings(Strict):
    """`[report]`: the monthly email and the heading and signatures of an administrative report."""

    monthly_to: list[str] = []  # technician ids who get the previous month's report on the 1st
    format: Literal["xlsx", "pdf", "html", "csv"] = "xlsx"
    unit: str | None = None  # the issuing unit, top left: "CÔNG AN HUYỆN SƠN ĐỘNG"
    parent_unit: str | None = None  # above it: "CÔNG AN TỈNH BẮC GIANG"
    place: str | None = None  # the date line: "Sơn Động, ngày 02 tháng 4 năm 2024"
    signers: list[Signer] | None = Field(None, max_length=4)  # default: Người lập biểu, Thủ trưởng đơn vị


class ConfigFile(Strict):
    district: District = District()
    storage: StorageSettings = StorageSettings()
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    alerts: AlertSettings = AlertSettings()
    report: ReportSettings = ReportSettings()
    defaults: Defaults = Defaults()
    technicians: list[Technician] = []
    communes: list[Commune] = []
    cameras: list[Camera] = []
    maintenance: list[Maintenance] = []
