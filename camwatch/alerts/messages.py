"""The emails a commune technician reads on a phone: plain Vietnamese (or English), which camera,
where, what is wrong since when, what was tried, what to check first, and the pictures, each named and
captioned for what it is. Pure: payload in, message out.

Headers: Python's own folding of a long non-ASCII header puts a space between two RFC 2047 encoded
words, which every compliant reader drops ("Cầu CẩmĐàn"). `HEADERS` folds Subject itself: the whole
UTF-8 text in base64 encoded words, every space inside a word; a display name in From/To is one encoded
word (see `short_name`).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from typing import Any
from zoneinfo import ZoneInfo

from camwatch.alerts.wording import WORDS
from camwatch.words import PROTOCOLS, attempt, duration, local, picture, verdict_name, verdict_text

MIME = {"jpg": ("image", "jpeg"), "jpeg": ("image", "jpeg"), "pdf": ("application", "pdf"),
        "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "html": ("text", "html"), "csv": ("text", "csv")}

NO_PICTURE = ("offline", "timeout", "auth_failed", "not_found", "protocol_error", "no_video")  # the attempt failed
_WORD_BYTES = 42  # 42 bytes → 56 base64 characters → a 68-character encoded word: "Subject: " + it fits 78


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 base64 encoded words, split between characters, spaces kept inside the words."""
    words, chunk = [], ""
    for ch in unicodedata.normalize("NFC", text):
        if len((chunk + ch).encode()) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words if w]


def short_name(name: str) -> str:
    """A display name that fits one encoded word. Readers disagree on the space between two encoded words
    of a name (RFC 2047 drops it, Python's address parser keeps it), so a name is never split: one longer
    than 42 bytes is cut at a space, with "…"."""
    name = unicodedata.normalize("NFC", name)
    while len(name.encode()) > _WORD_BYTES:
        name = (name.rstrip("…").rsplit(" ", 1)[0] if " " in name.rstrip("…") else name[:-2]) + "…"
    return name


