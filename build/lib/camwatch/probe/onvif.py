"""ONVIF probe: a thin wrapper over onvif-zeep-async. Device facts, the camera's clock, its streams.

Why onvif-zeep-async rather than onvif-zeep: onvif-zeep's last release is from 2018 and needs its
WSDL directory passed by hand; the async fork is maintained (Home Assistant uses it), handles WS-Security
digest with a clock offset (cameras whose clock is wrong reject our timestamps), and lets one
asyncio deadline bound every SOAP call. Both install a top-level `onvif` package: only this one is
a dependency.

Errors are classified once, here, into the probes' one vocabulary (`model.ErrorKind`): auth /
unreachable / timeout / not_supported / protocol.
zeep's XML parser is hardened (no DTDs, no entities, no external resources, no huge trees): a hostile
device can neither read our files nor exhaust memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from camwatch.model import ErrorKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str


@dataclass(frozen=True)
class StreamChoice:
    profile: str
    name: str
    encoding: str
    width: int
    height: int
    rtsp_uri: str
    snapshot_uri: str | None


@dataclass
class OnvifResult:
    ok: bool
    duration_s: float
    error: ErrorKind | None = None
    reason: str = ""
    device: DeviceInfo | None = None
    clock_offset_s: float | None = None
    ntp: bool | None = None
    stream: StreamChoice | None = None
    recording_until: dt.datetime | None = None  # the newest recorded moment (Profile G), None if not supported
    recordings: int | None = None

    def recording_age_s(self, now: dt.datetime) -> float | None:
        return None if self.recording_until is None else (now - self.recording_until).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": str(self.error) if self.error else None, "reason": self.reason,
                "device": asdict(self.device) if self.device else None,
                "clock_offset_s": None if self.clock_offset_s is None else round(self.clock_offset_s, 2),
                "ntp": self.ntp, "stream": asdict(self.stream) if self.stream else None,
                "recording": None if self.recording_until is None else {
                    "recordings": self.recordings, "newest": self.recording_until.isoformat(),
                    "age_s": round(self.recording_age_s(dt.datetime.now(dt.UTC)) or 0, 1)},
                "duration_s": round(self.duration_s, 3)}


def _harden_zeep() -> None:
    from onvif import settings

    s = settings.DEFAULT_SETTINGS  # the object every ONVIF service of the library is built with
    s.xml_huge_tree = False
    s.forbid_dtd = True
    s.forbid_entities = True
    s.forbid_external = True


def classify(err: BaseException) -> tuple[ErrorKind, str]:
    """One place that knows the libraries' exceptions."""
    import aiohttp
    import zeep.exceptions
    from lxml import etree
    from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError

    cause = err.__cause__ if isinstance(err, ONVIFError) and err.__cause__ else err
    text = str(cause)[:200]
    if isinstance(cause, asyncio.TimeoutError | TimeoutError | ONVIFTimeoutError):
        return ErrorKind.TIMEOUT, "the device did not answer within the deadline"
    if isinstance(cause, ONVIFAuthError):
        return ErrorKind.AUTH, "the device refused the user name or password"
    if isinstance(cause, zeep.exceptions.Fault):
        sub = " ".join(str(x) for x in (cause.subcodes or [])) + " " + (cause.code or "") + " " + (cause.message or "")
        if "NotAuthorized" in sub or "FailedAuthentication" in sub or "not authorized" in sub.lower():
            return ErrorKind.AUTH, "the device refused the user name or password"
        if "ActionNotSupported" in sub or "NotSupported" in sub or "not implemented" in sub.lower():
            return ErrorKind.NOT_SUPPORTED, f"not supported by the device ({cause.message})"
        return ErrorKind.PROTOCOL, f"the device answered with a SOAP fault ({cause.message})"
    if isinstance(cause, zeep.exceptions.DTDForbidden | zeep.exceptions.EntitiesForbidden):
        return ErrorKind.PROTOCOL, "the device's answer contains a DTD or entities (refused: possible attack)"
    if isinstance(cause, zeep.exceptions.XMLSyntaxError | etree.XMLSyntaxError | zeep.exceptions.XMLParseError):
        return ErrorKind.PROTOCOL, "the device's answer is not valid XML"
    if isinstance(cause, aiohttp.ClientConnectorError | ConnectionError | OSError):
        return ErrorKind.UNREACHABLE, f"the device cannot be reached ({text})"
    if isinstance(cause, aiohttp.ClientResponseError) and cause.status in (401, 403):
        return ErrorKind.AUTH, "the device refused the user name or password"
    if isinstance(cause, aiohttp.ClientError):
        return ErrorKind.UNREACHABLE, f"the HTTP exchange with the device failed ({type(cause).__name__})"
    return ErrorKind.PROTOCOL, f"the ONVIF exchange failed ({type(cause).__name__}: {text})"


