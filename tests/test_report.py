"""The availability report: a history with known intervals, every figure asserted to the second; the
XLSX read back with openpyxl; the HTML rendered in a real headless Chromium; the PDF's pages."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from camwatch import config as cfgmod
from camwatch import report
from camwatch.store import repo
from camwatch.store.schema import cameras, checks, incidents

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


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
    with engine.connect() as conn:
        return report.build(conn, config, *report.period(dt.date(2024, 4, 1), dt.date(2024, 4, 2), VN))


def test_period_is_local_days_in_utc() -> None:
    assert report.period(dt.date(2024, 4, 1), dt.date(2024, 6, 30), VN) == (
        dt.datetime(2024, 3, 31, 17, tzinfo=dt.UTC), dt.datetime(2024, 6, 30, 17, tzinfo=dt.UTC))


def test_every_figure_to_the_second(history: Engine) -> None:
    r = build(history)
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
    f = report.commune_figures(yd)
    assert f["cameras"] == 2 and f["incidents"] == 3 and f["open_at_end"] == 1
    assert f["down_s"] == 9000 + 3 * 3600 and f["degraded_s"] == 4 * 3600 and f["maintenance_s"] == 3600
    assert f["longest_s"] == 3 * 3600  # B's black, within the period (A's offline was 2.5 h)
    assert f["mttr_s"] == (9000 + 7 * 3600) / 2 and f["median_s"] == (9000 + 7 * 3600) / 2  # closed ones, full length
    assert f["problem_cameras"] == ["B"]
    assert f["by_kind"] == {"offline": 1, "black": 1, "blurred": 1}
    # previous period: A all up for 48 h; B down 20:00–24:00 on 31/03 → 92 of 96 judged hours up
    assert f["previous"] == pytest.approx(92 / 96)
    ups = a.up_s + b.up_s
    assert yd.availability == pytest.approx(ups / (ups + f["down_s"] + f["degraded_s"]))
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


def test_xlsx_opens_with_numbers_not_text(history: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    report.write(build(history), "xlsx", "vi", path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Tổng hợp", "Theo xã", "Theo camera", "Danh sách sự cố", "Tỷ lệ hoạt động theo ngày"]
    ws = wb["Theo xã"]
    assert ws["A2"].value == "Cẩm Đàn" and ws["A3"].value == "Yên Định"
    assert isinstance(ws["C3"].value, float) and ws["C3"].number_format == "0.0%"
    assert ws["H3"].value == 3 and ws.freeze_panes == "A2"
    assert len(ws._charts) == 1 and len(wb["Tỷ lệ hoạt động theo ngày"]._charts) == 1
    inc = wb["Danh sách sự cố"]
    rows = {r[0].value: r for r in inc.iter_rows(min_row=2)}
    assert rows["A"][3].value == dt.datetime(2024, 4, 1, 10, 0)  # a real date-time, in Vietnam time
    assert rows["A"][5].value == 2.5 and rows["A"][5].number_format == "0.0"


def test_csv_is_utf8_with_bom(history: Engine, tmp_path: Path) -> None:
    data = report.to_csv(build(history), "vi")
    assert data.startswith(b"\xef\xbb\xbf") and "Yên Định".encode() in data


def test_html_renders_in_a_real_browser_and_pdf_has_pages(history: Engine, tmp_path: Path) -> None:
    browser = report.chromium()
    if browser is None:
        pytest.fail("Chromium is not installed (scripts/setup.sh --test installs it)")
    r = build(history)
    html_path = tmp_path / "r.html"
    report.write(r, "html", "vi", html_path)
    text = html_path.read_text(encoding="utf-8")
    assert "Theo xã" in text and "<svg" in text and "Cẩm Đàn" in text
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([browser, *report.chromium_args(str(tmp_path / "profile")), "--window-size=1200,1600",
                    f"--screenshot={shot}", html_path.as_uri()], check=True, capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    pdf = tmp_path / "r.pdf"
    report.write(r, "pdf", "en", pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type/Page\n") + \
        data.count(b"/Type /Page/") + data.count(b"/Type /Page ") >= 1


def test_report_command_writes_the_file(history: Engine, db_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(CONFIG.replace('name = "Huyện Sơn Động"', f'name = "Huyện Sơn Động"\ndatabase_url = "{db_url}"'),
                   encoding="utf-8")
    out = tmp_path / "bao-cao.xlsx"
    res = subprocess.run([sys.executable, "-m", "camwatch", "report", "--from", "2024-04-01", "--to", "2024-04-02",
                          "-o", str(out), "-c", str(cfg)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.exists() and "availability" in res.stdout


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
        assert (tmp_path / "camwatch-2024-04-vi.xlsx").exists()
        assert send_due(history, config, SmtpTransport.from_config(config).send, "n", lambda: may_first) == (1, 0)
        (msg,) = smtp.sink.messages
        assert str(make_header(decode_header(msg["Subject"]))) == "[camwatch] Báo cáo tháng 2024-04 – Huyện Sơn Động"
        (att,) = list(msg.iter_attachments())
        assert att.get_filename() == "camwatch-2024-04-vi.xlsx" and "spreadsheetml" in att.get_content_type()
    finally:
        smtp.stop()
