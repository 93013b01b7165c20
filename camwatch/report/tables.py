"""The report's content as tables, once: what every format shows (they differ in layout, not in content).

A table is its columns (a label and a kind: text, int, pct, change, duration, moment, day) and rows of
raw values (seconds, ratios, UTC datetimes); each renderer writes a kind its own way (`text` for HTML
and PDF, `machine` for CSV, native numbers in XLSX).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from camwatch.report.figures import CameraRow, Report, Totals
from camwatch.words import date, hms, moment, pct, pct_change, until_today, verdict_name

Kind = Literal["text", "int", "pct", "change", "duration", "moment", "day"]

L: dict[str, dict[str, str]] = {
    "vi": {"title": "Báo cáo tình trạng hoạt động camera an ninh", "report": "BÁO CÁO",
           "subject": "Tình trạng hoạt động hệ thống camera an ninh", "charts": "Biểu đồ", "period": "Kỳ báo cáo",
           "from_to": "từ {a} đến {b}", "generated": "Lập lúc", "commune": "Xã/thị trấn", "communes": "Số xã/thị trấn",
           "cameras": "Số camera", "monitored": "Số camera được giám sát", "availability": "Tỷ lệ hoạt động",
           "down": "Mất tín hiệu", "degraded": "Kém chất lượng", "maintenance": "Bảo trì", "unmonitored": "Không giám sát",
           "incidents": "Số sự cố", "incidents_of": "Sự cố: {kind}", "mttr": "Thời gian khắc phục trung bình",
           "median": "Trung vị thời gian khắc phục", "longest": "Gián đoạn dài nhất", "problems": "Camera lỗi hình/giờ",
           "open_end": "Sự cố chưa khắc phục cuối kỳ", "previous": "Kỳ trước", "change": "Thay đổi", "camera": "Camera",
           "name": "Tên", "kind": "Loại sự cố", "start": "Bắt đầu", "end": "Kết thúc", "status": "Trạng thái",
           "in_period": "Thời lượng trong kỳ", "repair": "Thời gian khắc phục", "open": "chưa khắc phục",
           "closed": "đã khắc phục", "never_up": "Camera không hoạt động cả kỳ", "worst": "Camera hoạt động kém nhất",
           "worst_fault": "Lỗi nặng nhất", "note": "Ghi chú", "added": "lắp mới {at}", "retired": "ngừng {at}",
           "day": "Ngày", "daily": "Tỷ lệ hoạt động theo ngày", "summary": "Tổng hợp", "per_commune": "Theo xã",
           "per_camera": "Theo camera", "incident_list": "Danh sách sự cố", "by_kind": "Sự cố theo loại",
           "annex": "Phụ lục", "figure": "Chỉ tiêu", "value": "Số liệu", "none": "không có",
           "republic": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "motto": "Độc lập - Tự do - Hạnh phúc",
           "sign_here": "(Ký, ghi rõ họ tên)", "signers": "Người lập biểu|Thủ trưởng đơn vị", "page": "Trang",
           "durations": "Thời lượng ghi theo giờ:phút:giây.",
           "definition": "Tỷ lệ hoạt động = thời gian có hình tốt / (có hình tốt + mất tín hiệu + kém chất lượng); "
                         "thời gian bảo trì và không giám sát được tính riêng."},
    "en": {"title": "Security camera availability report", "report": "REPORT",
           "subject": "Availability of the security camera system", "charts": "Charts", "period": "Period",
           "from_to": "{a} to {b}", "generated": "Generated at", "commune": "Commune", "communes": "Communes",
           "cameras": "Cameras", "monitored": "Cameras monitored", "availability": "Availability", "down": "Down",
           "degraded": "Degraded", "maintenance": "Maintenance", "unmonitored": "Not monitored", "incidents": "Incidents",
           "incidents_of": "Incidents: {kind}", "mttr": "Mean time to repair", "median": "Median time to repair",
           "longest": "Longest outage", "problems": "Cameras with picture/clock problems", "open_end": "Open at the end",
           "previous": "Previous period", "change": "Change", "camera": "Camera", "name": "Name", "kind": "Kind",
           "start": "Start", "end": "End", "status": "Status", "in_period": "In the period", "repair": "Time to repair",
           "open": "open", "closed": "resolved", "never_up": "Cameras never up", "worst": "Worst cameras",
           "worst_fault": "Worst fault", "note": "Note", "added": "added {at}", "retired": "removed {at}", "day": "Day",
           "daily": "Daily availability", "summary": "Summary", "per_commune": "Per commune", "per_camera": "Per camera",
           "incident_list": "Incidents", "by_kind": "Incidents by kind", "annex": "Annex", "figure": "Figure",
           "value": "Value", "none": "none", "republic": "SOCIALIST REPUBLIC OF VIETNAM",
           "motto": "Independence - Freedom - Happiness", "sign_here": "(Signature, full name)",
           "signers": "Prepared by|Head of unit", "page": "Page", "durations": "Durations in hours:minutes:seconds.",
           "definition": "Availability = up / (up + down + degraded); maintenance and not-monitored time are shown apart."},
}


@dataclass(frozen=True)
class V:
    """A value whose kind is its own (the summary's rows mix kinds in one column)."""

    value: Any
    kind: Kind


@dataclass(frozen=True)
class Table:
    key: str  # its title's label: "summary", "per_commune", …
    columns: list[tuple[str, Kind]]  # (label, kind)
    rows: list[list[Any]]


def period_text(r: Report, lang: str) -> str:
    """"từ 01/04/2024 đến 02/04/2024", and "(đến 14:05 hôm nay)" for a period that has not ended."""
    last = r.end - dt.timedelta(seconds=1)
    text = L[lang]["from_to"].format(a=date(r.start, r.tz), b=date(last, r.tz))
    return f"{text} ({until_today(r.until, r.tz, lang)})" if r.ongoing else text


def summary(r: Report, lang: str) -> Table:
    w = L[lang]
    f = r.figures
    rows: list[list[Any]] = [
        [w["period"], V(period_text(r, lang), "text")], [w["generated"], V(r.generated_at, "moment")],
        [w["communes"], V(len(r.communes), "int")], [w["monitored"], V(f.cameras, "int")],
        [w["availability"], V(f.availability, "pct")], [w["previous"], V(f.previous, "pct")],
        [w["change"], V(f.change, "change")],
        *([w[k], V(getattr(f, f"{k}_s"), "duration")] for k in ("down", "degraded", "maintenance", "unmonitored")),
        [w["incidents"], V(f.incidents, "int")],
        *([w["incidents_of"].format(kind=verdict_name(k, lang)), V(n, "int")] for k, n in f.by_kind.items()),
        [w["mttr"], V(f.mttr_s, "duration")], [w["median"], V(f.median_s, "duration")],
        [w["longest"], V(f.longest_s, "duration")], [w["open_end"], V(f.open_at_end, "int")],
        [w["never_up"], V(", ".join(f.never_up) or w["none"], "text")],
        [w["worst"], V(", ".join(f"{c.id} ({pct(c.availability, lang)})" for c in r.worst()) or w["none"], "text")],
    ]
    return Table("summary", [(w["figure"], "text"), (w["value"], "text")], rows)


def _totals_row(f: Totals) -> list[Any]:
    return [f.cameras, f.availability, f.down_s, f.degraded_s, f.maintenance_s, f.unmonitored_s, f.incidents,
            f.mttr_s, f.median_s, f.longest_s, f.open_at_end, ", ".join(f.problem_cameras), f.previous, f.change]


def communes(r: Report, lang: str) -> Table:
    w = L[lang]
    cols: list[tuple[str, Kind]] = [
        (w["commune"], "text"), (w["cameras"], "int"), (w["availability"], "pct"), (w["down"], "duration"),
        (w["degraded"], "duration"), (w["maintenance"], "duration"), (w["unmonitored"], "duration"),
        (w["incidents"], "int"), (w["mttr"], "duration"), (w["median"], "duration"), (w["longest"], "duration"),
        (w["open_end"], "int"), (w["problems"], "text"), (w["previous"], "pct"), (w["change"], "change")]
    return Table("per_commune", cols, [[co.name, *_totals_row(co.figures)] for co in r.communes])


def _note(c: CameraRow, r: Report, lang: str) -> str:
    w = L[lang]
    notes = [w["added"].format(at=moment(c.added_at, r.tz)[:-3])] if c.added_at else []
    notes += [w["retired"].format(at=moment(c.retired_at, r.tz)[:-3])] if c.retired_at else []
    return "; ".join(notes)


def cameras(r: Report, lang: str) -> Table:
    w = L[lang]
    cols: list[tuple[str, Kind]] = [
        (w["camera"], "text"), (w["name"], "text"), (w["commune"], "text"), (w["availability"], "pct"),
        (w["down"], "duration"), (w["degraded"], "duration"), (w["maintenance"], "duration"),
        (w["unmonitored"], "duration"), (w["incidents"], "int"), (w["worst_fault"], "text"), (w["note"], "text")]
    rows = []
    for c in r.cameras:
        b = c.b
        assert b is not None  # a camera is listed only for the part of the period it existed
        rows.append([c.id, c.name, r.commune_name(c.commune), c.availability, b.down_s, b.degraded_s, b.maintenance_s,
                     b.unmonitored_s, len(c.incidents), verdict_name(c.worst_fault, lang) if c.worst_fault else "",
                     _note(c, r, lang)])
    return Table("per_camera", cols, rows)


def incidents(r: Report, lang: str) -> Table:
    w = L[lang]
    cols: list[tuple[str, Kind]] = [
        (w["camera"], "text"), (w["commune"], "text"), (w["kind"], "text"), (w["start"], "moment"), (w["end"], "moment"),
        (w["status"], "text"), (w["in_period"], "duration"), (w["repair"], "duration")]
    rows = [[i.camera, r.commune_name(i.commune), verdict_name(i.kind, lang), i.started_at, i.closed_at,
             w["open"] if i.open else w["closed"], i.in_period_s, i.duration_s] for i in r.incidents]
    return Table("incident_list", cols, rows)


def daily(r: Report, lang: str) -> Table:
    w = L[lang]
    return Table("daily", [(w["day"], "day"), (w["availability"], "pct")], [[d, v] for d, v in r.daily])


def all_tables(r: Report, lang: str) -> list[Table]:
    return [summary(r, lang), communes(r, lang), cameras(r, lang), incidents(r, lang), daily(r, lang)]


def kind_of(value: Any, kind: Kind) -> tuple[Any, Kind]:
    return (value.value, value.kind) if isinstance(value, V) else (value, kind)


def text(value: Any, kind: Kind, lang: str, tz: ZoneInfo) -> str:
    """A value as a person reads it (HTML, PDF)."""
    value, kind = kind_of(value, kind)
    if value is None:
        return "" if kind == "moment" else "–"
    if kind == "pct":
        return pct(value, lang)
    if kind == "change":
        return pct_change(value, lang)
    if kind == "duration":
        return hms(value)
    if kind == "moment":
        return moment(value, tz)
    if kind == "day":
        return date(value, tz)
    return str(value)


def machine(value: Any, kind: Kind, tz: ZoneInfo) -> str:
    """A value as a program imports it (CSV): dot decimals, percentages as numbers, durations h:mm:ss."""
    value, kind = kind_of(value, kind)
    if value is None:
        return ""
    if kind == "pct":
        return f"{100 * value:.1f}"
    if kind == "change":
        return f"{100 * value:+.1f}"
    if kind == "duration":
        return hms(value)
    if kind == "moment":
        return moment(value, tz)
    if kind == "day":
        return value.isoformat()
    return str(value)
