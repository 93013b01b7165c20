"""config/cameras.toml → validated settings. Strict: unknown keys are errors, reported with path and line.

Secrets are resolved here (inline for a lab, or from the environment, or from a file such as a
systemd credential) and held as `SecretStr`, so that they never print.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from camwatch.analysis import Thresholds
from camwatch.urls import with_credentials

DEFAULT_CONFIG = Path("config/cameras.toml")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Strict):
    user: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None


class ThresholdSettings(_Strict):
    black_ratio: float = Field(Thresholds.black_ratio, gt=0, le=1)
    black_spread: float = Field(Thresholds.black_spread, ge=0)
    frozen_still_ratio: float = Field(Thresholds.frozen_still_ratio, gt=0, le=1)
    covered_ratio: float = Field(Thresholds.covered_ratio, gt=0, le=1)
    blur_ratio: float = Field(Thresholds.blur_ratio, gt=0, lt=1)
    moved_shift: float = Field(Thresholds.moved_shift, gt=0, lt=1)
    moved_rotation_deg: float = Field(Thresholds.moved_rotation_deg, gt=0)
    baseline_samples: int = Field(Thresholds.baseline_samples, ge=1)

    def thresholds(self) -> Thresholds:
        return Thresholds(**self.model_dump())


class CheckSettings(_Strict):
    interval_s: float = Field(60.0, ge=1)
    onvif_interval_s: float = Field(3600.0, ge=10)  # device facts and clock, and after every recovery
    clock_tolerance_s: float = Field(30.0, gt=0)
    recording_max_age_s: float = Field(900.0, gt=0)  # Profile G: the newest recording older than this is a fault
    deadline_s: float = Field(10.0, gt=0, le=120)
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    keyframes: int = Field(2, ge=1, le=10)
    keyframe_spacing_s: float = Field(1.5, ge=0)


class HealthSettings(_Strict):
    failures_to_open: int = Field(3, ge=1)  # down-kind verdicts
    degraded_failures_to_open: int = Field(3, ge=1)  # picture-quality verdicts
    successes_to_close: int = Field(2, ge=1)
    startup_grace_s: float = Field(0, ge=0)
    backoff_after_s: float = Field(6 * 3600, ge=0)  # a camera down this long is checked less often
    backoff_max_interval_s: float = Field(600, ge=1)
    flap_window_s: float = Field(3600, gt=0)
    flap_threshold: int = Field(4, ge=2)  # incidents opened within the window that make a camera "flapping"
    failures_by_kind: dict[str, Annotated[int, Field(ge=1)]] = {}  # e.g. {moved = 5}: per-verdict override

    @field_validator("failures_by_kind")
    @classmethod
    def _kinds(cls, v: dict[str, int]) -> dict[str, int]:
        from camwatch.model import Verdict

        bad = [k for k in v if k not in {x.value for x in Verdict} or k == "ok"]
        if bad:
            raise ValueError(f"unknown verdict(s) {', '.join(bad)}")
        return v


class Defaults(Credentials, CheckSettings):
    concurrency: int = Field(32, ge=1, le=1000)
    thresholds: ThresholdSettings = ThresholdSettings()
    health: HealthSettings = HealthSettings()


class District(_Strict):
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


class Technician(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    name: str
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = None
    language: Literal["vi", "en"] | None = None


class Commune(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    name: str
    technicians: list[str] = []
    # the commune's router/switch ("host" or "host:port", TCP): when it is unreachable, the cameras behind it
    # are reported as one upstream alert
    upstream: str | None = Field(None, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")


class Maintenance(_Strict):
    """A planned window: one-off (`start`/`end`, local ISO date-times) or daily (`daily = "01:00-02:30"`)."""

    camera: str | None = None
    commune: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    daily: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    reason: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Maintenance:
        if (self.camera is None) == (self.commune is None):
            raise ValueError("give exactly one of `camera` or `commune`")
        if self.daily is None and (self.start is None or self.end is None):
            raise ValueError("give `start` and `end`, or `daily`")
        if self.daily is not None and (self.start is not None or self.end is not None):
            raise ValueError("give `start` and `end`, or `daily`, not both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        return self


class OnvifSettings(Credentials):
    host: str
    port: int = Field(80, ge=1, le=65535)
    profile: str | None = None  # a profile token or name; default: the lowest-resolution H.264/H.265 one


class Camera(Credentials):
    id: Annotated[str, Field(pattern=_ID)]
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
        return _camera_url(v, ("http", "https"), "http(s)")

    @field_validator("rtsp_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return _camera_url(v, ("rtsp", "rtsps"), "rtsp")


def _camera_url(v: str | None, schemes: tuple[str, ...], shown: str) -> str | None:
    """A camera address: the right scheme, a host, a valid port, and no credentials in it."""
    if v is None:
        return v
    parts = urlsplit(v)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be {shown}://host[:port]/path")
    if "@" in parts.netloc:
        raise ValueError("put the user and password in `user` and `password_env`/`password_file`, not in the URL")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as err:
        raise ValueError(f"bad port: {err}") from None
    return v


class MetricsSettings(_Strict):
    enabled: bool = True
    listen: str = Field("127.0.0.1:9834", pattern=r"^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$")  # host:port; "0.0.0.0:9834" = all
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    basic_auth_user: str | None = None
    basic_auth_password_env: str | None = None
    basic_auth_password_file: Path | None = None

    @model_validator(mode="after")
    def _pairs(self) -> MetricsSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        has_pw = self.basic_auth_password_env is not None or self.basic_auth_password_file is not None
        if (self.basic_auth_user is None) != (not has_pw):
            raise ValueError("basic auth needs basic_auth_user and basic_auth_password_env or _file")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    def basic_auth_password(self) -> str | None:
        if self.basic_auth_password_env:
            value = os.environ.get(self.basic_auth_password_env)
            if value is None:
                raise ValueError(f"metrics.basic_auth_password_env: {self.basic_auth_password_env} is not set")
            return value
        if self.basic_auth_password_file:
            return self.basic_auth_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None


class SmtpSettings(_Strict):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = Field("camwatch <camwatch@localhost>", alias="from")
    timeout_s: float = Field(20.0, gt=0, le=300)

    def password(self) -> str | None:
        return _password(Credentials(password_env=self.password_env, password_file=self.password_file), None) \
            .get_secret_value() if (self.password_env or self.password_file) else None


class AlertSettings(_Strict):
    degraded_delay_s: float = Field(1800, ge=0)  # picture problems may wait: sent only if still open then
    group_window_s: float = Field(60, ge=0)  # cameras of one commune going down within this are grouped
    group_threshold: int = Field(3, ge=2)  # this many of one commune at once: one "commune cut off" email
    reminder_every_h: float = Field(24, gt=0)
    escalate_after_h: float = Field(48, gt=0)
    escalation: list[str] = []  # technician ids of the district team
    grafana_url: str | None = None  # link in emails, e.g. https://grafana.example/d/camwatch
    max_attempts: int = Field(50, ge=1)
    claim_timeout_s: float = Field(300, gt=0)  # a claimed email not marked sent after this is retried
    daily_digest_at: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time of a daily summary


class ReportSettings(_Strict):
    monthly_to: list[str] = []  # technician ids who get the previous month's report on the 1st
    format: Literal["xlsx", "pdf", "html", "csv"] = "xlsx"


class ConfigFile(_Strict):
    district: District = District()
    metrics: MetricsSettings = MetricsSettings()
    smtp: SmtpSettings | None = None
    alerts: AlertSettings = AlertSettings()
    report: ReportSettings = ReportSettings()
    defaults: Defaults = Defaults()
    technicians: list[Technician] = []
    communes: list[Commune] = []
    cameras: list[Camera] = []
    maintenance: list[Maintenance] = []


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}"


class ConfigError(Exception):
    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source, self.issues = source, issues
        super().__init__(f"{source}: {len(issues)} error(s)\n" + "\n".join(f"  {i}" for i in issues))


@dataclass(frozen=True)
class ResolvedCamera:
    """A camera with everything a check needs: settings merged, password resolved (never printed)."""

    cfg: Camera
    commune: Commune
    check: CheckSettings
    user: str | None
    password: SecretStr | None
    onvif_user: str | None = None
    onvif_password: SecretStr | None = None

    @property
    def id(self) -> str:
        return self.cfg.id

    @property
    def source(self) -> str:
        if self.cfg.source:
            return self.cfg.source
        return "rtsp" if self.cfg.rtsp_url or self.cfg.onvif else "snapshot"

    def url(self, discovered: str | None = None) -> str:
        """The URL with credentials, for the probe only (the configured one, or the one ONVIF gave)."""
        base = self.cfg.rtsp_url or discovered
        if base is None:
            raise ValueError(f"camera {self.id}: no stream address yet")
        parts = urlsplit(base)
        if parts.username:  # a device that hands out its URI with credentials in it: ours replace them
            base = base.replace(parts.netloc, parts.netloc.rsplit("@", 1)[1], 1)
        return with_credentials(base, self.user, self.password.get_secret_value() if self.password else None)

    def __repr__(self) -> str:
        return f"ResolvedCamera({self.id!r})"


@dataclass(frozen=True)
class Config:
    file: ConfigFile
    source: str
    cameras: dict[str, ResolvedCamera]  # active (not retired), in file order

    @property
    def district(self) -> District:
        return self.file.district

    @property
    def thresholds(self) -> Thresholds:
        return self.file.defaults.thresholds.thresholds()

    @property
    def health(self) -> HealthSettings:
        return self.file.defaults.health

    def commune(self, commune_id: str) -> Commune:
        return next(c for c in self.file.communes if c.id == commune_id)

    def maintenance_windows(self, camera_id: str, commune: str, start: dt.datetime,
                            end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The config's planned windows for one camera over [start, end), as UTC intervals."""
        tz = ZoneInfo(self.district.timezone)
        out = []
        for m in self.file.maintenance:
            if m.camera != camera_id and m.commune != commune:
                continue
            if m.start is not None and m.end is not None:
                a, b = (x if x.tzinfo else x.replace(tzinfo=tz) for x in (m.start, m.end))
                out.append((a.astimezone(dt.UTC), b.astimezone(dt.UTC)))
            elif m.daily:
                (h1, m1), (h2, m2) = (map(int, t.split(":")) for t in m.daily.split("-"))
                day = start.astimezone(tz).date() - dt.timedelta(days=1)
                while dt.datetime.combine(day, dt.time(0), tz) < end:
                    a = dt.datetime.combine(day, dt.time(h1, m1), tz)
                    b = dt.datetime.combine(day + dt.timedelta(days=1) if (h2, m2) <= (h1, m1) else day, dt.time(h2, m2), tz)
                    out.append((a.astimezone(dt.UTC), b.astimezone(dt.UTC)))
                    day += dt.timedelta(days=1)
        return [(a, b) for a, b in out if b > start and a < end]

    @property
    def state_dir(self) -> Path:
        d = self.file.district.state_dir
        return d if d.is_absolute() else (Path(self.source).resolve().parent.parent / d if self.source != "<string>" else d)

    @property
    def database_url(self) -> str:
        return self.file.district.database_url or f"sqlite:///{self.state_dir / 'camwatch.db'}"


