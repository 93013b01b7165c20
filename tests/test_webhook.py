"""The webhook channel against a real local HTTP server (http.server in a thread): signed JSON, exactly once
per transition and technician, retries with backoff when the receiver is down, slow or answering 5xx,
a 4xx shown as a permanent failure."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from camwatch import config as cfgmod
from camwatch.alerts.outbox import deliver, send_due
from camwatch.alerts.webhook import WebhookChannel
from camwatch.model import Verdict
from camwatch.sim.fleet import free_port
from camwatch.store import repo
from tests.smtp_sink import SmtpServer
from tests.test_alerts import at, check, emails, make_config, open_db, routed

KEY = "khóa-bí-mật"


class Receiver:
    """A bridge's endpoint: records posts; `answers` is a queue of status codes, `delay_s` a slow answer."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.delay_s = 0.0
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.delay_s:  # slower than the client's timeout; by then nobody listens to the answer
                    outer.release.wait(outer.delay_s)
                    code = 504
                else:
                    code = outer.answers.pop(0) if outer.answers else 200
                if code == 200:
                    outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def webhook_config(tmp: Path, smtp_port: int, url: str) -> cfgmod.Config:
    make_config(tmp, smtp_port, n_cameras=3)
    text = (tmp / "cameras.toml").read_text(encoding="utf-8")
    text = text.replace("[alerts]", f'[webhook]\nurl = "{url}"\npassword = "{KEY}"\ntimeout_s = 0.5\n[alerts]')
    text = text.replace('email = "viet@yen-dinh.example"', 'email = "viet@yen-dinh.example"\nphone = "0912345678"\n'
                                                           'channels = ["email", "webhook"]')
    (tmp / "cameras.toml").write_text(text, encoding="utf-8")
    return cfgmod.load(tmp / "cameras.toml")


def outage(engine, cam: str = "YD-01", start: int = 0) -> None:
    for k, v in enumerate([Verdict.OK, Verdict.OFFLINE, Verdict.OFFLINE], start=start):
        check(engine, cam, v, at(k))


def hooks(engine) -> list:
    with engine.connect() as conn:
        return [r for r in repo.notification_rows(conn, 100) if r.event == "webhook"][::-1]


def post_webhooks(config, engine, now):
    return send_due(engine, config, None, "n", lambda: now, channel=WebhookChannel.from_config(config))


def test_a_signed_json_post_per_transition_exactly_once(tmp_path: Path, receiver: Receiver) -> None:
    smtp = SmtpServer().start()
    config = webhook_config(tmp_path, smtp.port, f"http://127.0.0.1:{receiver.port}/hook/s3cr3t-token")
    engine = open_db(config)
    try:
        outage(engine)
        assert routed(config, engine, at(4)) == 3  # Việt: email + webhook; the English expert: email
        assert routed(config, engine, at(5)) == 0
        assert deliver(engine, config, None, "n", lambda: at(5)) == 0
        assert deliver(engine, config, None, "n", lambda: at(6)) == 0  # nothing twice
        assert len(receiver.posts) == 1 and len(smtp.sink.messages) == 2
        headers, body = receiver.posts[0]
        expected = hmac.new(KEY.encode(), headers["x-camwatch-timestamp"].encode() + b"." + body, hashlib.sha256)
        assert headers["x-camwatch-signature"] == "sha256=" + expected.hexdigest()
        doc = json.loads(body)
        assert doc["event"] == "alert" and doc["technician"] == {"id": "kt-yd", "name": "Phạm Quốc Việt",
                                                                 "phone": "0912345678"}
        assert doc["title"] == "[camwatch] Yên Định – YD-01 Ngã ba chợ 1: MẤT KẾT NỐI từ 14:01"
        assert "Cần kiểm tra trước: Kiểm tra nguồn điện" in doc["text"] and doc["facts"]["verdict_name"] == "mất kết nối"
        assert headers["x-camwatch-delivery"] == str(doc["id"]) and "Ảnh" not in doc["text"]
    finally:
        engine.dispose()
        smtp.stop()


