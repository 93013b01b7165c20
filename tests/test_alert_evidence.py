"""Evidence that is what it says, and headers every compliant reader shows exactly.

Pictures go through the daemon's own path (SnapshotStore.keep → record_check → route → render → SMTP);
headers are parsed by three independent readers: Python's `email.policy.default`, Python's legacy
`compat32` + `email.header.decode_header`, and Perl's Encode::MIME::Header (core Perl, another language's
implementation of RFC 2047, the decoder behind many Perl mail tools)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import subprocess
from email.header import decode_header, make_header
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine

from camwatch import config as cfgmod
from camwatch.alerts import messages
from camwatch.alerts.outbox import send_due
from camwatch.alerts.smtp import SmtpTransport
from camwatch.health import step
from camwatch.model import CheckResult, ErrorKind, Verdict
from camwatch.snapshots import SnapshotStore
from camwatch.store import repo
from tests.smtp_sink import SmtpServer
from tests.test_alerts import P, at, email_pictures, make_config, open_db, routed


def jpeg(level: int) -> bytes:
    img = np.full((90, 160, 3), level, np.uint8)
    cv2.putText(img, str(level), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255 - level,) * 3, 2)
    return bytes(cv2.imencode(".jpg", img)[1].tobytes())


GOOD, BLACK = jpeg(160), jpeg(0)
REASONS = {Verdict.OFFLINE: (ErrorKind.UNREACHABLE, "connection refused: the address answers but nothing listens on "
                                                    "the RTSP port"),
           Verdict.TIMEOUT: (ErrorKind.TIMEOUT, "no answer to the RTSP request within 3.0 s"),
           Verdict.AUTH_FAILED: (ErrorKind.AUTH, "the camera refused the user name or password (401 Unauthorized)")}


def daemon_check(engine: Engine, store: SnapshotStore, cam: str, verdict: Verdict, when: dt.datetime) -> None:
    """One check as the daemon records it: the state machine, the picture files, one transaction."""
    error, reason = REASONS.get(verdict, (None, f"test {verdict}"))
    picture = None if error else (GOOD if verdict is Verdict.OK else BLACK)
    result = CheckResult(cam, when, verdict, reason, 1.0, error=error, jpeg=picture)
    with engine.connect() as conn:
        state, _ = repo.load_camera(conn, cam)
    new, transitions = step(state, verdict, when, P)
    kept = store.keep(result, new, transitions)
    with engine.begin() as conn:
        repo.record_check(conn, result, 60.0, new, transitions, None, "n", kept)


@pytest.fixture
def smtp():
    s = SmtpServer().start()
    yield s
    s.stop()


@pytest.fixture
def district(tmp_path: Path, smtp: SmtpServer):
    config = make_config(tmp_path, smtp.port, n_cameras=4)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8").replace(
        "[alerts]", '[defaults]\nuser = "admin"\npassword = "p@ss:w#rd"\n[alerts]')
    (tmp_path / "cameras.toml").write_text(text, encoding="utf-8")
    config = cfgmod.load(tmp_path / "cameras.toml")
    engine = open_db(config)
    yield config, engine, SnapshotStore(config.state_dir / "snapshots")
    engine.dispose()


def delivered(config: cfgmod.Config, engine: Engine, smtp: SmtpServer,
              when: dt.datetime) -> dict[str, email.message.EmailMessage]:
    routed(config, engine, when)
    send_due(engine, config, SmtpTransport.from_config(config).send, "n", lambda: when)
    return {m["To"].addresses[0].addr_spec: m for m in smtp.sink.messages}


def test_a_camera_bad_from_its_first_check_never_has_its_black_frame_called_the_last_good_one(district, smtp) -> None:
    config, engine, store = district
    for m in (0, 1):
        daemon_check(engine, store, "YD-01", Verdict.BLACK, at(m))
    vi = delivered(config, engine, smtp, at(3))["viet@yen-dinh.example"]
    assert [(name, data) for name, _, data in email_pictures(vi)] == [("anh-luc-phat-hien-su-co.jpg", BLACK)]
    text = vi.get_body(("plain",)).get_content()
    assert "anh-tot-gan-nhat" not in vi.as_string() and "Ảnh tốt gần nhất" not in text
    assert "Ảnh lúc phát hiện sự cố, chụp lúc 14:00 28/11/2026 (tệp anh-luc-phat-hien-su-co.jpg)" in text
    assert "Chưa có ảnh tốt nào của camera này để so sánh." in text
    assert "Ảnh lúc phát hiện sự cố" in vi.get_body(("html",)).get_content()  # captioned under the picture


@pytest.mark.parametrize(("verdict", "tried"), [
    (Verdict.OFFLINE, "bị từ chối kết nối: địa chỉ có trả lời nhưng cổng của camera không mở"),
    (Verdict.TIMEOUT, "không có trả lời trong thời hạn"),
    (Verdict.AUTH_FAILED, "camera từ chối tên đăng nhập hoặc mật khẩu (lỗi 401)"),
])
def test_an_unreachable_camera_sends_its_last_good_picture_its_host_and_what_was_tried(district, smtp, verdict,
                                                                                       tried) -> None:
    config, engine, store = district
    daemon_check(engine, store, "YD-02", Verdict.OK, at(0))  # 14:00: the last good picture
    daemon_check(engine, store, "YD-02", Verdict.BLACK, at(1))  # an earlier black spell leaves a first-bad picture…
    daemon_check(engine, store, "YD-02", Verdict.OK, at(2))
    for m in (5, 6):  # …which must not be passed off as this outage's
        daemon_check(engine, store, "YD-02", verdict, at(m))
    msgs = delivered(config, engine, smtp, at(8))
    vi, en = msgs["viet@yen-dinh.example"], msgs["expert@example.org"]
    assert [(name, data) for name, _, data in email_pictures(vi)] == [("anh-tot-gan-nhat.jpg", GOOD)]
    text = vi.get_body(("plain",)).get_content()
    assert "Ảnh tốt gần nhất, chụp lúc 14:02 28/11/2026 (tệp anh-tot-gan-nhat.jpg)" in text
    assert f"Đã thử: kết nối RTSP (luồng hình) tới 127.0.0.1:1: {tried}" in text
    assert "Không có ảnh lúc sự cố: camera không gửi hình." in text
    assert "p@ss" not in vi.as_string() and "admin" not in text and "rtsp://" not in text
    assert "the " not in text  # the probe's English reason stays out of a Vietnamese email
    assert [name for name, _, _ in email_pictures(en)] == ["last-good.jpg"]
    assert "Technical detail: " + REASONS[verdict][1] in en.get_body(("plain",)).get_content()


def test_a_reminder_adds_the_latest_picture_under_its_own_name(district, smtp) -> None:
    config, engine, store = district
    daemon_check(engine, store, "YD-03", Verdict.OK, at(0))
    for m in (1, 2):
        daemon_check(engine, store, "YD-03", Verdict.BLACK, at(m))
    delivered(config, engine, smtp, at(4))
    daemon_check(engine, store, "YD-03", Verdict.BLACK, at(60 * 24))
    msgs = delivered(config, engine, smtp, at(60 * 24 + 5))
    reminder = [m for m in smtp.sink.messages if m["To"].addresses[0].addr_spec == "viet@yen-dinh.example"][-1]
    assert "VẪN CHƯA KHẮC PHỤC" in str(reminder["Subject"]) and msgs
    assert [n for n, _, _ in email_pictures(reminder)] == ["anh-tot-gan-nhat.jpg", "anh-luc-phat-hien-su-co.jpg",
                                                           "anh-moi-nhat.jpg"]


SUBJECTS = ["Cẩm Đàn – CD-07 Cầu Cẩm Đàn: MÀN HÌNH ĐEN từ 14:01",
            "Vân Sơn – VS-09 Ngã tư Vân Sơn: MẤT KẾT NỐI từ 14:05",
            "VẪN CHƯA KHẮC PHỤC – Yên Định – YD-03 Ngã ba chợ Yên Định, đường tỉnh 293 km 5: KHÔNG PHẢN HỒI từ 14:05",
            "Thạch Sơn: TẤT CẢ CAMERA CỦA XÃ GẶP SỰ CỐ (2) từ 06:30",
            "ascii only: YD-01 ok"]


def perl_decode(value: str) -> str:
    perl = shutil.which("perl")
    assert perl, "perl (Debian's perl, for Encode::MIME::Header) is needed"
    r = subprocess.run([perl, "-MEncode", "-0777", "-ne", 'binmode STDOUT, ":utf8"; print decode("MIME-Header", $_)'],
                       input=value.encode(), capture_output=True, timeout=30, check=True)
    return r.stdout.decode()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subjects_and_names_decode_exactly_in_three_independent_readers(subject: str) -> None:
    payload = {"kind": "test", "language": "vi", "to_name": "Phạm Quốc Việt"}
    msg = messages.build(payload, "Giám sát camera Sơn Động <camwatch@son-dong.example>",
                         "viet@yen-dinh.example", "<x@camwatch>")
    del msg["Subject"]
    msg["Subject"] = f"[camwatch] {subject}"
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit headers only
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == f"[camwatch] {subject}"
    assert parsed["To"].addresses[0].display_name == payload["to_name"]
    assert parsed["From"].addresses[0].display_name == "Giám sát camera Sơn Động"
    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert str(make_header(decode_header(legacy["Subject"]))) == f"[camwatch] {subject}"
    assert str(make_header(decode_header(legacy["To"]))).startswith(payload["to_name"] + " <")
    fields = dict(h.split(": ", 1) for h in head.replace("\r\n ", "\n ").split("\r\n"))
    assert perl_decode(fields["Subject"]) == f"[camwatch] {subject}"
    assert perl_decode(fields["To"]) == "Phạm Quốc Việt <viet@yen-dinh.example>"


def test_a_name_too_long_for_one_encoded_word_is_shortened_at_a_space_never_glued() -> None:
    long = "Đội Kỹ thuật Trung tâm Văn hóa Thông tin huyện Sơn Động"
    msg = messages.build({"kind": "test", "language": "vi", "to_name": long}, "camwatch <c@x.example>",
                         "doi@son-dong.example", "<y@camwatch>")
    raw = msg.as_bytes()
    shown = email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses[0].display_name
    legacy = str(make_header(decode_header(email.message_from_bytes(raw, policy=email.policy.compat32)["To"])))
    assert shown == "Đội Kỹ thuật Trung tâm Văn…" and legacy.startswith(shown + " <")
    assert long.startswith(shown.rstrip("…"))
