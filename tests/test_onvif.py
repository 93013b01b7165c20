"""ONVIF against a device that speaks real SOAP 1.2 with WS-Security digest, and the real RTSP server."""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from camwatch import config as cfgmod
from camwatch.model import ErrorKind as OnvifError
from camwatch.model import Verdict
from camwatch.probe.onvif import probe_onvif
from camwatch.sim.fleet import Fleet
from camwatch.store import repo
from camwatch.store.schema import cameras, device_events
from tests.conftest import PASSWORD
from tests.onvif_device import OnvifDevice


@pytest.fixture
def device(fleet: Fleet) -> Iterator[OnvifDevice]:
    d = OnvifDevice(fleet.url("onvif1"), user="admin", password=PASSWORD).start()
    yield d
    d.stop()


def probe(d: OnvifDevice, password: str = PASSWORD, deadline: float = 5.0):
    return probe_onvif("127.0.0.1", d.port, "admin", password, deadline_s=deadline)


def test_device_facts_clock_and_the_lowest_h264_profile(device: OnvifDevice) -> None:
    r = probe(device)
    assert r.ok, r.reason
    assert (r.device.manufacturer, r.device.model, r.device.serial) == ("HIKVISION", "DS-2CD1023G0-IU", "DS-2CD1023-0001")
    assert abs(r.clock_offset_s) < 1.5 and r.ntp is True
    assert (r.stream.profile, r.stream.width, r.stream.encoding) == ("Profile_2", 640, "H264")  # not the MJPEG one
    assert r.stream.rtsp_uri == device.rtsp_uri and r.stream.snapshot_uri.endswith("/snapshot.jpg")


def test_a_wrong_clock_is_measured_and_auth_still_works(device: OnvifDevice) -> None:
    device.clock_offset_s = -6 * 365 * 86400  # back to 2020 after a power cut
    device.ntp = False
    r = probe(device)
    assert r.ok, r.reason  # WS-Security digest retried with the device's clock
    assert r.clock_offset_s == pytest.approx(device.clock_offset_s, abs=2) and r.ntp is False


def test_refused_credentials_are_auth(device: OnvifDevice) -> None:
    r = probe(device, password="wrong")
    assert (r.ok, r.error) == (False, OnvifError.AUTH)
    assert "wrong" not in r.reason


def test_not_supported_is_a_normal_answer_for_optional_parts(device: OnvifDevice) -> None:
    device.not_supported = {"GetSnapshotUri"}
    r = probe(device)
    assert r.ok and r.stream.snapshot_uri is None
    device.not_supported = {"GetDeviceInformation"}
    r = probe(device)
    assert (r.ok, r.error) == (False, OnvifError.NOT_SUPPORTED)


def test_malformed_xml_and_entity_expansion_are_refused_fast(device: OnvifDevice) -> None:
    device.malformed = True
    assert probe(device).error is OnvifError.PROTOCOL
    device.malformed, device.entity_attack = False, True
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    r = probe(device)
    assert r.error is OnvifError.PROTOCOL and "DTD" in r.reason
    assert time.monotonic() - t0 < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: no billion laughs


