"""The availability report: a history with known intervals, every figure asserted to the second; the
XLSX read back with openpyxl; the HTML rendered in a real headless Chromium; the PDF's pages."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from camwatch import config as cfgmod
from camwatch import report, words
from camwatch.report import sample
from camwatch.store import repo
from camwatch.store.schema import cameras, checks, incidents

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(day: int, hour: float, month: int = 4) -> dt.datetime:
    """Local Sơn Động time (UTC+7, no DST) → the UTC instant the database stores."""
    return (dt.datetime(2024, month, day, tzinfo=VN) + dt.timedelta(hours=hour)).astimezone(dt.UTC)


CONFIG = """
[district]
name = "Huyện Sơn Động"
[[communes]]
id = "yen-dinh"
name = "Yên Định"
[[communes]]
id = "cam-dan"
name = "Cẩm Đàn"
[[cameras]]
id = "A"
name = "Ngã ba chợ"
commune = "yen-dinh"
rtsp_url = "rtsp://127.0.0.1/A"
[[cameras]]
id = "B"
name = "Cầu Yên Định"
commune = "yen-dinh"
rtsp_url = "rtsp://127.0.0.1/B"
[[cameras]]
id = "C"
name = "Trường học"
commune = "cam-dan"
rtsp_url = "rtsp://127.0.0.1/C"
"""

START, END = vn(1, 0), vn(3, 0)  # the report: 01/04/2024 – 02/04/2024, 48 h
PREV = vn(30, 0, month=3)  # the previous period of equal length starts here
GAP = (vn(1, 0), vn(1, 2))  # camwatch was not running: no check starts in here


def every_minute(cam: str, start: dt.datetime, end: dt.datetime, skip: tuple[dt.datetime, dt.datetime] | None = None):
    t = start
    while t < end:
        if not (skip and skip[0] <= t < skip[1]):
            yield {"camera_id": cam, "started_at": t, "interval_s": 60.0, "duration_s": 2.0, "verdict": "ok",
                   "status": "ok", "reason": ""}
        t += dt.timedelta(minutes=1)


@pytest.fixture
def history(engine: Engine) -> Engine:
    with engine.begin() as conn:
        for cid, commune, added, retired in (("A", "yen-dinh", PREV, None), ("B", "yen-dinh", PREV, None),
                                             ("C", "cam-dan", vn(2, 12), None), ("D", "cam-dan", PREV, vn(1, 12))):
            conn.execute(insert(cameras).values(id=cid, commune=commune, name=f"Camera {cid}", location="QL279",
                                                added_at=added, retired_at=retired, status="ok", state={}))
        rows = [*every_minute("A", PREV, END, skip=GAP), *every_minute("B", PREV, END),
                *every_minute("C", vn(2, 12), END), *every_minute("D", PREV, vn(1, 12))]
        conn.execute(insert(checks), rows)
        for cam, kind, sev, a, b in (
            ("A", "offline", "down", vn(1, 10), vn(1, 12.5)),  # 2 h 30 inside the period
            ("B", "black", "down", vn(31, 20, month=3), vn(1, 3)),  # across the start: 3 h inside, 7 h long
            ("B", "blurred", "degraded", vn(2, 20), None),  # still open at the end: 4 h inside
            ("D", "offline", "down", vn(1, 6), None),  # removed while down: 6 h of its 12 h
        ):
            conn.execute(insert(incidents).values(camera_id=cam, kind=kind, severity=sev, started_at=a, opened_at=a,
                                                  closed_at=b, last_seen_at=b or END, reason=""))
        repo.add_maintenance(conn, vn(2, 8), vn(2, 9), "lau ống kính", camera_id="A")
    return engine


def build(engine: Engine) -> report.Report:
    config = cfgmod.loads(CONFIG)
    with engine.connect() as conn:  # made the day after the period: it has ended
        return report.build(conn, config, *report.period(dt.date(2024, 4, 1), dt.date(2024, 4, 2), VN), END + DAY)


DAY = dt.timedelta(days=1)


def test_period_is_local_days_in_utc() -> None:
    assert report.period(dt.date(2024, 4, 1), dt.date(2024, 6, 30), VN) == (
        dt.datetime(2024, 3, 31, 17, tzinfo=dt.UTC), dt.datetime(2024, 6, 30, 17, tzinfo=dt.UTC))


def test_every_figure_to_the_second(history: Engine) -> None:
    r = build(history)
    assert not r.ongoing and r.until == END
    cams = {c.id: c for c in r.cameras}
    a, b, c, d = (cams[x].b for x in "ABCD")
    # A: 48 h; not monitored 2 h minus the 70 s the last check before the gap still covers (2 × 60 s + 10 s − 60 s)
    assert a.unmonitored_s == 7200 - 70
    assert (a.down_s, a.maintenance_s, a.degraded_s) == (9000, 3600, 0)
    assert a.up_s == 172800 - (7200 - 70) - 9000 - 3600
    assert cams["A"].availability == pytest.approx(a.up_s / (a.up_s + 9000))
    # B: down 00:00–03:00 (the incident began the day before), degraded 20:00–24:00 on the 2nd, open at the end
    assert (b.down_s, b.degraded_s, b.unmonitored_s, b.up_s) == (3 * 3600, 4 * 3600, 0, 41 * 3600)
    # C: added at noon on the 2nd: 12 h counted, all up
    assert cams["C"].window == (vn(2, 12), END) and (c.up_s, c.unmonitored_s) == (12 * 3600, 0)
    # D: removed at noon on the 1st while down since 06:00: 12 h counted, 6 h down
    assert cams["D"].window == (START, vn(1, 12)) and (d.up_s, d.down_s) == (6 * 3600, 6 * 3600)
    assert cams["D"].retired

    yd, cd = (next(x for x in r.communes if x.id == i) for i in ("yen-dinh", "cam-dan"))
    f = yd.figures
    assert f.cameras == 2 and f.incidents == 3 and f.open_at_end == 1
    assert f.down_s == 9000 + 3 * 3600 and f.degraded_s == 4 * 3600 and f.maintenance_s == 3600
    assert f.longest_s == 3 * 3600  # B's black, within the period (A's offline was 2.5 h)
    assert f.mttr_s == (9000 + 7 * 3600) / 2 and f.median_s == (9000 + 7 * 3600) / 2  # closed ones, full length
    assert f.problem_cameras == ["B"]
    assert f.by_kind == {"offline": 1, "black": 1, "blurred": 1}
    # previous period: A all up for 48 h; B down 20:00–24:00 on 31/03 → 92 of 96 judged hours up
    assert f.previous == pytest.approx(92 / 96)
    ups = a.up_s + b.up_s
    assert yd.availability == pytest.approx(ups / (ups + f.down_s + f.degraded_s))
    assert cd.availability == pytest.approx(18 / 24)
    assert [x.name for x in r.communes] == ["Cẩm Đàn", "Yên Định"]  # Vietnamese order
    # the daily line: day 1 and day 2, each the district's up / judged of that day
    (d1, v1), (d2, _) = r.daily
    assert (d1, d2) == (dt.date(2024, 4, 1), dt.date(2024, 4, 2))
    day1_judged = (86400 - 7130) + 86400 + 43200
    assert v1 == pytest.approx((day1_judged - 9000 - 3 * 3600 - 6 * 3600) / day1_judged)


def test_formats_are_vietnamese_by_default() -> None:
    from camwatch import words

    assert words.pct(0.985, "vi") == "98,5 %" and words.pct(0.985, "en") == "98.5%"
    assert words.date(vn(30, 0, month=6), VN) == "30/06/2024"
    assert words.hours(5400, "vi") == "1,5" and words.duration(3900, "vi") == "1 giờ 5 phút"
    assert words.hms(38 * 3600 + 5 * 60) == "38:05:00" and words.hms(6590) == "1:49:50"
    assert words.pct_change(-0.074, "vi") == "−7,4 %" and words.long_date(dt.date(2024, 4, 2), "vi") == \
        "ngày 02 tháng 4 năm 2024"
    assert words.until_today(vn(2, 14 + 5 / 60), VN, "vi") == "đến 14:05 hôm nay"


# ---------------------------------------------------------------- the golden report
# camwatch/report/sample.py writes a known history through the store (sync_cameras, record_check after the
# health state machine, add_maintenance): checks every 10 minutes, the report made at 14:05 on its last day.
# Every figure below is derived by hand from that history, in seconds.

H, M = 3600, 60
COUNTED = 38 * H + 5 * M  # 01/04 00:00 → 02/04 14:05 (now): nothing after now is counted
# camera: (commune, counted, up, down, degraded, maintenance, not monitored, incidents, worst fault)
CAMERAS = {
    # removed at 12:00 on the 1st, offline since 06:00
    "CD-01": ("Cẩm Đàn", 12 * H, 6 * H, 6 * H, 0, 0, 0, 1, "mất kết nối"),
    # added at 12:00 on the 1st; frozen 06:00–07:00 on the 2nd
    "CD-02": ("Cẩm Đàn", 26 * H + 5 * M, 25 * H + 5 * M, 1 * H, 0, 0, 0, 1, "hình bị đứng"),
    # offline all along: down to now (not to the end of the period)
    "DH-01": ("Dương Hưu", COUNTED, 0, COUNTED, 0, 0, 0, 1, "mất kết nối"),
    # no check from 02:00 to 04:00: the 01:50 check covers 2 × 600 s + 10 s, so 1:49:50 not monitored;
    # offline 10:00–12:30 (the first good check); maintenance 08:00–09:00 on the 2nd
    "YD-01": ("Yên Định", COUNTED, COUNTED - (H + 49 * M + 50) - (2 * H + 30 * M) - H, 2 * H + 30 * M, 0, H,
              H + 49 * M + 50, 1, "mất kết nối"),
    # black since 20:00 on 31/03 until 03:00 (3 h inside); blurred from 10:00 on the 2nd, still open (to 14:05)
    "YD-02": ("Yên Định", COUNTED, COUNTED - 3 * H - (4 * H + 5 * M), 3 * H, 4 * H + 5 * M, 0, 0, 2, "màn hình đen"),
}
# incidents, oldest first: (camera, kind, start, end or None, in the period, time to repair)
INCIDENTS = [
    ("DH-01", "mất kết nối", sample.local(31, 0, month=3), None, COUNTED, None),
    ("YD-02", "màn hình đen", sample.local(31, 20, month=3), sample.local(1, 3), 3 * H, 7 * H),
    ("CD-01", "mất kết nối", sample.local(1, 6), None, 6 * H, None),
    ("YD-01", "mất kết nối", sample.local(1, 10), sample.local(1, 12.5), 2 * H + 30 * M, 2 * H + 30 * M),
    ("CD-02", "hình bị đứng", sample.local(2, 6), sample.local(2, 7), H, H),
    ("YD-02", "hình bị mờ", sample.local(2, 10), None, 4 * H + 5 * M, None),
]


def _sum(field: int, cams: list[str] | None = None) -> float:
    return sum(v[field] for k, v in CAMERAS.items() if cams is None or k in cams)


def _availability(cams: list[str] | None = None) -> float:
    return _sum(2, cams) / (_sum(2, cams) + _sum(3, cams) + _sum(4, cams))


# the previous period (30/03–31/03; the cameras exist from 31/03 00:00): YD-01 up 24 h, YD-02 down 20:00–24:00,
# CD-01 up 24 h, DH-01 down 24 h
PREVIOUS = {"Yên Định": 44 / 48, "Cẩm Đàn": 1.0, "Dương Hưu": 0.0, None: 68 / 96}
COMMUNES = {"Cẩm Đàn": ["CD-01", "CD-02"], "Dương Hưu": ["DH-01"], "Yên Định": ["YD-01", "YD-02"]}  # Vietnamese order


@pytest.fixture
def golden(engine: Engine) -> report.Report:
    sample.write_history(engine)
    with engine.connect() as conn:
        return report.build(conn, cfgmod.loads(sample.CONFIG),
                            *report.period(sample.FIRST_DAY, sample.LAST_DAY, VN), sample.NOW)


def test_golden_figures_stop_at_now(golden: report.Report) -> None:
    r = golden
    assert r.ongoing and r.until == sample.NOW and r.end == vn(3, 0)
    assert [co.name for co in r.communes] == list(COMMUNES)
    for c in r.cameras:
        commune, counted, up, down, degraded, maint, unmon, n, worst = CAMERAS[c.id]
        assert c.b is not None and c.window is not None
        assert (r.commune_name(c.commune), (c.window[1] - c.window[0]).total_seconds()) == (commune, counted), c.id
        assert (c.b.up_s, c.b.down_s, c.b.degraded_s, c.b.maintenance_s, c.b.unmonitored_s) == \
            (up, down, degraded, maint, unmon), c.id
        assert len(c.incidents) == n and words.verdict_name(c.worst_fault or "", "vi") == worst
    assert {c.id for c in r.cameras if c.added_at} == {"CD-02"} and {c.id for c in r.cameras if c.retired} == {"CD-01"}
    assert [(i.camera, words.verdict_name(i.kind, "vi"), i.started_at, i.closed_at, i.in_period_s, i.duration_s)
            for i in r.incidents] == INCIDENTS
    f = r.figures
    assert (f.cameras, f.up_s, f.down_s, f.degraded_s, f.maintenance_s, f.unmonitored_s) == \
        (5, _sum(2), _sum(3), _sum(4), _sum(5), _sum(6))
    assert f.availability == pytest.approx(_availability()) and f.previous == pytest.approx(PREVIOUS[None])
    assert f.longest_s == COUNTED  # DH-01, to now: not to the end of the period
    assert f.mttr_s == (7 * H + 2.5 * H + H) / 3 and f.median_s == 2.5 * H and f.open_at_end == 3
    assert f.by_kind == {"offline": 3, "black": 1, "frozen": 1, "blurred": 1} and f.never_up == ["DH-01"]
    for co in r.communes:
        assert co.availability == pytest.approx(_availability(COMMUNES[co.name]))
        assert co.figures.previous == pytest.approx(PREVIOUS[co.name])
    # per day, the district's up / judged: the 2nd only to 14:05
    day1_up = (24 * H - (H + 49 * M + 50) - 2.5 * H) + 21 * H + 12 * H + 6 * H
    day1_judged = (24 * H - (H + 49 * M + 50)) + 24 * H + 12 * H + 12 * H + 24 * H
    day2 = 14 * H + 5 * M
    assert r.daily == [(sample.FIRST_DAY, pytest.approx(day1_up / day1_judged)),
                       (sample.LAST_DAY, pytest.approx((day2 - H + day2 - (4 * H + 5 * M) + day2 - H) / (4 * day2 - H)))]


def _camera_text(cam: str, lang: str = "vi") -> list[str]:
    """The per-camera row as a person reads it (HTML, PDF)."""
    commune, _, up, down, degraded, maint, unmon, n, worst = CAMERAS[cam]
    return [cam, commune, words.pct(up / (up + down + degraded), lang), *(words.hms(x) for x in (down, degraded, maint,
                                                                                                  unmon)), str(n), worst]


def test_golden_csv_is_the_header_and_one_row_per_camera(golden: report.Report) -> None:
    data = report.to_csv(golden, "vi")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Camera", "Tên", "Xã/thị trấn", "Tỷ lệ hoạt động", "Mất tín hiệu", "Kém chất lượng", "Bảo trì",
                       "Không giám sát", "Số sự cố", "Lỗi nặng nhất", "Ghi chú"]
    assert [row[0] for row in rows[1:]] == list(CAMERAS)  # nothing else: no title, no totals
    for row in rows[1:]:
        commune, _, up, down, degraded, maint, unmon, n, worst = CAMERAS[row[0]]
        assert row[2:10] == [commune, f"{100 * up / (up + down + degraded):.1f}",
                             *(words.hms(x) for x in (down, degraded, maint, unmon)), str(n), worst]
    assert report.file_name(golden, "csv", "vi") == "bao-cao-camera-huyen-son-dong-2024-04-01-2024-04-02.csv"


def test_golden_xlsx_has_numbers_dates_and_empty_open_ends(golden: report.Report, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    report.write(golden, "xlsx", "vi", path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Tổng hợp", "Theo xã", "Theo camera", "Danh sách sự cố", "Tỷ lệ hoạt động theo ngày"]
    secs = lambda v: round(v.total_seconds())  # noqa: E731  durations are Excel durations ([h]:mm:ss)
    for row in wb["Theo camera"].iter_rows(min_row=2, values_only=True):
        commune, _, up, down, degraded, maint, unmon, n, _worst = CAMERAS[row[0]]
        assert row[2] == commune and row[3] == pytest.approx(up / (up + down + degraded))
        assert [secs(v) for v in row[4:8]] == [down, degraded, maint, unmon] and row[8] == n
    ws = wb["Theo camera"]
    assert ws["D2"].number_format == "0.0%" and ws["E2"].number_format == "[h]:mm:ss" and ws.freeze_panes == "A2"
    incs = list(wb["Danh sách sự cố"].iter_rows(min_row=2, values_only=True))
    assert [(i[0], i[2], i[3], i[4], i[5], secs(i[6])) for i in incs] == [
        (cam, kind, a.astimezone(VN).replace(tzinfo=None), b.astimezone(VN).replace(tzinfo=None) if b else None,
         "đã khắc phục" if b else "chưa khắc phục", inside) for cam, kind, a, b, inside, _ in INCIDENTS]
    communes = {row[0]: row for row in wb["Theo xã"].iter_rows(min_row=2, values_only=True)}
    assert list(communes) == list(COMMUNES)
    for name, cams in COMMUNES.items():
        assert communes[name][2] == pytest.approx(_availability(cams))
        assert [secs(v) for v in communes[name][3:7]] == [_sum(k, cams) for k in (3, 4, 5, 6)]
    summary = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Tỷ lệ hoạt động"] == pytest.approx(_availability()) and summary["Số camera được giám sát"] == 5
    assert secs(summary["Gián đoạn dài nhất"]) == COUNTED and secs(summary["Không giám sát"]) == _sum(6)
    assert summary["Kỳ báo cáo"] == "từ 01/04/2024 đến 02/04/2024 (đến 14:05 hôm nay)"
    assert len(wb["Theo xã"]._charts) == 1 and len(wb["Tỷ lệ hoạt động theo ngày"]._charts) == 1


class Cells(HTMLParser):
    """The HTML page's tables as lists of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _summary_text(lang: str = "vi") -> dict[str, str]:
    return {"Tỷ lệ hoạt động": words.pct(_availability(), lang), "Kỳ trước": words.pct(PREVIOUS[None], lang),
            "Mất tín hiệu": words.hms(_sum(3)), "Kém chất lượng": words.hms(_sum(4)), "Bảo trì": words.hms(_sum(5)),
            "Không giám sát": words.hms(_sum(6)), "Gián đoạn dài nhất": "38:05:00", "Số sự cố": "6",
            "Thời gian khắc phục trung bình": "3:30:00", "Trung vị thời gian khắc phục": "2:30:00",
            "Sự cố chưa khắc phục cuối kỳ": "3", "Camera không hoạt động cả kỳ": "DH-01", "Lập lúc": "02/04/2024 14:05:00"}


