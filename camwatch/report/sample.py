"""A known history of five cameras in three communes, written through the store as the daemon writes it.

The input of the report's golden test (`tests/test_report.py`, where every figure is derived by hand) and
of the report pictures in the documentation (`scripts/render_report_docs.py`). Times are Sơn Động's
(UTC+7); one check every 10 minutes; the report covers 01/04/2024–02/04/2024 and is made at 14:05 on
02/04/2024, before the period ends:

- YD-01: not monitored 02:00–04:00 on the 1st (camwatch stopped), offline 10:00–12:30 on the 1st,
  maintenance 08:00–09:00 on the 2nd;
- YD-02: black 20:00 on 31/03 – 03:00 on the 1st (across the start), blurred from 10:00 on the 2nd, still open;
- CD-01: removed from the config at 12:00 on the 1st, offline since 06:00 that day;
- CD-02: added at 12:00 on the 1st, frozen 06:00–07:00 on the 2nd;
- DH-01: offline all along (since 00:00 on 31/03).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from camwatch.config.settings import HealthSettings
from camwatch.health import State, step
from camwatch.model import CheckResult, Verdict
from camwatch.store import repo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
INTERVAL = dt.timedelta(minutes=10)


def local(day: int, hour: float, month: int = 4) -> dt.datetime:
    """Sơn Động time (UTC+7) → the UTC instant the database stores."""
    return (dt.datetime(2024, month, day, tzinfo=VN) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


FIRST_DAY, LAST_DAY = dt.date(2024, 4, 1), dt.date(2024, 4, 2)
NOW = local(2, 14 + 5 / 60)  # the report is made at 14:05 on its last day
SINCE = local(31, 0, month=3)  # the history starts here (the previous period's second day)
CHANGE = local(1, 12)  # the config changes: CD-02 added, CD-01 removed

CONFIG = """
[district]
name = "Huyện Sơn Động"

[report]
unit = "CÔNG AN HUYỆN SƠN ĐỘNG"
parent_unit = "CÔNG AN TỈNH BẮC GIANG"
place = "Sơn Động"
signers = [{ title = "Người lập biểu", name = "Nguyễn Văn An" }, { title = "Thủ trưởng đơn vị", name = "Trần Quốc Bình" }]

[[communes]]
id = "yen-dinh"
name = "Yên Định"
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
[[communes]]
id = "duong-huu"
name = "Dương Hưu"

[[cameras]]
id = "YD-01"
name = "Ngã ba chợ Yên Định"
commune = "yen-dinh"
rtsp_url = "rtsp://127.0.0.1/YD-01"
[[cameras]]
id = "YD-02"
name = "Cầu Yên Định"
commune = "yen-dinh"
rtsp_url = "rtsp://127.0.0.1/YD-02"
[[cameras]]
id = "CD-02"
name = "Trường THCS Cẩm Đàn"
commune = "cam-dan"
rtsp_url = "rtsp://127.0.0.1/CD-02"
[[cameras]]
id = "DH-01"
name = "UBND xã Dương Hưu"
commune = "duong-huu"
rtsp_url = "rtsp://127.0.0.1/DH-01"
"""

Timeline = Callable[[dt.datetime], Verdict | None]  # the verdict of a check at that time; None: no check


def _between(a: dt.datetime, b: dt.datetime, t: dt.datetime) -> bool:
    return a <= t < b


TIMELINES: dict[str, tuple[str, str, dt.datetime, dt.datetime, Timeline]] = {
    # id: (commune, name, first check, no check from, verdict at t)
    "YD-01": ("yen-dinh", "Ngã ba chợ Yên Định", SINCE, NOW, lambda t: (
        None if _between(local(1, 2), local(1, 4), t) else
        Verdict.OFFLINE if _between(local(1, 10), local(1, 12.5), t) else Verdict.OK)),
    "YD-02": ("yen-dinh", "Cầu Yên Định", SINCE, NOW, lambda t: (
        Verdict.BLACK if _between(local(31, 20, month=3), local(1, 3), t) else
        Verdict.BLURRED if t >= local(2, 10) else Verdict.OK)),
    "CD-01": ("cam-dan", "Dốc Cẩm Đàn", SINCE, CHANGE, lambda t: Verdict.OFFLINE if t >= local(1, 6) else Verdict.OK),
    "CD-02": ("cam-dan", "Trường THCS Cẩm Đàn", CHANGE, NOW, lambda t: (
        Verdict.FROZEN if _between(local(2, 6), local(2, 7), t) else Verdict.OK)),
    "DH-01": ("duong-huu", "UBND xã Dương Hưu", SINCE, NOW, lambda t: Verdict.OFFLINE),
}


def _configured(ids: list[str]) -> list[dict[str, str]]:
    return [{"id": i, "commune": TIMELINES[i][0], "name": TIMELINES[i][1], "location": "QL279"} for i in ids]


def write_history(engine: Engine, policy: HealthSettings | None = None) -> None:
    """Write the sample history into a migrated, empty database, check by check, as the daemon does."""
    policy = policy or HealthSettings()
    states = {cid: State() for cid in TIMELINES}
    with engine.begin() as conn:
        repo.sync_cameras(conn, _configured(["YD-01", "YD-02", "CD-01", "DH-01"]), SINCE)
        repo.add_maintenance(conn, local(2, 8), local(2, 9), "lau ống kính", camera_id="YD-01")
        t = SINCE
        while t < NOW:
            if t == CHANGE:
                repo.sync_cameras(conn, _configured(["YD-01", "YD-02", "CD-02", "DH-01"]), t)
            for cid, (commune, _name, first, last, verdict_at) in TIMELINES.items():
                verdict = verdict_at(t)
                if verdict is None or not first <= t < last:
                    continue
                maint = repo.in_maintenance(conn, cid, commune, t)
                states[cid], transitions = step(states[cid], verdict, t, policy, in_maintenance=maint)
                result = CheckResult(cid, t, verdict, "" if verdict is Verdict.OK else str(verdict), 2.0)
                repo.record_check(conn, result, INTERVAL.total_seconds(), states[cid], transitions, None, "sample", {})
            t += INTERVAL
