"""The emails a commune technician reads on a phone: plain Vietnamese (or English), which camera,
where, what is wrong since when, what to check first, and the pictures. Pure: payload in, message out."""

from __future__ import annotations

import datetime as dt
import html
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from zoneinfo import ZoneInfo

from camwatch.words import duration, local, verdict_text

WORDS = {
    "vi": {"since": "từ", "camera": "Camera", "commune": "Xã/thị trấn", "location": "Vị trí", "problem": "Tình trạng",
           "check": "Cần kiểm tra trước", "started": "Bắt đầu", "map": "Bản đồ", "dashboard": "Theo dõi",
           "recovered": "ĐÃ HOẠT ĐỘNG LẠI", "duration": "Thời gian gián đoạn", "ended": "Hoạt động lại lúc",
           "still": "VẪN CHƯA KHẮC PHỤC", "escalated": "CHUYỂN ĐỘI KỸ THUẬT HUYỆN", "group": "NHIỀU CAMERA MẤT TÍN HIỆU",
           "group_body": "camera của {commune} mất tín hiệu cùng lúc: có thể do mất điện hoặc hỏng đường truyền/bộ định "
                         "tuyến của xã, không phải do từng camera.",
           "group_check": "Kiểm tra nguồn điện và thiết bị mạng chung của xã trước (router, bộ chuyển đổi quang, tủ điện).",
           "group_recovered": "CÁC CAMERA ĐÃ HOẠT ĐỘNG LẠI", "flapping": "CHẬP CHỜN",
           "flapping_body": "Camera mất tín hiệu rồi hoạt động lại nhiều lần trong một giờ.",
           "flapping_check": "Kiểm tra nguồn điện (ổn áp, tiếp xúc), dây mạng và đầu nối.",
           "pictures": "Ảnh đính kèm: ảnh tốt gần nhất và ảnh lúc có sự cố.", "test": "Thư thử nghiệm",
           "test_body": "camwatch gửi thư này để kiểm tra cấu hình máy chủ thư. Không cần làm gì.",
           "reason": "Chi tiết kỹ thuật", "open_for": "Đã kéo dài",
           "upstream": "MẤT KẾT NỐI THIẾT BỊ MẠNG CỦA XÃ",
           "upstream_body": "Thiết bị mạng của xã ({device}) không trả lời: {n} camera phía sau nó mất tín hiệu.",
           "digest": "Tổng hợp ngày", "digest_body": "{open} trên {total} camera đang có sự cố chưa khắc phục."},
    "en": {"since": "since", "camera": "Camera", "commune": "Commune", "location": "Location", "problem": "Problem",
           "check": "Check first", "started": "Started", "map": "Map", "dashboard": "Dashboard",
           "recovered": "RECOVERED", "duration": "Outage lasted", "ended": "Back at",
           "still": "STILL NOT REPAIRED", "escalated": "ESCALATED TO THE DISTRICT TEAM", "group": "SEVERAL CAMERAS DOWN",
           "group_body": "cameras of {commune} went down together: likely a power cut or the commune's network/router, "
                         "not the cameras themselves.",
           "group_check": "Check the commune's power and shared network equipment first (router, fibre converter, cabinet).",
           "group_recovered": "CAMERAS RECOVERED", "flapping": "UNSTABLE",
           "flapping_body": "The camera went down and came back several times within an hour.",
           "flapping_check": "Check the power supply (connections, voltage), the network cable and connectors.",
           "pictures": "Attached: the last good picture and the picture when the problem was found.", "test": "Test email",
           "test_body": "camwatch sent this email to check the mail server settings. Nothing to do.",
           "reason": "Technical detail", "open_for": "Open for",
           "upstream": "COMMUNE NETWORK DEVICE UNREACHABLE",
           "upstream_body": "The commune's network device ({device}) does not answer: {n} cameras behind it are down.",
           "digest": "Daily summary", "digest_body": "{open} of {total} cameras have an open problem."},
}