def test_golden_html_shows_the_same_figures(golden: report.Report) -> None:
    parser = Cells()
    parser.feed(report.to_html(golden, "vi"))
    _head, summary, _signatures, communes, cameras, incidents, daily = parser.tables
    assert {row[0]: row[1] for row in summary[1:]}.items() >= _summary_text().items()
    assert [[row[0], *row[2:10]] for row in cameras[1:]] == [_camera_text(c) for c in CAMERAS]
    assert [row[0] for row in communes[1:]] == list(COMMUNES)
    assert [row[2] for row in communes[1:]] == [words.pct(_availability(c), "vi") for c in COMMUNES.values()]
    assert [row[4] for row in incidents[1:]] == [words.moment(b, VN) if b else "" for *_, b, _, _ in INCIDENTS]
    assert [row[5] for row in incidents[1:]] == ["chưa khắc phục" if b is None else "đã khắc phục"
                                                 for *_, b, _, _ in INCIDENTS]
    assert [row[0] for row in daily[1:]] == ["01/04/2024", "02/04/2024"]


def _pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _paper_sizes(path: Path, pages: int) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(pages), str(path)], capture_output=True, text=True,
                          check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", info)]


def test_golden_pdf_is_an_a4_administrative_report(golden: report.Report, tmp_path: Path) -> None:
    if report.chromium() is None or shutil.which("pdftotext") is None:
        pytest.fail("Chromium and poppler-utils are needed (scripts/setup.sh --test installs them)")
    pdf = tmp_path / "r.pdf"
    report.write(golden, "pdf", "vi", pdf)
    pages = _pdf_pages(pdf)
    n = len(pages)
    assert n == 6  # the report (summary, charts and signatures), then four annexes
    for w, h in _paper_sizes(pdf, n):  # A4: 210 × 297 mm, portrait or (the annexes) landscape
        assert sorted((round(w * 25.4 / 72), round(h * 25.4 / 72))) == [210, 297]
    for k, page in enumerate(pages, 1):
        assert re.search(rf"Trang {k}/{n}\s*$", page), page[-200:]
    first = " ".join(pages[0].split())
    for line in ("CÔNG AN TỈNH BẮC GIANG", "CÔNG AN HUYỆN SƠN ĐỘNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "Độc lập - Tự do - Hạnh phúc", "Sơn Động, ngày 02 tháng 4 năm 2024", "BÁO CÁO",
                 "Kỳ báo cáo: từ 01/04/2024 đến 02/04/2024 (đến 14:05 hôm nay)", "Lập lúc: 02/04/2024 14:05:00"):
        assert line in first, line
    text = "\n".join(pages)
    assert "NGƯỜI LẬP BIỂU" in text and "THỦ TRƯỞNG ĐƠN VỊ" in text and "Nguyễn Văn An" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for label, value in _summary_text().items():
        assert any(line.startswith(label) and line.endswith(value) for line in lines), (label, value)
    for cam in CAMERAS:  # each camera's row: its figures in order on one line
        row = next(line for line in lines if line.startswith(cam + " ") and CAMERAS[cam][0] in line)
        assert re.search(".*".join(map(re.escape, _camera_text(cam)[2:])), row), row
    # tables never split a word: every word of every name is whole somewhere in the text
    tokens = set(text.split())
    names = [n for c in golden.cameras for n in (c.name, golden.commune_name(c.commune))]
    assert {w for name in names for w in name.split()} <= tokens


