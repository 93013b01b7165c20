"""Render three alert emails as a phone shows them (400 px wide) into docs/emails/*.png.

    .venv/bin/python scripts/render_emails.py [OUTPUT_DIR]

The emails are built by camwatch's own code (`alerts.messages.build`) from outbox payloads, with pictures
of the simulated fleet's scene; the HTML part is shown as a mail client shows it (its `cid:` pictures
inlined) by headless Chromium. `tests/test_email_render.py` runs this script.
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
import tempfile
from html import escape
from pathlib import Path

import cv2

from camwatch.alerts import messages
from camwatch.sim.scenes import scene_frames

CHROMIUM = "/usr/bin/chromium"
T0 = dt.datetime(2026, 11, 28, 7, 5, tzinfo=dt.UTC)  # 14:05 in Sơn Động
BASE = {"language": "vi", "timezone": "Asia/Ho_Chi_Minh", "camera": "CD-07", "name": "Cầu Cẩm Đàn",
        "commune": "cam-dan", "commune_name": "Cẩm Đàn", "location": "Quốc lộ 31, km 42", "gps": [21.3308, 106.8571],
        "source": "rtsp", "host": "10.17.3.21:554", "incident": 42, "to_name": "Phạm Quốc Việt",
        "grafana_url": "https://grafana.son-dong.example/d/camwatch"}


def picture(scene: str, taken: dt.datetime) -> bytes:
    """A frame of the simulated scene, its burned-in camera clock showing when it was taken (local time)."""
    frame = next(scene_frames(scene, seconds=1)).copy()
    cv2.rectangle(frame, (0, 0), (260, 34), (0, 0, 0), -1)
    local = taken.astimezone(dt.timezone(dt.timedelta(hours=7)))
    cv2.putText(frame, local.strftime("%d-%m-%Y %H:%M:%S"), (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2,
                cv2.LINE_AA)
    return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())


def emails() -> dict[str, tuple[messages.EmailMessage, int]]:
    good_at = T0 - dt.timedelta(minutes=3)
    good, black = picture("day", good_at), picture("black", T0)
    at = good_at.isoformat()
    down = {**BASE, "kind": "alert", "verdict": "black", "severity": "down", "reason": "the picture is black",
            "started_at": T0.isoformat()}
    offline = {**BASE, "kind": "alert", "verdict": "offline", "severity": "down", "started_at": T0.isoformat(),
               "reason": "connection refused: the address answers but nothing listens on the RTSP port"}
    recovery = {**BASE, "kind": "recovery", "verdict": "offline", "severity": "down", "started_at": T0.isoformat(),
                "closed_at": (T0 + dt.timedelta(hours=1, minutes=5, seconds=20)).isoformat(),
                "acknowledged_by": "Phạm Quốc Việt", "acknowledged_at": (T0 + dt.timedelta(minutes=20)).isoformat(),
                "ack_note": "thay bộ nguồn"}

    def build(payload: dict, pictures: list[messages.Picture]) -> messages.EmailMessage:
        return messages.build(payload, "camwatch <camwatch@son-dong.example>", "viet@cam-dan.example",
                              "<demo@camwatch>", pictures=pictures)

    return {
        "down-with-two-pictures": (build(down, [messages.Picture("last_good", good, at),
                                                messages.Picture("first_bad", black, T0.isoformat())]), 1300),
        "offline-with-last-good-picture": (build(offline, [messages.Picture("last_good", good, at)]), 1150),
        "recovery": (build(recovery, []), 720),
    }


def html_as_shown(msg: messages.EmailMessage) -> str:
    """The HTML part with its related pictures inlined, as a mail client displays it."""
    body = msg.get_body(("html",))
    assert body is not None
    html = body.get_content()
    for part in msg.walk():
        cid = part.get("Content-ID")
        if cid:
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(f"cid:{cid.strip('<>')}", f"data:image/jpeg;base64,{data}")
    subject = str(msg["Subject"])
    head = f"<div style='font:14px sans-serif;color:#555;margin:8px'>{escape(subject)}</div>"  # what the inbox shows
    return html.replace("<body style='", "<body style='background:#fff;", 1).replace("<h2", head + "<h2", 1)


def render(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (msg, height) in emails().items():
            page = Path(tmp) / f"{name}.html"
            page.write_text(html_as_shown(msg), encoding="utf-8")
            png = out / f"{name}.png"
            subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={tmp}/profile", f"--screenshot={png}", f"--window-size=400,{height}",
                            page.as_uri()], check=True, capture_output=True, timeout=120)
            written.append(png)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "emails"
    for p in render(target):
        print(p)
