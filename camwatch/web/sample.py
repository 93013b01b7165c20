"""A known week of ten cameras in five communes, written as the daemon writes it (store + snapshot files).

The input of the web pages' tests (`tests/test_web.py`) and of their pictures in `docs/web/`. Sơn Động time
(UTC+7), one check every 15 minutes from 00:00 on 26/03/2024 to `NOW`, 14:05 on 02/04/2024:

- YD-01 ok throughout; maintenance (command line) 08:00–09:00 on 02/04; ONVIF facts and a stream profile;
- YD-02 black since 13:00 on 02/04 (down, open);      YD-03 blurred since 11:00 on 02/04 (degraded, open);
- YD-04 offline 03:00–05:30 on 30/03 (closed);        CD-01 offline since 06:00 on 01/04 (down, open);
- CD-02 frozen 06:00–07:00 on 02/04 (closed);         DH-01 ok, its commune in maintenance 13:30–16:00 on 02/04;
- TYT-01 ok;                                          TYT-02 never checked (unknown);
- AC-01 moved 10:00–16:00 on 28/03 (closed).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from camwatch.config.settings import HealthSettings
from camwatch.health import State, step
from camwatch.model import CheckResult, ErrorKind, StreamFacts, Verdict
from camwatch.snapshots import SnapshotStore
from camwatch.store import repo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
INTERVAL = dt.timedelta(minutes=15)


def local(day: int, hour: float, month: int = 4) -> dt.datetime:
    return (dt.datetime(2024, month, day, tzinfo=VN) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


NOW = local(2, 14 + 5 / 60)
SINCE = local(26, 0, month=3)

COMMUNES = (("yen-dinh", "Yên Định"), ("cam-dan", "Cẩm Đàn"), ("duong-huu", "Dương Hưu"),
            ("tay-yen-tu", "Thị trấn Tây Yên Tử"), ("an-chau", "Thị trấn An Châu"))


Timeline = Callable[[dt.datetime], Verdict]


def _at(a: dt.datetime, b: dt.datetime | None, v: Verdict) -> Timeline:
    return lambda t: v if a <= t and (b is None or t < b) else Verdict.OK


CAMERAS: dict[str, tuple[str, str, str, Timeline | None]] = {  # id: (commune, name, location, verdict at t)
    "YD-01": ("yen-dinh", "Ngã ba chợ Yên Định", "QL279", lambda t: Verdict.OK),
    "YD-02": ("yen-dinh", "Cầu Yên Định", "QL279, km 12", _at(local(2, 13), None, Verdict.BLACK)),
    "YD-03": ("yen-dinh", "Đường 293, km 5", "ĐT293", _at(local(2, 11), None, Verdict.BLURRED)),
    "YD-04": ("yen-dinh", "UBND xã Yên Định", "", _at(local(30, 3, 3), local(30, 5.5, 3), Verdict.OFFLINE)),
    "CD-01": ("cam-dan", "Dốc Cẩm Đàn", "QL31", _at(local(1, 6), None, Verdict.OFFLINE)),
    "CD-02": ("cam-dan", "Trường THCS Cẩm Đàn", "", _at(local(2, 6), local(2, 7), Verdict.FROZEN)),
    "DH-01": ("duong-huu", "UBND xã Dương Hưu", "", lambda t: Verdict.OK),
    "TYT-01": ("tay-yen-tu", "Cổng chợ Tây Yên Tử", "", lambda t: Verdict.OK),
    "TYT-02": ("tay-yen-tu", "Ngã tư Tây Yên Tử", "", None),
    "AC-01": ("an-chau", "Bến xe An Châu", "QL279", _at(local(28, 10, 3), local(28, 16, 3), Verdict.MOVED)),
}
REASONS = {Verdict.BLACK: "the picture is black (99% of pixels black)", Verdict.BLURRED: "the picture is blurred",
           Verdict.OFFLINE: "connection refused: nothing listens on the RTSP port",
           Verdict.FROZEN: "the picture does not change: the image is frozen", Verdict.MOVED: "the view moved"}


def config_text(state_dir: Path, extra: str = "") -> str:
    out = [f'[district]\nname = "Huyện Sơn Động"\nstate_dir = "{state_dir}"\n', extra,
           '[defaults]\nuser = "admin"\npassword = "p@ss:w#rd-SECRET"\ninterval_s = 600\n']
    out += [f'[[communes]]\nid = "{cid}"\nname = "{name}"\n' for cid, name in COMMUNES]
    out += [f'[[cameras]]\nid = "{cid}"\nname = "{name}"\ncommune = "{commune}"\nlocation = "{loc}"\n'
            f'rtsp_url = "rtsp://10.17.0.{k + 10}:554/Streaming/Channels/102"\n'
            for k, (cid, (commune, name, loc, _v)) in enumerate(CAMERAS.items())]
    out.append('[[maintenance]]\ncamera = "YD-04"\ndaily = "01:00-01:30"\nreason = "sao lưu đầu ghi"\n')
    return "\n".join(out)


def pictures(camera_id: str) -> dict[str, bytes]:
    """A synthetic road scene per camera (its own colours), and its faulty versions."""
    import cv2
    import numpy as np

    seed = zlib.crc32(camera_id.encode())
    rng = np.random.default_rng(seed)
    img = np.zeros((360, 640, 3), np.uint8)
    sky = np.array([200 + seed % 40, 160 + seed % 60, 110], np.uint8)
    img[:150] = sky
    img[150:] = (70, 110 + seed % 50, 60)
    cv2.fillPoly(img, [np.array([[250, 150], [390, 150], [640, 360], [0, 360]], np.int32)], (90, 90, 95))
    for _ in range(5):
        x, w, h = int(rng.integers(0, 560)), int(rng.integers(40, 90)), int(rng.integers(40, 100))
        colour = tuple(int(c) for c in rng.integers(60, 230, 3))
        cv2.rectangle(img, (x, 150 - h), (x + w, 150), colour, -1)
    cv2.putText(img, camera_id, (16, 340), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2, cv2.LINE_AA)
    black = np.zeros_like(img)
    cv2.putText(black, camera_id, (16, 340), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (200, 200, 200), 2, cv2.LINE_AA)
    shifted = np.roll(img, 120, axis=1)

    def jpeg(a: object) -> bytes:
        return bytes(cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())

    return {"ok": jpeg(img), "black": jpeg(black), "blurred": jpeg(cv2.GaussianBlur(img, (31, 31), 0)),
            "frozen": jpeg(img), "moved": jpeg(shifted)}


def write(engine: Engine, state_dir: Path, policy: HealthSettings | None = None) -> None:
    """Write the sample week into a migrated, empty database and `state_dir/snapshots`, check by check."""
    policy = policy or HealthSettings()
    snaps = SnapshotStore(state_dir / "snapshots")
    pics = {cid: pictures(cid) for cid in CAMERAS}
    states = {cid: State() for cid in CAMERAS}
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": c, "commune": m, "name": n, "location": loc}
                                 for c, (m, n, loc, _v) in CAMERAS.items()], SINCE)
        repo.add_maintenance(conn, local(2, 8), local(2, 9), "lau ống kính", camera_id="YD-01")
        repo.add_maintenance(conn, local(2, 13.5), local(2, 16), "cắt điện", commune="duong-huu")
        onvif = SimpleNamespace(ok=True, error=None, reason="", clock_offset_s=1.2, ntp=True, stream=None, device=(
            SimpleNamespace(manufacturer="Hikvision", model="DS-2CD1023G0-I", firmware="V5.5.82 build 190909",
                            serial="DS-2CD1023G0-I20190101AAWRD12345678", hardware_id="88")))
        repo.record_onvif(conn, "YD-01", onvif, SINCE)
        profile = {"codec": "h264", "width": 640, "height": 360, "fps": 10.0, "gop_s": 2.0, "transport": "tcp",
                   "first_keyframe_s": 0.31, "samples": 1000}
        t = SINCE
        while t < NOW:
            for cid, (commune, _name, _loc, verdict_at) in CAMERAS.items():
                if verdict_at is None:
                    continue
                verdict = verdict_at(t)
                maint = repo.in_maintenance(conn, cid, commune, t)
                states[cid], transitions = step(states[cid], verdict, t, policy, in_maintenance=maint)
                result = _result(cid, t, verdict, pics[cid])
                kept = snaps.keep(result, states[cid], transitions)
                repo.record_check(conn, result, INTERVAL.total_seconds(), states[cid], transitions, None, "sample",
                                  kept, profile if verdict is Verdict.OK else None)
            t += INTERVAL


def _result(cid: str, t: dt.datetime, verdict: Verdict, pics: dict[str, bytes]) -> CheckResult:
    if verdict is Verdict.OFFLINE:
        return CheckResult(cid, t, verdict, REASONS[verdict], 0.01, error=ErrorKind.UNREACHABLE)
    wobble = (zlib.crc32(f"{cid}{t}".encode()) % 100) / 100
    stream = StreamFacts("h264", 640, 360, 10.0 - wobble / 5, 150_000 + 40_000 * wobble, 0.3 + wobble / 10, 2.0, "tcp")
    numbers = {"luma": 4.0 if verdict is Verdict.BLACK else 110 + 20 * wobble,
               "sharpness_ratio": 0.2 if verdict is Verdict.BLURRED else 0.95 + wobble / 10}
    jpeg = pics.get(str(verdict), pics["ok"])
    return CheckResult(cid, t, verdict, REASONS.get(verdict, "the camera streams a live, sharp picture"),
                       2.1 + wobble / 10, stream=stream, numbers=numbers, jpeg=jpeg)