def _texts(svg: str) -> list[tuple[float, float, float, str, str]]:
    out = []
    for m in re.finditer(r'<text style="([^"]*)" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        size = float(re.search(r"font-size: ([\d.]+)px", m[1])[1])
        anchor = re.search(r"text-anchor: (\w+)", m[1])
        out.append((float(m[2]), float(m[3]), size, anchor[1] if anchor else "start", html.unescape(m[4])))
    return out


def _overlapping(svg: str) -> list[tuple[str, str]]:
    boxes = []
    for x, y, size, anchor, text in _texts(svg):
        width = 0.6 * size * len(text)
        x0 = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        boxes.append((x0, x0 + width, y - size, y, text))
    return [(a[4], b[4]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]]


def test_golden_charts_read_at_a_glance(golden: report.Report, engine: Engine) -> None:
    from camwatch.report import charts

    bars = charts.availability_by_commune(golden, "vi")
    labels = [t[4] for t in _texts(bars)]
    for name, cams in COMMUNES.items():
        assert name in labels and words.pct(_availability(cams), "vi") in labels
    # Dương Hưu at 0 %: a bar that can be seen (drawn in the "poor" colour), and its label
    widths = [max(xs) - min(xs) for d in re.findall(rf'<path d="([^"]+)"[^>]*fill: {charts.POOR}', bars)
              if (xs := [float(v) for v in re.findall(r"[ML] ?([\d.]+) ", d)])]
    assert widths and min(widths) > 1
    kinds = charts.incidents_by_kind(golden, "vi")
    assert kinds is not None and {"mất kết nối", "màn hình đen", "hình bị đứng", "hình bị mờ"} <= {t[4] for t in _texts(kinds)}
    for svg in (bars, kinds, charts.daily_line(golden, "vi")):
        assert _overlapping(svg) == []
    # the daily line uses the period's own days: one day is one day, a month is its days
    with engine.connect() as conn:
        config = cfgmod.loads(sample.CONFIG)
        one = report.build(conn, config, *report.period(sample.FIRST_DAY, sample.FIRST_DAY, VN), sample.NOW)
        month = report.build(conn, config, *report.period(dt.date(2024, 4, 1), dt.date(2024, 4, 30), VN), sample.NOW)
    ticks = [t[4] for t in _texts(charts.daily_line(one, "vi")) if re.fullmatch(r"\d\d/\d\d", t[4])]
    assert ticks == ["01/04"]
    ticks = [t[4] for t in _texts(charts.daily_line(month, "vi")) if re.fullmatch(r"\d\d/\d\d", t[4])]
    assert ticks[0] == "01/04" and ticks[-1][3:] == "04" and len(ticks) >= 10
    assert [v is None for _, v in month.daily] == [False, False] + [True] * 28  # not yet come: gaps, not zeros


def test_docs_pictures_are_regenerated_by_the_script(tmp_path: Path) -> None:
    if report.chromium() is None or shutil.which("pdftoppm") is None:
        pytest.fail("Chromium and poppler-utils are needed (scripts/setup.sh --test installs them)")
    script = Path(__file__).parent.parent / "scripts" / "render_report_docs.py"
    res = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == [f"bao-cao-{k}.png" for k in range(1, 7)]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in tmp_path.glob("*.png"))
    docs = Path(__file__).parent.parent / "docs" / "report"
    assert sorted(p.name for p in docs.glob("*.png")) == made  # the committed pictures are the script's pages


