"""The report's renderers: CSV, XLSX (openpyxl, native charts), HTML (charts as inline SVG from
matplotlib) and PDF (the HTML printed by headless Chromium). They differ in layout, not in figures."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import shutil
import statistics
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from camwatch.report.figures import Report, commune_figures
from camwatch.words import date, hours, pct, verdict_name

L = {
    "vi": {"title": "Báo cáo tình trạng hoạt động camera an ninh", "period": "Kỳ báo cáo", "district": "Toàn huyện",
           "commune": "Xã/thị trấn", "cameras": "Số camera", "availability": "Tỷ lệ hoạt động", "downtime": "Mất tín hiệu (giờ)",
           "degraded": "Kém chất lượng (giờ)", "maintenance": "Bảo trì (giờ)", "unmonitored": "Không giám sát (giờ)",
           "incidents": "Số sự cố", "mttr": "Thời gian khắc phục TB (giờ)", "median": "Trung vị khắc phục (giờ)",
           "longest": "Gián đoạn dài nhất (giờ)", "problems": "Camera lỗi hình/giờ", "open_end": "Sự cố chưa xử lý cuối kỳ",
           "previous": "Kỳ trước", "change": "Thay đổi", "camera": "Camera", "name": "Tên", "location": "Vị trí",
           "kind": "Loại sự cố", "start": "Bắt đầu", "end": "Kết thúc", "duration": "Thời lượng (giờ)", "open": "chưa xử lý",
           "never_up": "Camera không hoạt động cả kỳ", "worst": "Camera hoạt động kém nhất", "by_kind": "Sự cố theo loại",
           "day": "Ngày", "daily": "Tỷ lệ hoạt động theo ngày", "summary": "Tổng hợp", "per_commune": "Theo xã",
           "per_camera": "Theo camera", "incident_list": "Danh sách sự cố", "monitored": "Camera được giám sát",
           "definition": "Tỷ lệ hoạt động = thời gian có hình tốt / (có hình tốt + mất tín hiệu + kém chất lượng); "
                         "thời gian bảo trì và không giám sát được tính riêng."},
    "en": {"title": "Security camera availability report", "period": "Period", "district": "District",
           "commune": "Commune", "cameras": "Cameras", "availability": "Availability", "downtime": "Down (hours)",
           "degraded": "Degraded (hours)", "maintenance": "Maintenance (hours)", "unmonitored": "Not monitored (hours)",
           "incidents": "Incidents", "mttr": "Mean time to repair (h)", "median": "Median time to repair (h)",
           "longest": "Longest outage (h)", "problems": "Cameras with picture/clock problems", "open_end": "Open at end",
           "previous": "Previous period", "change": "Change", "camera": "Camera", "name": "Name", "location": "Location",
           "kind": "Kind", "start": "Start", "end": "End", "duration": "Duration (h)", "open": "open",
           "never_up": "Cameras never up", "worst": "Worst cameras", "by_kind": "Incidents by kind",
           "day": "Day", "daily": "Daily availability", "summary": "Summary", "per_commune": "Per commune",
           "per_camera": "Per camera", "incident_list": "Incidents", "monitored": "Cameras monitored",
           "definition": "Availability = up / (up + down + degraded); maintenance and not-monitored time are shown apart."},
}
# ---------------------------------------------------------------- renderers

def to_csv(r: Report, lang: str) -> bytes:
    w = L[lang]
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow([w["title"], r.district, f"{date(r.start, r.tz)} – {date(r.end - dt.timedelta(seconds=1), r.tz)}"])
    out.writerow([w["commune"], w["camera"], w["name"], w["location"], w["availability"], w["downtime"], w["degraded"],
                  w["maintenance"], w["unmonitored"], w["incidents"]])
    for co in r.communes:
        for c in co.cameras:
            b = c.b
            out.writerow([co.name, c.id, c.name, c.location,
                          "" if c.availability is None else round(100 * c.availability, 2),
                          *(round(getattr(b, a) / 3600, 2) if b else "" for a in ("down_s", "degraded_s", "maintenance_s",
                                                                                  "unmonitored_s")),
                          len(c.incidents)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese CSV correctly


def to_xlsx(r: Report, lang: str, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Alignment, Font

    w = L[lang]
    wb = Workbook()
    bold = Font(bold=True)
    pct_fmt, h_fmt, d_fmt = "0.0%", "0.0", "dd/mm/yyyy hh:mm"

    def table(ws: Any, header: list[str], rows: list[list[Any]], fmts: dict[int, str], first_row: int = 1) -> None:
        ws.append(header)
        for cell in ws[first_row]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            ws.append(row)
        for col, fmt in fmts.items():
            for (cell,) in ws.iter_rows(min_row=first_row + 1, min_col=col, max_col=col):
                cell.number_format = fmt
        ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
        for i, h in enumerate(header, 1):
            width = max([len(str(h))] + [len(str(x[i - 1])) for x in rows if i - 1 < len(x) and x[i - 1] is not None])
            ws.column_dimensions[ws.cell(row=first_row, column=i).column_letter].width = min(45, max(10, width + 2))

    ws = wb.active
    ws.title = w["summary"]
    period_text = f"{date(r.start, r.tz)} – {date(r.end - dt.timedelta(seconds=1), r.tz)}"
    kinds = Counter(i.kind for i in r.incidents)
    rt = r.repair_times()
    summary = [[w["period"], period_text], [w["commune"], len(r.communes)], [w["monitored"], len(r.cameras)],
               [w["availability"], r.availability], [w["incidents"], len(r.incidents)],
               [w["mttr"], (statistics.fmean(rt) / 3600) if rt else None],
               [w["median"], (statistics.median(rt) / 3600) if rt else None],
               [w["never_up"], ", ".join(c.id for c in r.cameras if c.never_up) or "–"]]
    summary += [[f"{w['by_kind']}: {verdict_name(k, lang)}", n] for k, n in sorted(kinds.items())]
    table(ws, [w["title"], r.district], summary, {})
    ws["B5"].number_format = pct_fmt
    ws["B7"].number_format = h_fmt
    ws["B8"].number_format = h_fmt

    ws = wb.create_sheet(w["per_commune"])
    rows = []
    for co in r.communes:
        f = commune_figures(co)
        rows.append([co.name, f["cameras"], f["availability"], f["down_s"] / 3600, f["degraded_s"] / 3600,
                     f["maintenance_s"] / 3600, f["unmonitored_s"] / 3600, f["incidents"],
                     f["mttr_s"] / 3600 if f["mttr_s"] is not None else None,
                     f["median_s"] / 3600 if f["median_s"] is not None else None, f["longest_s"] / 3600,
                     ", ".join(f["problem_cameras"]), f["open_at_end"], f["previous"], f["change"]])
    table(ws, [w["commune"], w["cameras"], w["availability"], w["downtime"], w["degraded"], w["maintenance"],
               w["unmonitored"], w["incidents"], w["mttr"], w["median"], w["longest"], w["problems"], w["open_end"],
               w["previous"], w["change"]], rows, {3: pct_fmt, 4: h_fmt, 5: h_fmt, 6: h_fmt, 7: h_fmt, 9: h_fmt,
                                                   10: h_fmt, 11: h_fmt, 14: pct_fmt, 15: pct_fmt})
    if rows:
        chart = BarChart()
        chart.title, chart.y_axis.title = w["availability"], "%"
        chart.y_axis.numFmt = "0%"
        chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
        chart.width, chart.height = 24, 10
        ws.add_chart(chart, f"A{len(rows) + 4}")

    ws = wb.create_sheet(w["per_camera"])
    crow = []
    for c in r.cameras:
        b = c.b
        crow.append([c.id, c.name, next(co.name for co in r.communes if co.id == c.commune), c.location, c.availability,
                     *((getattr(b, a) / 3600) if b else None for a in ("down_s", "degraded_s", "maintenance_s",
                                                                       "unmonitored_s")), len(c.incidents)])
    table(ws, [w["camera"], w["name"], w["commune"], w["location"], w["availability"], w["downtime"], w["degraded"],
               w["maintenance"], w["unmonitored"], w["incidents"]], crow, {5: pct_fmt, 6: h_fmt, 7: h_fmt, 8: h_fmt, 9: h_fmt})

    ws = wb.create_sheet(w["incident_list"])
    irow = [[i.camera, next(co.name for co in r.communes if co.id == i.commune), verdict_name(i.kind, lang),
             i.started_at.astimezone(r.tz).replace(tzinfo=None),
             i.closed_at.astimezone(r.tz).replace(tzinfo=None) if i.closed_at else w["open"],
             (i.duration_s / 3600) if i.duration_s is not None else None] for i in r.incidents]
    table(ws, [w["camera"], w["commune"], w["kind"], w["start"], w["end"], w["duration"]], irow,
          {4: d_fmt, 5: d_fmt, 6: h_fmt})

    ws = wb.create_sheet(w["daily"])
    table(ws, [w["day"], w["availability"]], [[d, v] for d, v in r.daily], {1: "dd/mm/yyyy", 2: pct_fmt})
    if r.daily:
        line = LineChart()
        line.title = w["daily"]
        line.y_axis.numFmt = "0%"
        line.add_data(Reference(ws, min_col=2, min_row=1, max_row=len(r.daily) + 1), titles_from_data=True)
        line.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(r.daily) + 1))
        line.width, line.height = 24, 10
        ws.add_chart(line, "D2")
    wb.save(path)


def _svg_charts(r: Report, lang: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    w = L[lang]
    out = []

    def svg(fig: Any) -> str:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        plt.close(fig)
        return buf.getvalue()[buf.getvalue().index("<svg"):]

    names = [c.name for c in r.communes]
    vals = [100 * (c.availability or 0) for c in r.communes]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(names) + 1.2))
    ax.barh(names[::-1], vals[::-1], color="#2e7d32")
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(w["availability"])
    out.append(svg(fig))
    days = [d for d, v in r.daily if v is not None]
    if days:
        fig, ax = plt.subplots(figsize=(9, 3))
        ax.plot(days, [100 * v for _, v in r.daily if v is not None], marker="o", color="#1565c0")
        ax.set_ylim(0, 100)
        ax.set_title(w["daily"])
        fig.autofmt_xdate()
        out.append(svg(fig))
    kinds = Counter(i.kind for i in r.incidents)
    if kinds:
        fig, ax = plt.subplots(figsize=(9, 3))
        ax.bar([verdict_name(k, lang) for k in kinds], list(kinds.values()), color="#c62828")
        ax.set_title(w["by_kind"])
        out.append(svg(fig))
    return out


def to_html(r: Report, lang: str) -> str:
    w = L[lang]
    e = html.escape
    period_text = f"{date(r.start, r.tz)} – {date(r.end - dt.timedelta(seconds=1), r.tz)}"

    def tbl(header: list[str], rows: list[list[str]], cls: str = "") -> str:
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{e(str(x))}</td>" for x in row) + "</tr>" for row in rows)
        return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    rt = r.repair_times()
    worst = sorted((c for c in r.cameras if c.availability is not None), key=lambda c: c.availability or 0)[:5]
    summary = [[w["monitored"], str(len(r.cameras))], [w["availability"], pct(r.availability, lang)],
               [w["incidents"], str(len(r.incidents))],
               [w["median"], hours(statistics.median(rt), lang) if rt else "–"],
               [w["never_up"], ", ".join(c.id for c in r.cameras if c.never_up) or "–"],
               [w["worst"], ", ".join(f"{c.id} ({pct(c.availability, lang)})" for c in worst) or "–"]]
    communes = []
    for co in r.communes:
        f = commune_figures(co)
        change = "–" if f["change"] is None else (("+" if f["change"] >= 0 else "−") + pct(abs(f["change"]), lang))
        communes.append([co.name, str(f["cameras"]), pct(f["availability"], lang), hours(f["down_s"], lang),
                         hours(f["degraded_s"], lang), hours(f["maintenance_s"], lang), str(f["incidents"]),
                         hours(f["median_s"], lang) if f["median_s"] is not None else "–", hours(f["longest_s"], lang),
                         str(f["open_at_end"]), pct(f["previous"], lang), change])
    cams = [[c.id, c.name, c.location, pct(c.availability, lang), hours(c.b.down_s, lang) if c.b else "–",
             hours(c.b.maintenance_s, lang) if c.b else "–", hours(c.b.unmonitored_s, lang) if c.b else "–",
             str(len(c.incidents))] for c in r.cameras]
    incs = [[i.camera, verdict_name(i.kind, lang), date(i.started_at, r.tz, True),
             date(i.closed_at, r.tz, True) if i.closed_at else w["open"],
             hours(i.duration_s, lang) if i.duration_s is not None else "–"] for i in r.incidents]
    charts = "".join(f"<figure>{s}</figure>" for s in _svg_charts(r, lang))
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(w['title'])}</title>
<style>
body{{font-family:"DejaVu Sans",sans-serif;margin:24px;color:#222}} h1{{font-size:22px}} h2{{font-size:18px;margin-top:28px}}
table{{border-collapse:collapse;margin:8px 0;font-size:12px}} th,td{{border:1px solid #bbb;padding:3px 6px;text-align:left}}
th{{background:#eef}} figure{{margin:12px 0}} svg{{max-width:100%;height:auto}} .note{{font-size:12px;color:#555}}
@media print{{h2{{page-break-before:always}} h2.first{{page-break-before:avoid}}}}
</style></head><body>
<h1>{e(w['title'])} – {e(r.district)}</h1><p>{e(w['period'])}: {e(period_text)}</p>
<p class="note">{e(w['definition'])}</p>
{tbl([w['summary'], ''], summary)}
{charts}
<h2 class="first">{e(w['per_commune'])}</h2>
{tbl([w['commune'], w['cameras'], w['availability'], w['downtime'], w['degraded'], w['maintenance'], w['incidents'],
      w['median'], w['longest'], w['open_end'], w['previous'], w['change']], communes)}
<h2>{e(w['per_camera'])}</h2>
{tbl([w['camera'], w['name'], w['location'], w['availability'], w['downtime'], w['maintenance'], w['unmonitored'],
      w['incidents']], cams)}
<h2>{e(w['incident_list'])}</h2>
{tbl([w['camera'], w['kind'], w['start'], w['end'], w['duration']], incs)}
</body></html>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium_args(user_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_dir}"]


def to_pdf(html_text: str, path: Path) -> None:
    browser = chromium()
    if browser is None:
        raise RuntimeError("PDF needs Chromium (apt-get install chromium); use --format html or xlsx instead")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        subprocess.run([browser, *chromium_args(str(Path(d) / "profile")), "--no-pdf-header-footer",
                        f"--print-to-pdf={path.resolve()}", src.as_uri()], check=True, capture_output=True, timeout=120)


def write(r: Report, fmt: str, lang: str, path: Path) -> None:
    if fmt == "csv":
        path.write_bytes(to_csv(r, lang))
    elif fmt == "xlsx":
        to_xlsx(r, lang, path)
    elif fmt == "html":
        path.write_text(to_html(r, lang), encoding="utf-8")
    elif fmt == "pdf":
        to_pdf(to_html(r, lang), path)
    else:
        raise ValueError(f"unknown format {fmt!r}")
