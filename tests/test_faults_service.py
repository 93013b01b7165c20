"""Faults of the service itself that camwatch survives: a busy pool, slow clients, bad configs.

- Idle TCP clients and a client that sends half a request do not block a TLS scrape of /metrics; the server closes them.
- A client that trickles its request a byte at a time is cut off at the connection's time limit.
- Connections beyond the bound (64) are closed at once; the listener serves again when the others end.
- A non-ASCII `Authorization` header on the listener is a 401, not a 500.
- A listener on an IPv6 address (`[::1]:PORT`) is served.
- Ten hanging cameras on a pool of two: the lag metric shows how late checks really start, the pool's saturation is
  visible, and the heartbeat keeps running on its own workers.
- A TOML nesting bomb, a listen port out of range, a bad IPv6 listen address: one line each, exit 2, for `check-config`
  and for `run`; a config saved with a UTF-8 byte-order mark is read as it is.
- 5,000 bad cameras: every error reported with its line, in time linear in the file (errors are located in one pass).
- The checks' large C buffers (decoded frames, pictures), once freed, go back to the system: glibc's moving mmap
  threshold puts them in its heaps after the first free, and the daemon trims the heaps every minute (the soak's
  RSS grew 1.4 MB a minute before).
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from prometheus_client import CollectorRegistry, make_wsgi_app

from camwatch import config as cfgmod
from camwatch.listener import Server
from camwatch.metrics import Metrics, serve
from camwatch.scheduler import Monitor
from camwatch.sim.fleet import free_port
from camwatch.store import repo
from tests.helpers import camwatch, wait_for

CASES = Path(__file__).parent / "config_errors"
BASE = (CASES / "base.toml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ the listener
@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the connection (EOF or reset); waits up to the socket's timeout."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def test_idle_and_half_request_clients_do_not_block_a_tls_scrape(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    port = free_port()
    httpd, _ = serve(Metrics(CollectorRegistry()).registry, "127.0.0.1", port, str(cert), str(key), timeout_s=2)
    ctx = ssl.create_default_context(cafile=str(cert))
    idle: list[socket.socket] = []
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]  # no ClientHello, ever
        half = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1")
        half.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        idle.append(half)
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=10, context=ctx) as resp:
            assert resp.status == 200 and b"camwatch_build_info" in resp.read()
        for s in idle:  # the server's 2 s timeout closes each of them
            s.settimeout(30)
            assert _closed_by_server(s)
    finally:
        for s in idle:
            s.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_client_that_trickles_its_request_is_cut_off_at_the_connection_limit() -> None:
    app = Server("127.0.0.1", 0, make_wsgi_app(CollectorRegistry()), timeout_s=2, max_connection_s=4)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(app.server_address[:2], timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            s.settimeout(1)
            closed = False
            for _ in range(60):  # a header byte a second: never idle for the 2 s read timeout
                try:
                    s.sendall(b"X")
                    closed = s.recv(1) == b""
                except TimeoutError:
                    continue
                except OSError:  # reset or broken pipe: closed too
                    closed = True
                if closed:
                    break
            assert closed, "the server kept a trickling connection open for 60 s"
    finally:
        app.shutdown()
        app.server_close()


def test_connections_beyond_the_bound_are_closed_at_once_and_the_listener_recovers() -> None:
    app = Server("127.0.0.1", 0, make_wsgi_app(CollectorRegistry()), timeout_s=30, max_connections=2)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = app.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        wait_for(lambda: app.connections == 2, 10, "both slots taken", every=0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            assert _closed_by_server(extra)  # within 10 s, not after the 30 s timeout: there is no slot for it
        for s in idle:  # they hang up: their slots are free again
            s.close()
        wait_for(lambda: b" 200 " in _raw_request(port, b"GET /metrics HTTP/1.0\r\n\r\n")[:20], 10, "a scrape again")
    finally:
        for s in idle:
            s.close()
        app.shutdown()
        app.server_close()


def _raw_request(port: int, head: bytes, host: str = "127.0.0.1") -> bytes:
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(head)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def test_a_non_ascii_authorization_header_is_refused_with_401() -> None:
    port = free_port()
    httpd, _ = serve(Metrics(CollectorRegistry()).registry, "127.0.0.1", port, auth=("prometheus", "s3cret"))
    try:
        reply = _raw_request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xc3\xa9\xff\xfe\r\n"
                                   b"Connection: close\r\n\r\n")
        assert reply.split(b"\r\n", 1)[0].split()[1] == b"401", reply[:200]
    finally:
        httpd.shutdown()
        httpd.server_close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_listener_on_ipv6_is_served(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    (tmp_path / "c.toml").write_text(f'[metrics]\nlisten = "[::1]:{port}"\n\n' + BASE, encoding="utf-8")
    assert camwatch("check-config", "-c", str(tmp_path / "c.toml")).returncode == 0
    host, port = cfgmod.load(tmp_path / "c.toml").file.metrics.host_port
    httpd, _ = serve(Metrics(CollectorRegistry()).registry, host, port)
    try:
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=10) as resp:
            assert resp.status == 200 and b"camwatch_build_info" in resp.read()
    finally:
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------------------------------ a saturated pool
@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A 'camera' that accepts TCP connections and never answers."""
    srv = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.5)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(5)
    for c in held:
        c.close()
    srv.close()


