"""config/cameras.toml → a `Config`: validated, cross-checked, secrets resolved; every error with its line.

Secrets (inline for a lab, from the environment, or from a file such as a systemd credential) are
resolved once, here, by one function, and held as `SecretStr` so that they never print.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from camwatch.config.settings import (
    Camera,
    CheckSettings,
    Commune,
    ConfigFile,
    Credentials,
    District,
    HealthSettings,
    OnvifSettings,
    Thresholds,
)

DEFAULT_CONFIG = Path("config/cameras.toml")


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class ConfigError(Exception):
    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source, self.issues = source, issues
        super().__init__(f"{source}: {len(issues)} error(s)\n" + "\n".join(f"  {i}" for i in issues))


class SecretError(ValueError):
    """A password that cannot be resolved; `key` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def resolve_secret(cred: Credentials, base_dir: Path | None) -> SecretStr | None:
    """The password of any `Credentials` (camera, ONVIF, SMTP, metrics), or None when it has none."""
    if cred.password is not None:
        return cred.password
    if cred.password_env is not None:
        value = os.environ.get(cred.password_env)
        if value is None:
            raise SecretError("password_env", f"the environment variable {cred.password_env} is not set")
        return SecretStr(value)
    if cred.password_file is not None:
        # a relative name is a systemd credential (LoadCredential=) inside the unit, else a file beside the config
        p = cred.password_file
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if not p.is_absolute() and creds and (Path(creds) / p).exists():
            p = Path(creds) / p
        elif not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        try:
            return SecretStr(p.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as err:
            raise SecretError("password_file", f"cannot read {p}: {err.strerror}") from None
    return None


@dataclass(frozen=True)
class ResolvedCamera:
    """A camera with everything a check needs: settings merged, passwords resolved (never printed)."""

    cfg: Camera
    commune: Commune
    check: CheckSettings
    user: str | None
    password: SecretStr | None = field(repr=False)
    onvif_user: str | None = None
    onvif_password: SecretStr | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.cfg.id

    @property
    def source(self) -> str:
        if self.cfg.source:
            return self.cfg.source
        return "rtsp" if self.cfg.rtsp_url or self.cfg.onvif else "snapshot"

    @property
    def row(self) -> dict[str, str]:
        """What the database mirrors of the camera."""
        return {"id": self.id, "commune": self.cfg.commune, "name": self.cfg.name, "location": self.cfg.location}

    def __repr__(self) -> str:
        return f"ResolvedCamera({self.id!r})"


def adhoc_camera(label: str, *, rtsp_url: str | None = None, onvif: tuple[str, int] | None = None,
                 user: str | None = None, password: str | None = None, check: CheckSettings | None = None,
                 ) -> ResolvedCamera:
    """A camera that is not in the config (`camwatch check --url`/`--onvif`): the same pipeline checks it."""
    cam = Camera.model_construct(
        id=label, name=label, commune="", rtsp_url=rtsp_url, snapshot_url=None, source=None, location="",
        onvif=OnvifSettings.model_construct(host=onvif[0], port=onvif[1], profile=None) if onvif else None)
    secret = SecretStr(password) if password is not None else None
    return ResolvedCamera(cam, Commune.model_construct(id="", name="", technicians=[], upstream=None),
                          check or CheckSettings(), user, secret, user, secret)


@dataclass(frozen=True)
class Config:
    file: ConfigFile
    source: str
    cameras: dict[str, ResolvedCamera]  # active (not retired), in file order
    smtp_password: SecretStr | None = field(default=None, repr=False)
    metrics_password: SecretStr | None = field(default=None, repr=False)
    webhook_key: SecretStr | None = field(default=None, repr=False)  # the HMAC key of [webhook]

    @property
    def district(self) -> District:
        return self.file.district

    @property
    def thresholds(self) -> Thresholds:
        return self.file.defaults.thresholds

    @property
    def health(self) -> HealthSettings:
        return self.file.defaults.health

    @property
    def commune_ids(self) -> set[str]:
        return {c.id for c in self.file.communes}

    def commune(self, commune_id: str) -> Commune:
        return next(c for c in self.file.communes if c.id == commune_id)

    def maintenance_windows(self, camera_id: str, commune: str, start: dt.datetime,
                            end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The config's planned windows for one camera over [start, end), as UTC intervals."""
        tz = self.district.tz
        return [w for m in self.file.maintenance if m.camera == camera_id or m.commune == commune
                for w in m.windows(tz, start, end)]

    @property
    def state_dir(self) -> Path:
        d = self.file.district.state_dir
        return d if d.is_absolute() else (Path(self.source).resolve().parent.parent / d if self.source != "<string>" else d)

    @property
    def database_url(self) -> str:
        return self.file.district.database_url or f"sqlite:///{self.state_dir / 'camwatch.db'}"


@dataclass(frozen=True)
class Changes:
    """What a reload changes: cameras added, removed, or checked at a new interval; what only a restart changes."""

    added: list[str]
    removed: list[str]
    new_interval: list[str]
    needs_restart: list[str]


def changes(old: Config, new: Config) -> Changes:
    """Pure: the difference between the running configuration and a new one."""
    restart = [k for k in ("database_url", "state_dir") if getattr(new, k) != getattr(old, k)]
    if new.file.metrics != old.file.metrics:
        restart.append("[metrics]")
    if new.file.storage != old.file.storage:
        restart.append("[storage]")
    if new.file.web != old.file.web:
        restart.append("[web]")
    if new.file.defaults.concurrency != old.file.defaults.concurrency:
        restart.append("concurrency")
    return Changes([c for c in new.cameras if c not in old.cameras], [c for c in old.cameras if c not in new.cameras],
                   [c for c, cam in new.cameras.items()
                    if c in old.cameras and cam.check.interval_s != old.cameras[c].check.interval_s], restart)


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
    text = text.removeprefix("\ufeff")  # a byte-order mark, as Windows editors write one
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise ConfigError(source, [ConfigIssue("", int(m.group(1)) if m else None, f"not valid TOML: {err}")]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(source, [ConfigIssue("", None, "not valid TOML: arrays or tables nested too deeply")]) from None
    try:
        cf = ConfigFile.model_validate(raw)
    except ValidationError as err:
        where = KeyLines(text)
        issues = []
        for e in err.errors():
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, ")
            issues.append(ConfigIssue(_path(e["loc"]), where.locate(e["loc"]), msg))
        raise ConfigError(source, issues) from None
    lines = KeyLines(text)
    issues = _cross_check(cf, lines)

    def secret(cred: Credentials | None, where: tuple[Any, ...], shown: str | None = None) -> SecretStr | None:
        """Resolve one secret; an error becomes a config issue at its key."""
        if cred is None or not secrets:
            return None
        try:
            return resolve_secret(cred, base_dir)
        except SecretError as err:
            loc = (*where, err.key) if shown is None else where
            issues.append(ConfigIssue(shown or _path(loc), lines.locate(loc), err.message if shown is None else str(err)))
            raise

    def quiet(cred: Credentials | None, where: tuple[Any, ...], shown: str | None = None) -> SecretStr | None:
        try:
            return secret(cred, where, shown)
        except SecretError:
            return None

    default_password = quiet(cf.defaults, ("defaults",))  # reported once, not for every camera that inherits it
    smtp_password = quiet(cf.smtp, ("smtp",))
    metrics_password = quiet(cf.metrics.basic_auth, ("metrics", "basic_auth"))
    webhook_key = quiet(cf.webhook, ("webhook",))
    cameras: dict[str, ResolvedCamera] = {}
    faulty = {x.path.partition("]")[0] + "]" for x in issues if x.path.startswith("cameras[")}
    for i, cam in enumerate(cf.cameras):
        if cam.retired or f"cameras[{i}]" in faulty:
            continue
        try:
            password = secret(cam, ("cameras", i, "id"), f"cameras[{i}] ({cam.id})") if cam.has_password \
                else default_password
            user = cam.user or cf.defaults.user
            ouser, opass = user, password
            if cam.onvif is not None:
                ouser = cam.onvif.user or user
                if cam.onvif.has_password:
                    opass = secret(cam.onvif, ("cameras", i, "onvif"), f"cameras[{i}].onvif")
        except SecretError:
            continue
        check = cf.defaults.model_dump(include=set(CheckSettings.model_fields))
        cameras[cam.id] = ResolvedCamera(cam, next(c for c in cf.communes if c.id == cam.commune),
                                         CheckSettings(**{**check, **cam.overrides}), user, password, ouser, opass)
    if issues:
        raise ConfigError(source, issues)
    return Config(cf, source, cameras, smtp_password, metrics_password, webhook_key)


def _cross_check(cf: ConfigFile, where: KeyLines) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []

    def unknown(loc: tuple[Any, ...], what: str, value: str, extra: str = "") -> None:
        issues.append(ConfigIssue(_path(loc), where.locate(loc), f"unknown {what} {value!r}{extra}"))

    techs = {t.id for t in cf.technicians}
    communes = {c.id for c in cf.communes}
    for kind, items in (("technicians", cf.technicians), ("communes", cf.communes), ("cameras", cf.cameras)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                issues.append(ConfigIssue(f"{kind}[{i}].id", where.locate((kind, i, "id")), f"duplicate id {item.id!r}"))
            seen.add(item.id)
    for i, c in enumerate(cf.communes):
        for t in c.technicians:
            if t not in techs:
                unknown(("communes", i, "technicians"), "technician", t)
    for section, key, ids in (("alerts", "escalation", cf.alerts.escalation), ("report", "monthly_to", cf.report.monthly_to)):
        for t in ids:
            if t not in techs:
                unknown((section, key), "technician", t)
    for i, t in enumerate(cf.technicians):
        if "webhook" in t.channels and cf.webhook is None:
            issues.append(ConfigIssue(f"technicians[{i}].channels", where.locate(("technicians", i, "channels")),
                                      "the webhook channel needs a [webhook] section"))
    if cf.web.enabled:
        web_line = where.locate(("web", "enabled"))
        if not cf.metrics.enabled:
            issues.append(ConfigIssue("web.enabled", web_line,
                                      "the web pages are served on the metrics listener: [metrics] enabled = false"))
        elif not cf.metrics.loopback and cf.metrics.basic_auth is None and not cf.web.allow_unauthenticated:
            issues.append(ConfigIssue("web.enabled", web_line,
                                      f"{cf.metrics.listen} is reachable from other hosts: give [metrics] basic_auth, "
                                      "or allow_unauthenticated = true (pages without pictures or actions)"))
    cam_ids = {c.id for c in cf.cameras}
    for i, m in enumerate(cf.maintenance):
        if m.camera is not None and m.camera not in cam_ids:
            unknown(("maintenance", i, "camera"), "camera", m.camera)
        if m.commune is not None and m.commune not in communes:
            unknown(("maintenance", i, "commune"), "commune", m.commune)
    for i, cam in enumerate(cf.cameras):
        if cam.commune not in communes:
            unknown(("cameras", i, "commune"), "commune", cam.commune, f" (camera {cam.id})")
        for t in cam.technicians:
            if t not in techs:
                unknown(("cameras", i, "technicians"), "technician", t)
    return issues


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class KeyLines:
    """The line of every key path of a conventional TOML file (`[table]`, `[[array]]` tables and `key = value`
    lines), indexed in one pass so that locating thousands of errors stays linear in the file's size."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str | int, ...], int] = {}
        self.scanned = 0  # lines read: each once, however many errors are located
        counts: dict[tuple[str | int, ...], int] = {}
        table: tuple[str | int, ...] = ()
        for n, line in enumerate(text.splitlines(), 1):
            self.scanned += 1
            if m := _HEADER.match(line):
                path: tuple[str | int, ...] = ()
                for name in _dotted(m.group(2)):
                    path = (*path, name)
                    if path in counts:  # an array of tables: its last element
                        path = (*path, counts[path] - 1)
                if m.group(1):  # [[array]]: a new element
                    array = path[:-1] if isinstance(path[-1], int) and path[:-1] in counts else path
                    counts[array] = counts.get(array, 0) + 1
                    self.lines.setdefault(array, n)
                    path = (*array, counts[array] - 1)
                table = path
                self.lines.setdefault(table, n)
            elif m := _KEY.match(line):
                key: tuple[str | int, ...] = table
                for name in _dotted(m.group(1)):
                    key = (*key, name)
                    self.lines.setdefault(key, n)

    def locate(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of `loc` found; None for an element of an array that has no such element."""
        parts = [p for p in loc if isinstance(p, str | int)]
        line = 1
        for k in range(1, len(parts) + 1):
            found = self.lines.get(tuple(parts[:k]))
            if found is None:
                return None if isinstance(parts[k - 1], int) else line
            line = found
        return line


_HEADER = re.compile(r"^\s*\[(\[?)\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"' .]+?)\s*=")


def _dotted(name: str) -> list[str]:
    return [p.strip().strip("\"'") for p in name.split(".")]


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of a key path in a conventional TOML file (one error; many: `KeyLines`)."""
    return KeyLines(text).locate(loc)