def test_report_settings_are_strict() -> None:
    cfg = cfgmod.loads(sample.CONFIG)
    assert cfg.file.report.unit == "CÔNG AN HUYỆN SƠN ĐỘNG" and cfg.file.report.signers is not None
    assert [s.title for s in cfg.file.report.signers] == ["Người lập biểu", "Thủ trưởng đơn vị"]
    with pytest.raises(cfgmod.ConfigError, match="signer"):
        cfgmod.loads(sample.CONFIG.replace('place = "Sơn Động"', 'place = "Sơn Động"\nsigner = "x"'))


def test_report_command_writes_the_file(history: Engine, db_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(CONFIG.replace('name = "Huyện Sơn Động"', f'name = "Huyện Sơn Động"\ndatabase_url = "{db_url}"'),
                   encoding="utf-8")
    out = tmp_path / "bao-cao.xlsx"
    res = subprocess.run([sys.executable, "-m", "camwatch", "report", "--from", "2024-04-01", "--to", "2024-04-02",
                          "-o", str(out), "-c", str(cfg)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.exists() and "availability" in res.stdout
    # into a folder: the file is named after the report (a CSV holds nothing but its table)
    res = subprocess.run([sys.executable, "-m", "camwatch", "report", "--from", "01/04/2024", "--to", "02/04/2024",
                          "--format", "csv", "-o", str(tmp_path), "-c", str(cfg)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "bao-cao-camera-huyen-son-dong-2024-04-01-2024-04-02.csv").exists()
    later = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    res = subprocess.run([sys.executable, "-m", "camwatch", "report", "--from", later, "--to", later, "-o", str(out),
                          "-c", str(cfg)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "has not begun" in res.stderr


def test_monthly_report_is_emailed_once_with_the_file(history: Engine, tmp_path: Path) -> None:
    from email.header import decode_header, make_header

    from camwatch.alerts.outbox import monthly_report, send_due
    from camwatch.alerts.smtp import SmtpTransport
    from tests.smtp_sink import SmtpServer

    smtp = SmtpServer().start()
    try:
        config = cfgmod.loads(CONFIG + f"""
[smtp]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
[report]
monthly_to = ["doi"]
[[technicians]]
id = "doi"
name = "Đội Kỹ thuật"
email = "doi@example.vn"
""")
        may_first = vn(1, 8, month=5)
        with history.begin() as conn:
            assert monthly_report(conn, config, may_first, tmp_path) == 1
        with history.begin() as conn:
            assert monthly_report(conn, config, may_first + dt.timedelta(days=3), tmp_path) == 0  # once a month
        name = "bao-cao-camera-huyen-son-dong-2024-04-01-2024-04-30.xlsx"  # the title and the period
        assert (tmp_path / name).exists()
        assert send_due(history, config, SmtpTransport.from_config(config).send, "n", lambda: may_first) == (1, 0)
        (msg,) = smtp.sink.messages
        assert str(make_header(decode_header(msg["Subject"]))) == "[camwatch] Báo cáo tháng 2024-04 – Huyện Sơn Động"
        (att,) = list(msg.iter_attachments())
        assert att.get_filename() == name and "spreadsheetml" in att.get_content_type()
    finally:
        smtp.stop()
