"""Hostile cameras and bad URLs: what camwatch survives, each through `camwatch check --url` as a user runs it.

- A DESCRIBE announcing a 1 GB reply and streaming junk: memory stays bounded, the verdict says the reply was too large.
- A reply that drips and never completes: protocol_error saying it stopped short, within the deadline.
- A peer that answers garbage, or HTTP (a web port): protocol_error saying it is not RTSP (not "no answer").
- A peer that accepts and never answers: timeout, "no answer to the connection".
- A camera that answers RTSP but never sets up the stream: timeout, saying it answered.
- A 1080p camera still checks fine with FFmpeg's allocations capped.
- URLs without a host, with a bad port, absurdly long, or a raw / in the password: a one-line usage error (exit 2).
- An upper-case scheme (RTSP://): accepted, schemes are case-insensitive.
- A host name that does not resolve: offline, saying so (FFmpeg says only "Input/output error").
- A 1M-character text with a URL in it is masked in linear time (it took 21 s at 100k characters).
- A password with a raw # in a config's rtsp_url: check-config says what is wrong, the password appears nowhere.
- An ad-hoc check writes nothing in the directory it runs from unless asked (--snapshot FILE writes the JPEG).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from camwatch.sim.fleet import Fleet, clip_cache
from camwatch.sim.hostile import PeerServer
from camwatch.sim.scenes import ensure_clips
from camwatch.urls import with_credentials
from tests.conftest import PASSWORD
from tests.helpers import camwatch, wait_for

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PYTHONPATH": str(ROOT)}
@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[PeerServer]:
    server = PeerServer(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


def check_measured(url: str, cwd: Path, *extra: str) -> tuple[int, str, str, int]:
    """`camwatch check --url URL --json` as a subprocess: exit code, stdout, stderr and its peak RSS in KiB."""
    out, err = cwd / ".stdout", cwd / ".stderr"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "camwatch", "check", "--url", url, "--json", *extra],
                                stdout=o, stderr=e, cwd=cwd, env={**os.environ, **ENV})
    waited: list[tuple[int, int, object]] = []
    peak = [0]  # the child's own VmHWM: wait4's ru_maxrss would include this process's RSS at fork (Linux keeps
    # the forked copy's high-water mark across exec), hundreds of MB in a full test run

    def ended() -> bool:
        try:
            status_text = Path(f"/proc/{proc.pid}/status").read_text()
            peak[0] = max(peak[0], next(int(ln.split()[1]) for ln in status_text.splitlines()
                                        if ln.startswith("VmHWM")))
        except (OSError, StopIteration):
            pass  # ended (a zombie has no VmHWM): the last reading stands
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            waited.append((pid, status, usage))
        return bool(pid)

    try:
        wait_for(ended, 120, "the check to end", every=0.05)
    finally:
        if not waited:
            proc.kill()
    _, status, _usage = waited[0]
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out.read_text(), err.read_text()
    out.unlink()
    err.unlink()
    assert peak[0] > 0, "the check's memory was never read"
    return proc.returncode, stdout, stderr, peak[0]


@pytest.mark.parametrize("peer", ["huge"], indirect=True)
def test_a_describe_announcing_1_gb_costs_bounded_memory(peer: PeerServer, tmp_path: Path) -> None:
    code, out, err, peak_kib = check_measured(peer.url, tmp_path)
    assert peak_kib < 300 * 1024, f"the check peaked at {peak_kib // 1024} MiB"  # it was 1,176 MiB
    d = json.loads(out)
    assert code == 1, err
    assert d["verdict"] == "protocol_error" and "1,000,000,000-byte reply to DESCRIBE" in d["reason"], d["reason"]
    assert d["duration_s"] <= 10.5


@pytest.mark.parametrize(("peer", "verdict", "words"), [
    ("drip", "protocol_error", "reply to DESCRIBE stopped short"),
    ("garbage", "protocol_error", "answered, but not in RTSP"),
    ("http", "protocol_error", "not in RTSP (an HTTP server: is this the camera's web port?)"),
    ("silent", "timeout", "no answer to the connection"),
    ("no_setup", "timeout", "answers RTSP requests, but did not set up the stream"),
], indirect=["peer"])
def test_what_a_hostile_peer_did_is_told_apart(peer: PeerServer, verdict: str, words: str, tmp_path: Path) -> None:
    code, out, err, _ = check_measured(peer.url, tmp_path, "--deadline", "6")
    d = json.loads(out)
    assert (code, d["verdict"]) == (1, verdict), (d, err)
    assert words in d["reason"] and d["duration_s"] <= 6.5, d
    assert list(tmp_path.iterdir()) == []  # an ad-hoc check writes nothing where it runs


@pytest.mark.parametrize(("url", "words"), [
    ("rtsp://:554/x", "has no host"),
    ("rtsp:///x", "has no host"),
    ("rtsp://admin:pw@/x", "has no host"),
    ("rtsp://admin:pw/x@127.0.0.1/s", "holds a password with characters that must be percent-encoded (# as %23, / as"),
    ("rtsp://127.0.0.1:99999/x", "has a bad port"),
    ("rtsp://127.0.0.1:abc/x", "has a bad port"),
    ("http://127.0.0.1/x", "must be rtsp://host[:port]/path"),
    ("rtsp://127.0.0.1/" + "a" * 100_000, "100017 characters long"),
])
def test_a_bad_url_is_a_one_line_usage_error(url: str, words: str, tmp_path: Path) -> None:
    r = camwatch("check", "--url", url, cwd=tmp_path, env=ENV, timeout=60)
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
    assert "pw" not in r.stderr and list(tmp_path.iterdir()) == []


def test_an_upper_case_scheme_is_accepted(closed_port: int, tmp_path: Path) -> None:
    r = camwatch("check", "--url", f"RTSP://127.0.0.1:{closed_port}/x", "--json", cwd=tmp_path, env=ENV)
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["verdict"] == "offline"  # probed (nothing listens there), not refused as a usage error


def test_a_host_name_that_does_not_resolve_is_said_so(tmp_path: Path) -> None:
    r = camwatch("check", "--url", "rtsp://camera.nonexistent.invalid/x", "--json", cwd=tmp_path, env=ENV)
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["verdict"] == "offline", r.stdout + r.stderr  # not "protocol_error"
    assert "host name cannot be resolved" in out["reason"]


def test_masking_a_huge_text_is_linear() -> None:
    code = "from camwatch.urls import mask_url; t = 'rtsp://' + 'a' * 1_000_000; assert mask_url(t) == t; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, **ENV})
    assert r.stdout == "ok\n", r.stderr  # quadratic, this took hours (21 s at 100k characters)


def test_a_password_with_a_raw_hash_in_the_config_is_never_printed(tmp_path: Path) -> None:
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(f'[district]\nstate_dir = "{tmp_path / "state"}"\n\n[[communes]]\nid = "yd"\nname = "Yên Định"\n\n'
                   '[[cameras]]\nid = "YD-01"\nname = "Chợ"\ncommune = "yd"\n'
                   'rtsp_url = "rtsp://admin:Sup3rSecret#2024@10.0.0.5:554/Streaming/Channels/102"\n', encoding="utf-8")
    r = camwatch("check-config", "-c", str(cfg), env=ENV, timeout=60)
    assert r.returncode == 2
    assert "line 12: cameras[0].rtsp_url: put the user and password in `user`" in r.stderr, r.stderr
    assert "Sup3rSecret" not in r.stdout + r.stderr and "2024" not in r.stdout + r.stderr


@pytest.fixture(scope="module")
def hd_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """One 1920×1080 camera (the clip is encoded once into the clip cache)."""
    ensure_clips(clip_cache(), sizes=("1080p",), scenes=("day",))
    with Fleet(tmp_path_factory.mktemp("hd"), {"hd": "day_1080p"}, password=PASSWORD, hostile_ports=False) as f:
        yield f


def test_a_1080p_camera_checks_fine_and_writes_only_the_snapshot_asked_for(hd_fleet: Fleet, tmp_path: Path) -> None:
    url = with_credentials(hd_fleet.url("hd"), "admin", PASSWORD).replace("rtsp://", "RTSP://", 1)
    code, out, err, peak_kib = check_measured(url, tmp_path, "--snapshot", "pic.jpg")
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "ok", (d, err)
    assert (d["stream"]["width"], d["stream"]["height"]) == (1920, 1080)
    assert [p.name for p in tmp_path.iterdir()] == ["pic.jpg"] and d["snapshot"] == "pic.jpg"
    assert (tmp_path / "pic.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert PASSWORD not in out + err and peak_kib < 300 * 1024
    code, out, _, _ = check_measured(url, tmp_path)
    assert code == 0 and [p.name for p in tmp_path.iterdir()] == ["pic.jpg"]  # without --snapshot: nothing more