def probe_onvif(host: str, port: int, user: str | None, password: str | None, deadline_s: float = 10.0,
                profile: str | None = None, want_stream: bool = True) -> OnvifResult:
    """Device facts, clock offset and the stream to check, within `deadline_s`. Never raises for a device."""
    t0 = time.monotonic()
    try:
        return asyncio.run(asyncio.wait_for(_probe(host, port, user, password, profile, want_stream, t0),
                                            timeout=deadline_s))
    except Exception as err:  # every failure of a device is data, classified once
        kind, reason = classify(err)
        return OnvifResult(False, time.monotonic() - t0, kind, reason)


async def _probe(host: str, port: int, user: str | None, password: str | None, profile: str | None,
                 want_stream: bool, t0: float) -> OnvifResult:
    from onvif import ONVIFCamera

    _harden_zeep()
    cam = ONVIFCamera(host, port, user, password, no_cache=True, adjust_time=True)
    try:
        devicemgmt = await cam.create_devicemgmt_service()
        # the clock first, without auth (allowed by the standard); the offset accounts for the round trip
        a = dt.datetime.now(dt.UTC)
        sysdt = await devicemgmt.authless_GetSystemDateAndTime()
        b = dt.datetime.now(dt.UTC)
        u = sysdt.UTCDateTime
        cam_time = dt.datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute, u.Time.Second,
                               tzinfo=dt.UTC)
        offset = (cam_time - (a + (b - a) / 2)).total_seconds()
        ntp = str(sysdt.DateTimeType) == "NTP"
        await cam.update_xaddrs()  # authenticated from here on, with the clock offset applied (adjust_time)
        devicemgmt = await cam.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        device = DeviceInfo(str(info.Manufacturer or ""), str(info.Model or ""), str(info.FirmwareVersion or ""),
                            str(info.SerialNumber or ""), str(info.HardwareId or ""))
        stream = await _choose_stream(cam, profile) if want_stream else None
        until, count = await _recording_summary(cam, offset)
        return OnvifResult(True, time.monotonic() - t0, device=device, clock_offset_s=offset, ntp=ntp, stream=stream,
                           recording_until=until, recordings=count)
    finally:
        await cam.close()


async def _recording_summary(cam: Any, clock_offset_s: float) -> tuple[dt.datetime | None, int | None]:
    """Profile G: the newest recorded moment, in server time. "Not supported" is a normal answer."""
    if "http://www.onvif.org/ver10/search/wsdl" not in cam.xaddrs:
        return None, None
    search = await cam.create_search_service()
    try:
        summary = await search.GetRecordingSummary()
    except Exception as err:
        if classify(err)[0] is ErrorKind.NOT_SUPPORTED:
            return None, None
        raise
    until = summary.DataUntil
    if until is None:
        return None, int(summary.NumberRecordings or 0)
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    # the device stamps it with its own clock: bring it to ours
    return until - dt.timedelta(seconds=clock_offset_s), int(summary.NumberRecordings or 0)


async def _choose_stream(cam: Any, wanted: str | None) -> StreamChoice:
    """The lowest-resolution H.264/H.265 profile (or the named one), its RTSP URI and snapshot URI."""
    media = await cam.create_media_service()
    profiles = await media.GetProfiles()
    candidates = []
    for p in profiles:
        enc = p.VideoEncoderConfiguration
        if enc is None or enc.Resolution is None:
            continue
        encoding = str(enc.Encoding)
        if wanted and wanted not in (p.token, p.Name):
            continue
        if not wanted and encoding not in ("H264", "H265"):
            continue
        candidates.append((enc.Resolution.Width * enc.Resolution.Height, p, encoding, enc.Resolution))
    if not candidates:
        raise LookupError(f"no {'profile named ' + wanted if wanted else 'H.264/H.265 profile'} on the device")
    _, p, encoding, res = min(candidates, key=lambda c: c[0])
    uri = await media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                                    "ProfileToken": p.token})
    snapshot = None
    try:
        snapshot = (await media.GetSnapshotUri({"ProfileToken": p.token})).Uri
    except Exception as err:  # optional capability: "not supported" is a normal answer
        if classify(err)[0] is not ErrorKind.NOT_SUPPORTED:
            raise
    return StreamChoice(str(p.token), str(p.Name), encoding, int(res.Width), int(res.Height), str(uri.Uri),
                        str(snapshot) if snapshot else None)
