"""The report's renderers: CSV, XLSX (openpyxl, native numbers and charts), HTML (`page`) and PDF (that page
printed by headless Chromium). All of them write the tables of `tables`: they differ in layout, not in figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from camwatch.report import tables as T
from camwatch.report.figures import Report
from camwatch.report.page import to_html

__all__ = ["chromium", "chromium_args", "file_name", "to_csv", "to_html", "to_pdf", "to_xlsx", "write"]

FILE_WORDS = {"vi": "bao-cao-camera", "en": "camera-report"}


def file_name(r: Report, fmt: str, lang: str) -> str:
    """The title in the file name (a CSV holds nothing but its table): bao-cao-camera-huyen-son-dong-2024-04-01-2024-04-30.csv"""
    last = (r.end - dt.timedelta(seconds=1)).astimezone(r.tz).date()
    words = f"{FILE_WORDS[lang]} {r.district} {r.commune_filter or ''} {r.start.astimezone(r.tz).date()} {last}"
    ascii_ = unicodedata.normalize("NFD", words.replace("Đ", "D").replace("đ", "d")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") + f".{fmt}"


def to_csv(r: Report, lang: str) -> bytes:
    """The header, then one row per camera; nothing else (UTF-8 with a BOM so Excel shows the Vietnamese names)."""
    t = T.cameras(r, lang)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow([label for label, _ in t.columns])
    for row in t.rows:
        out.writerow([T.machine(v, kind, r.tz) for v, (_, kind) in zip(row, t.columns, strict=True)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


XLSX_FORMATS = {"pct": "0.0%", "change": "+0.0%;-0.0%;0.0%", "duration": "[h]:mm:ss", "moment": "dd/mm/yyyy hh:mm:ss",
                "day": "dd/mm/yyyy", "int": "0"}


def _xlsx_value(value: Any, kind: T.Kind, r: Report) -> tuple[Any, str | None]:
    value, kind = T.kind_of(value, kind)
    if value is None:
        return None, None
    if kind == "duration":
        return dt.timedelta(seconds=round(value)), XLSX_FORMATS[kind]
    if kind == "moment":
        return value.astimezone(r.tz).replace(tzinfo=None), XLSX_FORMATS[kind]
    return value, XLSX_FORMATS.get(kind)


def to_xlsx(r: Report, lang: str, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.styles import Alignment, Font

    w = T.L[lang]
    wb = Workbook()
    sheets = {"summary": w["summary"], "per_commune": w["per_commune"], "per_camera": w["per_camera"],
              "incident_list": w["incident_list"], "daily": w["daily"]}
    for n, t in enumerate(T.all_tables(r, lang)):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = sheets[t.key]
        ws.append([label for label, _ in t.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        widths = [len(label) for label, _ in t.columns]
        for k, row in enumerate(t.rows, 2):
            for col, (v, (_, kind)) in enumerate(zip(row, t.columns, strict=True), 1):
                value, fmt = _xlsx_value(v, kind, r)
                cell = ws.cell(row=k, column=col, value=value)
                if fmt:
                    cell.number_format = fmt
                widths[col - 1] = max(widths[col - 1], len(T.text(v, kind, lang, r.tz)))
        ws.freeze_panes = "A2"
        for col, width in enumerate(widths, 1):
            ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = min(60, max(9, width + 2))
        if t.key == "per_commune" and t.rows:
            bar = BarChart()
            bar.type, bar.title, bar.legend = "bar", w["availability"], None
            bar.y_axis.numFmt, bar.y_axis.scaling.min, bar.y_axis.scaling.max = "0%", 0, 1
            bar.add_data(Reference(ws, min_col=3, min_row=1, max_row=len(t.rows) + 1), titles_from_data=True)
            bar.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(t.rows) + 1))
            bar.dataLabels = DataLabelList(showVal=True)
            bar.width, bar.height = 24, 2 + len(t.rows)
            ws.add_chart(bar, f"A{len(t.rows) + 4}")
        if t.key == "daily" and t.rows:
            line = LineChart()
            line.title, line.legend = w["daily"], None
            line.y_axis.numFmt, line.y_axis.scaling.min, line.y_axis.scaling.max = "0%", 0, 1
            line.add_data(Reference(ws, min_col=2, min_row=1, max_row=len(t.rows) + 1), titles_from_data=True)
            line.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(t.rows) + 1))
            line.width, line.height = 24, 10
            ws.add_chart(line, "D2")
    wb.save(path)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium_args(user_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_dir}"]


def to_pdf(html_text: str, path: Path) -> None:
    """Print the page with headless Chromium: A4 and the page numbers come from the page's own CSS (`@page`)."""
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