def test_a_saturated_pool_shows_in_the_lag_and_does_not_starve_the_heartbeat(tmp_path: Path, hanging_port: int) -> None:
    cams = "".join(f'[[cameras]]\nid = "H{i:02}"\nname = "treo {i}"\ncommune = "c"\n'
                   f'rtsp_url = "rtsp://127.0.0.1:{hanging_port}/h{i}"\n' for i in range(10))
    (tmp_path / "c.toml").write_text(f"""[district]\nstate_dir = "{tmp_path / 'state'}"\n[metrics]\nenabled = false
[defaults]\nuser = "admin"\npassword = "x"\ninterval_s = 5\ndeadline_s = 3\nconnect_timeout_s = 2\nconcurrency = 2
[[communes]]\nid = "c"\nname = "Xã"\n{cams}""", encoding="utf-8")
    config = cfgmod.load(tmp_path / "c.toml")
    repo.upgrade(config.database_url)
    monitor = Monitor(config, repo.make_engine(config.database_url))
    beats = {"ran": 0, "missed": 0}

    def heartbeat(ev: JobEvent) -> None:
        if ev.job_id == "__heartbeat__":
            beats["missed" if ev.code == EVENT_JOB_MISSED else "ran"] += 1

    monitor.scheduler.add_listener(heartbeat, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    reg = monitor.metrics.registry

    def late_checks() -> float:  # lag samples above 2 s
        count = reg.get_sample_value("camwatch_scheduler_lag_seconds_count") or 0.0
        return count - (reg.get_sample_value("camwatch_scheduler_lag_seconds_bucket", {"le": "2.0"}) or 0.0)

    monitor.start()
    try:
        # 10 checks of ~2 s every 5 s on 2 workers: each waits ~5 s for one, and the lag says so
        wait_for(lambda: late_checks() >= 5, 90, "checks reported starting over 2 s late")
        wait_for(lambda: beats["ran"] >= 4, 60, "the heartbeat running while the pool is full")
        assert reg.get_sample_value("camwatch_check_pool_size") == 2
        wait_for(lambda: (reg.get_sample_value("camwatch_checks_waiting") or 0) >= 3, 60, "checks waiting for a worker")
        assert reg.get_sample_value("camwatch_check_pool_busy") == 2
    finally:
        monitor.stop()
        monitor.engine.dispose()
    assert beats["missed"] == 0, beats
    lag_sum = reg.get_sample_value("camwatch_scheduler_lag_seconds_sum") or 0.0
    assert lag_sum > 10  # the sum of the real delays, not the ~0 of a lag taken at submission


# ------------------------------------------------------------------------------------------ bad configs
def _write(tmp: Path, text: str) -> Path:
    p = tmp / "cameras.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "a = " + "[" * 100_000 + "\n", "not valid TOML: arrays or tables nested too deeply"),
    ('[metrics]\nlisten = "127.0.0.1:99999"\n\n' + BASE, "line 2: metrics.listen: port 99999 is out of range 1-65535"),
    ('[metrics]\nlisten = "[1::2::3]:9101"\n\n' + BASE, "line 2: metrics.listen: [1::2::3] is not an IPv6 address"),
], ids=["nesting-bomb", "port-out-of-range", "bad-ipv6"])
def test_config_errors_are_one_line_and_exit_2_for_check_config_and_run(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    for command in ("check-config", "run"):
        r = camwatch(command, "-c", str(path), timeout=60)
        assert r.returncode == 2, (command, r.stderr[-2000:])
        assert "Traceback" not in r.stderr and r.stderr.splitlines()[-1].strip() == message, (command, r.stderr[-2000:])


def test_a_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cameras.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    r = camwatch("check-config", "-c", str(path), timeout=60)
    assert r.returncode == 0, r.stderr


def _bad_cameras(n: int, kind: str) -> str:
    bad = {"url": ('"c"', '"http://10.0.0.1/s"'), "commune": ('"nowhere"', '"rtsp://10.0.0.1/s"')}[kind]
    return '[[communes]]\nid = "c"\nname = "Xã"\n' + "".join(
        f'[[cameras]]\nid = "C{i}"\nname = "cam {i}"\ncommune = {bad[0]}\nrtsp_url = {bad[1]}\npassword = "x"\n'
        for i in range(n))


def _calls(text: str) -> tuple[int, int]:
    """(Python and C function calls made by `loads`, errors): a count of work done, not a time."""
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(profile)
    try:
        cfgmod.loads(text)
    except cfgmod.ConfigError as err:
        return calls, len(err.issues)
    finally:
        sys.setprofile(None)
    raise AssertionError("no config error")


@pytest.mark.parametrize("kind", ["url", "commune"])
def test_thousands_of_config_errors_are_all_reported_in_linear_time(kind: str) -> None:
    with pytest.raises(cfgmod.ConfigError) as exc:
        cfgmod.loads(_bad_cameras(5000, kind))
    issues = exc.value.issues
    assert len(issues) == 5000
    field_line = {"url": 8, "commune": 7}[kind]  # the camera's rtsp_url or commune line, in blocks of 6 from line 4
    assert [i.line for i in issues] == [4 + 6 * n + field_line - 4 for n in range(5000)]
    small, n_small = _calls(_bad_cameras(400, kind))
    big, n_big = _calls(_bad_cameras(1600, kind))
    assert (n_small, n_big) == (400, 1600)
    assert big / small < 4 * 1.3, (small, big)  # linear: 4× the errors, 4× the work (quadratic would be 16×)


# ------------------------------------------------------------------------------------------ the C heap
TRIM_PROBE = """
import ctypes, sys
from camwatch import memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def rss():
    return int(next(ln for ln in open("/proc/self/status") if ln.startswith("VmRSS")).split()[1]) // 1024
first = libc.malloc(1 << 20)
libc.free(first)  # glibc raises its mmap threshold: the next blocks of this size come from the heap
blocks, pins = [], []
for _ in range(200):  # some checks' frames and pictures (137 MiB), each with something small kept after it
    blocks.append(libc.malloc(700 << 10))
    pins.append(libc.malloc(4096))  # still in use: free() cannot give the holes between them back
for b in blocks:
    libc.memset(b, 1, 700 << 10)
used = rss()
for b in blocks:
    libc.free(b)
freed = rss()
if sys.argv[1] == "trim":
    memory.trim()
print(used, freed, rss())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_the_memory_the_checks_freed_goes_back_to_the_system() -> None:
    """The soak's RSS grew 1.4 MB a minute: glibc kept the checks' freed buffers in its heaps. The daemon trims
    them every minute (`memory.trim`, a background job)."""
    def run(mode: str) -> list[int]:
        root = str(Path(__file__).resolve().parent.parent)
        out = subprocess.run([sys.executable, "-c", TRIM_PROBE, mode], capture_output=True, text=True, check=True,
                             timeout=60, cwd=root, env={**os.environ, "PYTHONPATH": root}).stdout.split()
        return [int(x) for x in out]

    used, freed, after = run("keep")
    assert freed > used - 60 and after > used - 60, (used, freed, after)  # the fault: freed, but still resident
    used, freed, after = run("trim")
    assert after < used - 100, (used, freed, after)  # trimmed: most of the 137 MiB given back