def load(path: Path | str = DEFAULT_CONFIG, secrets: bool = True) -> Config:
    """Load and validate; `secrets=False` skips resolving passwords (for commands that never connect)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), [ConfigIssue("", None, f"cannot read the file: {err.strerror}")]) from None
    except UnicodeDecodeError as err:
        raise ConfigError(str(path), [ConfigIssue("", None, f"not UTF-8 ({err.reason} at byte {err.start})")]) from None
    return loads(text, str(path), base_dir=path.resolve().parent, secrets=secrets)


def loads(text: str, source: str = "<string>", base_dir: Path | None = None, secrets: bool = True) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise ConfigError(source, [ConfigIssue("", int(m.group(1)) if m else None, f"not valid TOML: {err}")]) from None
    try:
        cf = ConfigFile.model_validate(raw)
    except ValidationError as err:
        issues = []
        for e in err.errors():
            loc = _path(e["loc"])
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
            issues.append(ConfigIssue(loc, locate(text, e["loc"]), msg))
        raise ConfigError(source, issues) from None
    issues = _cross_check(cf, text)
    cameras: dict[str, ResolvedCamera] = {}
    try:
        default_password = _password(cf.defaults, base_dir) if secrets else None
    except ValueError as err:  # reported once, here, not for every camera that inherits it
        default_password = None
        key = str(err).split(":", 1)[0]
        issues.append(ConfigIssue(f"defaults.{key}", locate(text, ("defaults", key)), str(err).split(": ", 1)[1]))
    if cf.smtp is not None and secrets:
        try:
            cf.smtp.password()
        except ValueError as err:
            issues.append(ConfigIssue("smtp.password_env", locate(text, ("smtp", "password_env")),
                                      str(err).split(": ", 1)[-1]))
    for i, cam in enumerate(cf.cameras):
        if cam.retired or any(x.path.startswith(f"cameras[{i}]") for x in issues):
            continue
        try:
            own = cam.password is not None or cam.password_env is not None or cam.password_file is not None
            password = (_password(cam, base_dir) if own else default_password) if secrets else None
            user = cam.user or cf.defaults.user
        except ValueError as err:
            issues.append(ConfigIssue(f"cameras[{i}] ({cam.id})", locate(text, ("cameras", i, "id")), str(err)))
            continue
        merged = {k: getattr(cam, k) for k in ("interval_s", "deadline_s", "keyframes") if getattr(cam, k) is not None}
        check = CheckSettings(**{**cf.defaults.model_dump(include=set(CheckSettings.model_fields)), **merged})
        ouser, opass = user, password
        if cam.onvif is not None:
            try:
                own_onvif = any(x is not None for x in (cam.onvif.password, cam.onvif.password_env, cam.onvif.password_file))
                ouser = cam.onvif.user or user
                opass = (_password(cam.onvif, base_dir) if own_onvif else password) if secrets else None
            except ValueError as err:
                issues.append(ConfigIssue(f"cameras[{i}].onvif", locate(text, ("cameras", i, "onvif")), str(err)))
                continue
        cameras[cam.id] = ResolvedCamera(cam, next(c for c in cf.communes if c.id == cam.commune), check, user, password,
                                         ouser, opass)
    if issues:
        raise ConfigError(source, issues)
    return Config(cf, source, cameras)


def _password(src: Credentials, base_dir: Path | None) -> SecretStr | None:
    if src.password is not None:
        return src.password
    if src.password_env is not None:
        value = os.environ.get(src.password_env)
        if value is None:
            raise ValueError(f"password_env: the environment variable {src.password_env} is not set")
        return SecretStr(value)
    if src.password_file is not None:
        p = src.password_file
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        try:
            return SecretStr(p.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as err:
            raise ValueError(f"password_file: cannot read {p}: {err.strerror}") from None
    return None


def _cross_check(cf: ConfigFile, text: str) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    techs = {t.id for t in cf.technicians}
    communes = {c.id for c in cf.communes}
    for kind, items in (("technicians", cf.technicians), ("communes", cf.communes), ("cameras", cf.cameras)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                issues.append(ConfigIssue(f"{kind}[{i}].id", locate(text, (kind, i, "id")), f"duplicate id {item.id!r}"))
            seen.add(item.id)
    for i, c in enumerate(cf.communes):
        for t in c.technicians:
            if t not in techs:
                issues.append(ConfigIssue(f"communes[{i}].technicians", locate(text, ("communes", i, "technicians")),
                                          f"unknown technician {t!r}"))
    for section, key, ids in (("alerts", "escalation", cf.alerts.escalation), ("report", "monthly_to", cf.report.monthly_to)):
        for t in ids:
            if t not in techs:
                issues.append(ConfigIssue(f"{section}.{key}", locate(text, (section, key)), f"unknown technician {t!r}"))
    cam_ids = {c.id for c in cf.cameras}
    for i, m in enumerate(cf.maintenance):
        if m.camera is not None and m.camera not in cam_ids:
            issues.append(ConfigIssue(f"maintenance[{i}].camera", locate(text, ("maintenance", i, "camera")),
                                      f"unknown camera {m.camera!r}"))
        if m.commune is not None and m.commune not in communes:
            issues.append(ConfigIssue(f"maintenance[{i}].commune", locate(text, ("maintenance", i, "commune")),
                                      f"unknown commune {m.commune!r}"))
    for i, cam in enumerate(cf.cameras):
        if cam.commune not in communes:
            issues.append(ConfigIssue(f"cameras[{i}].commune", locate(text, ("cameras", i, "commune")),
                                      f"unknown commune {cam.commune!r} (camera {cam.id})"))
        for t in cam.technicians:
            if t not in techs:
                issues.append(ConfigIssue(f"cameras[{i}].technicians", locate(text, ("cameras", i, "technicians")),
                                          f"unknown technician {t!r}"))
    return issues


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of a key path in a conventional TOML file: `[[array]]` tables and `key = value` lines."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    parts = [p for p in loc if isinstance(p, str | int)]
    table = ""
    i = 0
    while i < len(parts):
        part = parts[i]
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        if isinstance(part, str) and isinstance(nxt, int):  # [[table]] number nxt
            name = f"{table}.{part}" if table else part
            hits = [n for n in range(start, end) if re.match(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]", lines[n])]
            if nxt >= len(hits):
                return None
            start = hits[nxt]
            end = hits[nxt + 1] if nxt + 1 < len(hits) else _next_table(lines, start + 1, end)
            table = name
            i += 2
            continue
        if isinstance(part, str):
            name = f"{table}.{part}" if table else part
            header = [n for n in range(start, end) if re.match(rf"^\s*\[\s*{re.escape(name)}\s*\]", lines[n])]
            if header:
                start, end, table = header[0], _next_table(lines, header[0] + 1, len(lines)), name
                i += 1
                continue
            key = [n for n in range(start, end) if re.match(rf"^\s*{re.escape(part)}\s*=", lines[n])]
            return key[0] + 1 if key else start + 1
        i += 1
    return start + 1


def _next_table(lines: list[str], start: int, end: int) -> int:
    return next((n for n in range(start, end) if re.match(r"^\s*\[", lines[n])), end)