MIME = {"jpg": ("image", "jpeg"), "jpeg": ("image", "jpeg"), "pdf": ("application", "pdf"),
        "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "html": ("text", "html"), "csv": ("text", "csv")}


def build(payload: dict[str, Any], sender: str, recipient: str, message_id: str,
          attachments: list[tuple[str, bytes]] = ()) -> EmailMessage:  # type: ignore[assignment]
    """One email from an outbox payload. `attachments` are (filename, JPEG bytes)."""
    lang = payload.get("language", "vi")
    w = WORDS[lang]
    tz = ZoneInfo(payload.get("timezone", "Asia/Ho_Chi_Minh"))
    kind = payload["kind"]
    subject, lines = _content(kind, payload, w, lang, tz)
    msg = EmailMessage()
    msg["Subject"] = f"[camwatch] {subject}"
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = lang
    text = "\n".join(label + ": " + value if label else value for label, value in lines)
    msg.set_content(text + "\n\n-- \ncamwatch\n")
    rows = "".join(
        f"<tr><th style='text-align:left;padding:4px 8px;vertical-align:top'>{html.escape(label)}</th>"
        f"<td style='padding:4px 8px'>{_link(value)}</td></tr>" if label else
        f"<tr><td colspan='2' style='padding:8px'>{html.escape(value)}</td></tr>" for label, value in lines)
    msg.add_alternative(
        f"<!doctype html><html lang='{lang}'><body style='font-family:sans-serif;font-size:16px'>"
        f"<h2 style='font-size:20px'>{html.escape(subject)}</h2><table>{rows}</table></body></html>", subtype="html")
    for name, data in attachments:
        maintype, subtype = MIME.get(name.rsplit(".", 1)[-1].lower(), ("application", "octet-stream"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _link(value: str) -> str:
    if value.startswith(("https://", "http://")):
        v = html.escape(value, quote=True)
        return f"<a href='{v}'>{v}</a>"
    return html.escape(value)


def _camera_lines(p: dict[str, Any], w: dict[str, str]) -> list[tuple[str, str]]:
    lines = [(w["camera"], f"{p['camera']} – {p['name']}"), (w["commune"], p["commune_name"])]
    if p.get("location"):
        lines.append((w["location"], p["location"]))
    if p.get("gps"):
        lat, lon = p["gps"]
        lines.append((w["map"], f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"))
    return lines


def _content(kind: str, p: dict[str, Any], w: dict[str, str], lang: str,
             tz: ZoneInfo) -> tuple[str, list[tuple[str, str]]]:
    dash = [(w["dashboard"], p["grafana_url"])] if p.get("grafana_url") else []
    if kind == "test":
        return w["test"], [("", w["test_body"])]
    if kind == "report":
        avail = p.get("availability")
        share = "–" if avail is None else f"{100 * avail:.1f} %"
        if lang == "vi":
            share = share.replace(".", ",")
            return f"Báo cáo tháng {p['month']} – {p['district']}", [
                ("", "Báo cáo tình trạng hoạt động camera an ninh của tháng trước, theo xã và theo camera (đính kèm)."),
                ("Tỷ lệ hoạt động toàn huyện", share)]
        return f"Monthly report {p['month']} – {p['district']}", [
            ("", "Last month's security camera availability report, per commune and per camera (attached)."),
            ("District availability", share.replace(" %", "%"))]
    if kind in ("group", "group_recovery", "upstream", "digest"):
        cams = p["cameras"]
        if kind == "digest":
            subject = f"{p['commune_name']}: {w['digest']} {p['day']}"
            lines = [("", w["digest_body"].format(open=len(cams), total=p.get("total", "?")))]
        elif kind == "upstream":
            subject = f"{p['commune_name']}: {w['upstream']} ({len(cams)} camera) {w['since']} " \
                      f"{local(p['started_at'], tz, '%H:%M')}"
            lines = [("", w["upstream_body"].format(device=p["upstream"], n=len(cams))), (w["check"], w["group_check"])]
        elif kind == "group":
            subject = f"{p['commune_name']}: {w['group']} ({len(cams)}) {w['since']} {local(p['started_at'], tz, '%H:%M')}"
            lines = [("", f"{len(cams)} " + w["group_body"].format(commune=p["commune_name"])), (w["check"], w["group_check"])]
        else:
            subject = f"{p['commune_name']}: {w['group_recovered']} ({len(cams)})"
            lines = []
        for c in cams:
            when = local(c["started_at"], tz)
            if kind == "group_recovery" and c.get("closed_at"):
                when += f" → {local(c['closed_at'], tz)}"
            lines.append((f"{c['camera']}", f"{c['name']} – {verdict_text(c['kind'], lang)[0]} ({when})"))
        return subject, lines + dash
    head, what, check = verdict_text(p.get("verdict", "offline"), lang)
    started = local(p["started_at"], tz)
    title = f"{p['commune_name']} – {p['camera']} {p['name']}"
    if kind == "recovery":
        secs = (dt.datetime.fromisoformat(p["closed_at"]) - dt.datetime.fromisoformat(p["started_at"])).total_seconds()
        return f"{title}: {w['recovered']}", [*_camera_lines(p, w), (w["problem"], f"{head} – {what}"),
                                              (w["started"], started), (w["ended"], local(p["closed_at"], tz)),
                                              (w["duration"], duration(secs, lang)), *dash]
    if kind == "flapping":
        return f"{title}: {w['flapping']}", [*_camera_lines(p, w), ("", w["flapping_body"]),
                                             (w["check"], w["flapping_check"]), *dash]
    prefix = {"reminder": f"{w['still']} – ", "escalation": f"{w['escalated']} – "}.get(kind, "")
    subject = f"{prefix}{title}: {head} {w['since']} {local(p['started_at'], tz, '%H:%M')}"
    lines = [*_camera_lines(p, w), (w["problem"], f"{head} – {what}"), (w["started"], started)]
    if kind in ("reminder", "escalation") and p.get("now"):
        secs = (dt.datetime.fromisoformat(p["now"]) - dt.datetime.fromisoformat(p["started_at"])).total_seconds()
        lines.append((w["open_for"], duration(secs, lang)))
    lines += [(w["check"], check), (w["reason"], p.get("reason", ""))]
    if p.get("snapshots"):
        lines.append(("", w["pictures"]))
    return subject, lines + dash
