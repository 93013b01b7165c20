"""The three emails of docs/emails are produced by scripts/render_emails.py: it runs here, on camwatch's own
message builder and headless Chromium, at phone width."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("down-with-two-pictures", "offline-with-last-good-picture", "recovery")


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_render_script_draws_the_three_emails_at_phone_width(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "render_emails.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in NAMES:
        png = tmp_path / f"{name}.png"
        width, height = png_size(png)
        assert width == 400 and height > 600 and png.stat().st_size > 20_000, (name, width, height)
        assert png_size(ROOT / "docs" / "emails" / f"{name}.png")[0] == 400  # the committed ones too


def test_the_rendered_html_is_the_email_with_its_own_pictures() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import render_emails
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    mails = render_emails.emails()
    down = render_emails.html_as_shown(mails["down-with-two-pictures"][0])
    assert down.count("data:image/jpeg;base64,") == 2 and "cid:" not in down
    assert "Ảnh tốt gần nhất, chụp lúc 14:02 28/11/2026 (tệp anh-tot-gan-nhat.jpg)" in down
    offline = render_emails.html_as_shown(mails["offline-with-last-good-picture"][0])
    assert offline.count("data:image/jpeg") == 1 and "10.17.3.21:554: bị từ chối kết nối" in offline
    assert "dưới 1 phút" not in render_emails.html_as_shown(mails["recovery"][0])
    assert "1 giờ 5 phút" in render_emails.html_as_shown(mails["recovery"][0])