class ExactHeaders(EmailPolicy):
    """`email.policy.default`, except that non-ASCII Subject and display names are folded exactly."""

    def _exact(self, name: str, value: Any) -> str | None:
        key = name.lower()
        text = str(value)
        if text.isascii():
            return None
        if key == "subject":
            return f"{name}: " + f"{self.linesep} ".join(encoded_words(text)) + self.linesep
        if key in ("from", "to", "reply-to") and getattr(value, "addresses", None):
            parts = []
            for a in value.addresses:
                shown = [encoded_words(short_name(a.display_name))[0]] if a.display_name else []
                parts.append(f"{self.linesep} ".join([*shown, f"<{a.addr_spec}>"]))
            return f"{name}: " + f",{self.linesep} ".join(parts) + self.linesep
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._exact(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        exact = self._exact(name, value)
        return exact.encode("ascii") if exact else super().fold_binary(name, value)


HEADERS = ExactHeaders()


@dataclass(frozen=True)
class Picture:
    """A picture an email carries: what it is (`last_good`, `first_bad`, `latest`), when it was taken."""

    role: str
    data: bytes
    taken_at: str | None  # ISO time


def build(payload: dict[str, Any], sender: str, recipient: str, message_id: str,
          attachments: Sequence[tuple[str, bytes]] = (), pictures: Sequence[Picture] = ()) -> EmailMessage:
    """One email from an outbox payload. `pictures` are shown in the HTML and named by what they are;
    `attachments` (file name, bytes) are other files (the monthly report)."""
    lang = payload.get("language", "vi")
    subject, lines = content(payload, pictures)
    msg = EmailMessage(policy=HEADERS)
    msg["Subject"] = f"[camwatch] {subject}"
    msg["From"] = sender
    msg["To"] = Address(payload["to_name"], addr_spec=recipient) if payload.get("to_name") else recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = lang
    text = "\n".join(label + ": " + value if label else value for label, value in lines)
    msg.set_content(text + "\n\n-- \ncamwatch\n")
    wrap = "overflow-wrap:anywhere;word-break:break-word"  # a long link must not widen a phone's screen
    rows = "".join(
        f"<tr><th style='text-align:left;padding:4px 6px;vertical-align:top;width:32%;{wrap}'>{html.escape(label)}</th>"
        f"<td style='padding:4px 6px;{wrap}'>{_link(value)}</td></tr>" if label else
        f"<tr><td colspan='2' style='padding:6px;{wrap}'>{html.escape(value)}</td></tr>" for label, value in lines)
    figures = "".join(
        f"<figure style='margin:12px 0'><img src='cid:pic-{i}' alt='{html.escape(cap)}' style='width:100%;"
        f"max-width:640px'><figcaption style='font-size:15px'>{html.escape(cap)}</figcaption></figure>"
        for i, cap in enumerate(caption(p, lang, payload) for p in pictures))
    msg.add_alternative(
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width'></head><body style='font-family:sans-serif;font-size:16px;margin:8px'>"
        f"<h2 style='font-size:20px;{wrap}'>{html.escape(subject)}</h2>"
        f"<table style='width:100%;table-layout:fixed;border-collapse:collapse'>{rows}</table>{figures}</body></html>",
        subtype="html")
    if pictures:
        html_part = msg.get_payload()[1]  # type: ignore[index]
        for i, p in enumerate(pictures):
            html_part.add_related(p.data, maintype="image", subtype="jpeg", cid=f"<pic-{i}>",
                                  filename=picture(p.role, lang)[0], disposition="inline")
    for name, data in attachments:
        maintype, subtype = MIME.get(name.rsplit(".", 1)[-1].lower(), ("application", "octet-stream"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def caption(p: Picture, lang: str, payload: dict[str, Any]) -> str:
    """"Ảnh tốt gần nhất, chụp lúc 13:58 28/11/2026 (tệp anh-tot-gan-nhat.jpg)"."""
    name, cap = picture(p.role, lang)
    tz = ZoneInfo(payload.get("timezone", "Asia/Ho_Chi_Minh"))
    w = WORDS[lang]
    when = f", {w['taken_at']} {local(p.taken_at, tz)}" if p.taken_at else ""
    return f"{cap}{when} ({w['file']} {name})"


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


def _ack_lines(p: dict[str, Any], w: dict[str, str], tz: ZoneInfo) -> list[tuple[str, str]]:
    out = []
    if p.get("acknowledged_by"):
        note = f" – {p['ack_note']}" if p.get("ack_note") else ""
        out.append((w["acknowledged"], f"{p['acknowledged_by']}, {local(p['acknowledged_at'], tz)}{note}"))
    if p.get("muted_until"):
        out.append((w["muted"], f"{w['until']} {local(p['muted_until'], tz)}"))
    return out


def content(p: dict[str, Any], pictures: Sequence[Picture] | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(subject without the [camwatch] tag, labelled lines): what an email, a webhook or a chat message says.
    `pictures`: those the email carries (None: a channel without pictures, nothing is said about them)."""
    lang = p.get("language", "vi")
    w = WORDS[lang]
    tz = ZoneInfo(p.get("timezone", "Asia/Ho_Chi_Minh"))
    kind = p["kind"]
    dash = [(w["dashboard"], p["grafana_url"])] if p.get("grafana_url") else []
    if kind == "test":
        return w["test"], [("", w["test_body"])]
    if kind == "report":
        avail = p.get("availability")
        share = "–" if avail is None else f"{100 * avail:.1f} %"
        if lang == "vi":
            return f"Báo cáo tháng {p['month']} – {p['district']}", [
                ("", "Báo cáo tình trạng hoạt động camera an ninh của tháng trước, theo xã và theo camera (đính kèm)."),
                ("Tỷ lệ hoạt động toàn huyện", share.replace(".", ","))]
        return f"Monthly report {p['month']} – {p['district']}", [
            ("", "Last month's security camera availability report, per commune and per camera (attached)."),
            ("District availability", share.replace(" %", "%"))]
    if kind == "storage":  # the district's monitoring server itself (storage.py)
        free = f"{p['free_bytes'] / 2**20:.1f} MB".replace(".", "," if lang == "vi" else ".")
        return f"{w['storage']} – {p['district']}", [
            ("", w["storage_body"].format(dir=p["state_dir"], free=free)), (w["storage_at"], local(p["at"], tz)),
            (w["check"], w["storage_check"]), *dash]
    if kind in ("group", "group_recovery", "upstream", "digest"):
        return _commune_content(kind, p, w, lang, tz, dash)
    head, what, check = verdict_text(p.get("verdict", "offline"), lang)
    started = local(p["started_at"], tz) if p.get("started_at") else ""
    title = f"{p['commune_name']} – {p['camera']} {p['name']}"
    if kind == "recovery":
        secs = (dt.datetime.fromisoformat(p["closed_at"]) - dt.datetime.fromisoformat(p["started_at"])).total_seconds()
        return f"{title}: {w['recovered']}", [*_camera_lines(p, w), (w["problem_was"], f"{head} – {what}"),
                                              (w["started"], started), (w["ended"], local(p["closed_at"], tz)),
                                              (w["duration"], duration(secs, lang)), *_ack_lines(p, w, tz), *dash]
    if kind == "flapping":
        body = w["flapping_body"].format(n=p.get("opened_in_window", "?"), stable=duration(p.get("stable_s", 3600), lang))
        return f"{title}: {w['flapping']}", [*_camera_lines(p, w), ("", body), (w["check"], w["flapping_check"]), *dash]
    if kind == "steady":
        return _steady(p, w, lang, tz, title, dash)
    prefix = {"reminder": f"{w['still']} – ", "escalation": f"{w['escalated']} – "}.get(kind, "")
    subject = f"{prefix}{title}: {head} {w['since']} {local(p['started_at'], tz, '%H:%M')}"
    lines = [*_camera_lines(p, w), (w["problem"], f"{head} – {what}"), (w["started"], started)]
    if kind in ("reminder", "escalation") and p.get("now"):
        secs = (dt.datetime.fromisoformat(p["now"]) - dt.datetime.fromisoformat(p["started_at"])).total_seconds()
        lines.append((w["open_for"], duration(secs, lang)))
    if p.get("host") and p.get("verdict") in NO_PICTURE:
        proto = PROTOCOLS[lang].get(p.get("source", "rtsp"), PROTOCOLS[lang]["rtsp"])
        lines.append((w["tried"], f"{proto} {w['to']} {p['host']}: {attempt(p.get('reason', ''), p['verdict'], lang)}"))
    lines.append((w["check"], check))
    if lang != "vi" and p.get("reason"):  # the probe's own words are English: only in an English email
        lines.append((w["reason"], p["reason"]))
    lines += _ack_lines(p, w, tz)
    if p.get("incident"):
        lines.append((w["incident_id"], str(p["incident"])))
    if pictures is not None:
        lines += _picture_lines(p, w, lang, pictures)
    return subject, lines + dash


def _picture_lines(p: dict[str, Any], w: dict[str, str], lang: str,
                   pictures: Sequence[Picture]) -> list[tuple[str, str]]:
    lines = [(w["attached"] if i == 0 else "", caption(pic, lang, p)) for i, pic in enumerate(pictures)]
    if not any(pic.role == "last_good" for pic in pictures):
        lines.append(("", w["no_good_picture"]))
    if not any(pic.role in ("first_bad", "latest") for pic in pictures) and p.get("verdict") in NO_PICTURE:
        lines.append(("", w["no_bad_picture"]))
    return lines


def _steady(p: dict[str, Any], w: dict[str, str], lang: str, tz: ZoneInfo, title: str,
            dash: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    lines = [*_camera_lines(p, w), ("", w["steady_body"].format(stable=duration(p.get("stable_s", 3600), lang)))]
    if p.get("flapping_since"):
        lines.append((w["unstable_period"], f"{local(p['flapping_since'], tz)} → {local(p['at'], tz)}"))
    lines.append((w["outages"], w["outages_value"].format(n=p.get("outages", 0),
                                                          total=duration(p.get("down_s", 0), lang))))
    cur = p.get("current")
    if cur:
        lines.append((w["now_state"], f"{verdict_text(cur['kind'], lang)[0]} {w['since']} {local(cur['started_at'], tz)}"))
    else:
        lines.append((w["now_state"], verdict_name("ok", lang)))
    return f"{title}: {w['steady']}", lines + dash


def _commune_content(kind: str, p: dict[str, Any], w: dict[str, str], lang: str, tz: ZoneInfo,
                     dash: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    cams = p["cameras"]
    if kind == "digest":
        subject = f"{p['commune_name']}: {w['digest']} {p['day']}"
        lines = [("", w["digest_body"].format(open=len(cams), total=p.get("total", "?")))]
    elif kind == "upstream":
        subject = f"{p['commune_name']}: {w['upstream']} ({len(cams)} camera) {w['since']} " \
                  f"{local(p['started_at'], tz, '%H:%M')}"
        lines = [("", w["upstream_body"].format(device=p["upstream"], n=len(cams))), (w["check"], w["group_check"])]
    elif kind == "group":
        every = p.get("all_of_commune")
        subject = f"{p['commune_name']}: {w['group_all'] if every else w['group']} ({len(cams)}) {w['since']} " \
                  f"{local(p['started_at'], tz, '%H:%M')}"
        body = w["group_all_body" if every else "group_body"].format(commune=p["commune_name"], n=len(cams))
        lines = [("", body), (w["check"], w["group_check"])]
    else:
        subject = f"{p['commune_name']}: {w['group_recovered']} ({len(cams)})"
        lines = []
    for c in cams:
        when = local(c["started_at"], tz)
        if kind == "group_recovery" and c.get("closed_at"):
            when += f" → {local(c['closed_at'], tz)}"
        lines.append((f"{c['camera']}", f"{c['name']} – {verdict_text(c['kind'], lang)[0]} ({when})"))
    return subject, lines + dash