def test_a_receiver_that_is_down_slow_or_failing_is_retried_with_backoff_in_order(tmp_path: Path,
                                                                                    receiver: Receiver) -> None:
    dead = free_port()
    config = webhook_config(tmp_path, free_port(), f"http://127.0.0.1:{dead}/hook")
    engine = open_db(config)
    try:
        outage(engine, "YD-01")
        outage(engine, "YD-02", start=10)
        routed(config, engine, at(20))
        assert post_webhooks(config, engine, at(20)) == (0, 1)  # down: the first fails, the second waits its turn
        rows = hooks(engine)
        assert all(r.sent_at is None and not r.failed_permanently for r in rows)
        assert "cannot reach the webhook 127.0.0.1" in rows[0].last_error and "/hook" not in rows[0].last_error
        assert post_webhooks(config, engine, at(20) + dt.timedelta(seconds=5)) == (0, 0)  # backing off
        config = webhook_config(tmp_path, free_port(), f"http://127.0.0.1:{receiver.port}/hook")
        receiver.delay_s = 5  # slow: longer than timeout_s = 0.5
        assert post_webhooks(config, engine, at(21)) == (0, 1)
        assert "no answer within 0.5 s" in hooks(engine)[0].last_error
        receiver.delay_s = 0
        receiver.release.set()
        receiver.answers = [503]
        assert post_webhooks(config, engine, at(30)) == (0, 1)
        assert "HTTP 503" in hooks(engine)[0].last_error and not hooks(engine)[0].failed_permanently
        assert post_webhooks(config, engine, at(90)) == (2, 0)  # back: both, in order, once
        assert [json.loads(b)["facts"]["camera"] for _, b in receiver.posts] == ["YD-01", "YD-02"]
        assert hooks(engine)[0].attempts == 4
    finally:
        engine.dispose()


def test_a_4xx_is_a_permanent_failure_shown_in_the_outbox(tmp_path: Path, receiver: Receiver) -> None:
    config = webhook_config(tmp_path, free_port(), f"http://127.0.0.1:{receiver.port}/hook")
    engine = open_db(config)
    try:
        outage(engine)
        routed(config, engine, at(4))
        receiver.answers = [403]
        assert post_webhooks(config, engine, at(4)) == (0, 1)
        (row,) = hooks(engine)
        assert row.failed_permanently and "refused the post: HTTP 403" in row.last_error
        assert post_webhooks(config, engine, at(400)) == (0, 0)  # not retried
        with engine.connect() as conn:
            assert repo.outbox_counts(conn)["failed"] == 1
        r = subprocess.run([sys.executable, "-m", "camwatch", "alerts", "outbox", "-c", str(tmp_path / "cameras.toml")],
                           capture_output=True, text=True, timeout=60)
        assert "webhook:kt-yd" in r.stdout and "FAILED — webhook 127.0.0.1" in r.stdout, r.stdout + r.stderr
        assert [e.kind for e in emails(engine)] == ["alert", "alert"]  # the emails are not held by the webhook
    finally:
        engine.dispose()


def test_the_webhook_channel_needs_its_section_and_key(tmp_path: Path) -> None:
    make_config(tmp_path, 25, n_cameras=1)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8")
    bad = text.replace('email = "viet@yen-dinh.example"', 'email = "viet@yen-dinh.example"\nchannels = ["webhook"]')
    with pytest.raises(cfgmod.ConfigError, match=r"technicians\[0\].channels: the webhook channel needs a \[webhook\]"):
        cfgmod.loads(bad, base_dir=tmp_path)
    nokey = text.replace("[alerts]", '[webhook]\nurl = "https://bridge.example/hook"\n[alerts]')
    with pytest.raises(cfgmod.ConfigError, match="give the signing key"):
        cfgmod.loads(nokey, base_dir=tmp_path)