def test_a_device_that_never_answers_is_abandoned_without_blocking_others(fleet: Fleet) -> None:
    slow = OnvifDevice(fleet.url("onvif1"), password=PASSWORD).start()
    fast = OnvifDevice(fleet.url("onvif1"), password=PASSWORD).start()
    slow.slow_s = 30
    out: dict[str, tuple[object, float]] = {}

    def run(name: str, d: OnvifDevice) -> None:
        t0 = time.monotonic()
        out[name] = (probe(d, deadline=3.0).error, time.monotonic() - t0)

    try:
        threads = [threading.Thread(target=run, args=a) for a in (("slow", slow), ("fast", fast))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert out["slow"][0] is OnvifError.TIMEOUT and 2.9 < out["slow"][1] < 3.6
        assert out["fast"][0] is None and out["fast"][1] < 1.5
    finally:
        slow.stop()
        fast.stop()


def test_unreachable_device() -> None:
    from camwatch.sim.fleet import free_port

    assert probe_onvif("127.0.0.1", free_port(), "a", "b", 3).error is OnvifError.UNREACHABLE


def test_device_answers_are_valid_against_the_onvif_wsdl(device: OnvifDevice) -> None:
    """A strict zeep client, built from the WSDL the library ships, parses every answer."""
    import onvif
    from zeep import Client, Settings
    from zeep.wsse.username import UsernameToken

    wsdl = Path(onvif.__file__).parent / "wsdl"
    settings = Settings(strict=True, forbid_dtd=True)
    dev = Client(str(wsdl / "devicemgmt.wsdl"), settings=settings, wsse=UsernameToken("admin", PASSWORD, use_digest=True))
    svc = dev.create_service("{http://www.onvif.org/ver10/device/wsdl}DeviceBinding", device.xaddr)
    assert svc.GetSystemDateAndTime().UTCDateTime.Date.Year >= 2026
    assert svc.GetDeviceInformation().SerialNumber == device.serial
    assert len(svc.GetServices(IncludeCapability=False)) == 3
    assert svc.GetCapabilities(Category="All").Media.XAddr.endswith("/Media")
    med = Client(str(wsdl / "media.wsdl"), settings=settings, wsse=UsernameToken("admin", PASSWORD, use_digest=True))
    msvc = med.create_service("{http://www.onvif.org/ver10/media/wsdl}MediaBinding", device.xaddr)
    profiles = msvc.GetProfiles()
    assert [p.VideoEncoderConfiguration.Resolution.Width for p in profiles] == [1920, 640, 320]
    uri = msvc.GetStreamUri(StreamSetup={"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                            ProfileToken="Profile_2")
    assert uri.Uri == device.rtsp_uri
    sea = Client(str(wsdl / "search.wsdl"), settings=settings, wsse=UsernameToken("admin", PASSWORD, use_digest=True))
    ssvc = sea.create_service("{http://www.onvif.org/ver10/search/wsdl}SearchBinding", device.xaddr)
    assert ssvc.GetRecordingSummary().NumberRecordings == 1


def test_check_from_onvif_credentials_alone(device: OnvifDevice, tmp_path: Path) -> None:
    from urllib.parse import quote

    r = subprocess.run([sys.executable, "-m", "camwatch", "check", "--onvif",
                        f"admin:{quote(PASSWORD, safe='')}@127.0.0.1:{device.port}", "--json"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads(r.stdout)
    assert d["verdict"] == "ok" and d["stream"]["width"] == 640
    assert d["device"]["serial"] == "DS-2CD1023-0001" and abs(d["clock_offset_s"]) < 1.5
    assert PASSWORD not in r.stdout


def test_daemon_finds_the_stream_flags_a_wrong_clock_and_records_a_swapped_camera(device: OnvifDevice,
                                                                                   tmp_path: Path) -> None:
    from camwatch.scheduler import Monitor

    cfg = tmp_path / "cameras.toml"
    cfg.write_text(f"""
[district]
state_dir = "{tmp_path / 'state'}"
[defaults]
user = "admin"
password = "{PASSWORD}"
[[communes]]
id = "van-son"
name = "Vân Sơn"
[[cameras]]
id = "VS-09"
name = "Ngã tư"
commune = "van-son"
onvif = {{ host = "127.0.0.1", port = {device.port} }}
""", encoding="utf-8")
    config = cfgmod.load(cfg)
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    monitor = Monitor(config, engine)
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": "VS-09", "commune": "van-son", "name": "Ngã tư"}],
                          __import__("datetime").datetime.now(__import__("datetime").UTC))
    try:
        first = monitor.check_one("VS-09")
        assert first is not None and first.result.verdict is Verdict.OK, first.result.reason
        device.clock_offset_s = 3 * 3600
        device.serial = "DS-2CD1023-9999"  # the camera was swapped
        polled_at = monitor.job.devices.clock
        monitor.job.devices.clock = lambda: polled_at() + 3600  # an hour later: the ONVIF poll is due
        done = monitor.check_one("VS-09")
        assert done is not None
        second = done.result
        assert second.verdict is Verdict.CLOCK and "s ahead" in second.reason
        assert second.numbers["clock_offset_s"] == pytest.approx(10800, abs=2)
        with engine.connect() as conn:
            row = conn.execute(select(cameras).where(cameras.c.id == "VS-09")).one()
            events = list(conn.execute(select(device_events)))
        assert row.stream_uri == device.rtsp_uri and row.model == "DS-2CD1023G0-IU"
        assert row.clock_offset_s == pytest.approx(10800, abs=2)
        assert [(e.field, e.old, e.new) for e in events] == [("serial", "DS-2CD1023-0001", "DS-2CD1023-9999")]
    finally:
        engine.dispose()


@pytest.mark.parametrize("auth", ["digest", "basic"])
def test_http_snapshot_source_with_digest_or_basic_auth(device: OnvifDevice, auth: str) -> None:
    from camwatch.config import CheckSettings, Thresholds
    from camwatch.pipeline import judge
    from camwatch.probe import Target
    from camwatch.probe.snapshot import probe_snapshot

    device.snapshot_auth = auth
    url = f"http://127.0.0.1:{device.port}/snapshot.jpg"
    s = CheckSettings(deadline_s=6, keyframe_spacing_s=1.0)

    def check(u: str, password: str = PASSWORD):
        return judge("S", dt.datetime.now(dt.UTC), probe_snapshot(Target(u, "admin", password), s), None, Thresholds())[0]

    def run(password: str = PASSWORD):
        return check(url, password)

    live = run()
    assert live.verdict is Verdict.OK and live.stream.codec == "jpeg" and live.stream.width == 640, live.reason
    assert run("wrong").verdict is Verdict.AUTH_FAILED
    device.snapshot_scene = "black"
    assert run().verdict is Verdict.BLACK
    device.snapshot_scene = "frozen"
    assert run().verdict is Verdict.FROZEN
    bad = check(url.replace("snapshot.jpg", "nope.jpg"))
    assert bad.verdict is Verdict.NOT_FOUND


def test_a_camera_checked_by_its_onvif_snapshot(device: OnvifDevice, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "camwatch", "check", "SN-1", "--json", "-c", str(_snapshot_config(
        tmp_path, device))], capture_output=True, text=True, timeout=60)
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d["verdict"] == "ok" and d["stream"]["codec"] == "jpeg", r.stdout + r.stderr
    assert d["device"]["model"] == "DS-2CD1023G0-IU"


def _snapshot_config(tmp: Path, device: OnvifDevice) -> Path:
    cfg = tmp / "cameras.toml"
    cfg.write_text(f"""
[district]
state_dir = "{tmp / 'state'}"
[defaults]
user = "admin"
password = "{PASSWORD}"
[[communes]]
id = "c"
name = "Xã"
[[cameras]]
id = "SN-1"
name = "Ảnh tĩnh"
commune = "c"
source = "snapshot"
onvif = {{ host = "127.0.0.1", port = {device.port} }}
""", encoding="utf-8")
    return cfg


def test_recording_health_profile_g(device: OnvifDevice) -> None:
    from camwatch.config import CheckSettings
    from camwatch.devices import facts_from
    from camwatch.model import CheckResult
    from camwatch.pipeline import apply_device

    def apply_clock(result: CheckResult, _: None, facts, tolerance: float, max_age: float):
        return apply_device(result, None, facts, CheckSettings(clock_tolerance_s=tolerance,
                                                               recording_max_age_s=max_age))

    r = probe(device)
    assert r.recordings == 1 and r.recording_age_s(dt.datetime.now(dt.UTC)) < 30
    device.recording = "stale"
    r = probe(device)
    assert r.recording_age_s(dt.datetime.now(dt.UTC)) == pytest.approx(7200, abs=30)
    fine = CheckResult("X", dt.datetime.now(dt.UTC), Verdict.OK, "ok", 2.0)
    result, base = apply_clock(fine, None, facts_from(r), 30, 900)
    assert result.verdict is Verdict.NOT_RECORDING and "120 min" in result.reason and base is None
    device.recording = None  # no Profile G: a normal answer, no finding
    r = probe(device)
    assert r.ok and r.recording_until is None
    assert apply_clock(CheckResult("X", dt.datetime.now(dt.UTC), Verdict.OK, "ok", 2.0), None, facts_from(r), 30,
                       900)[0].verdict is Verdict.OK


def test_discover_finds_the_device_and_prints_a_toml_block(device: OnvifDevice) -> None:
    r = subprocess.run([sys.executable, "-m", "camwatch", "discover", "--address", "127.0.0.1", "--port",
                        str(device.discovery_port), "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "1 ONVIF device(s) found on 127.0.0.1" in r.stdout
    block = r.stdout.split("[[cameras]]", 1)[1]
    assert f'onvif = {{ host = "127.0.0.1", port = {device.port} }}' in block and 'name = "HIKVISION"' in block
    import tomllib

    parsed = tomllib.loads("[[cameras]]" + block.replace("…", "x"))
    assert parsed["cameras"][0]["onvif"]["port"] == device.port
