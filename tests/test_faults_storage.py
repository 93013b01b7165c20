"""What camwatch survives on its disk and its database (real subprocesses, a real small filesystem, real SQLite
and PostgreSQL):

- a state directory that fills up: pictures stop first, checks and incidents go on being stored, the disk's free
  space and the pause are in the metrics, one WARNING and one email to the district team per episode;
- a disk filled to the last byte: the database's reserve is released and checks are still stored (also when a
  write is refused before the guard measures: the write gets the reserve and goes through);
- the space back: pictures and the reserve return;
- a second `camwatch run` on the same SQLite database (same node name): refused, exit 2, one line naming the
  first (pid, node, since); after `kill -9` of the first the lock is not stale;
- a read-only database (a read-only disk): `status` and `incidents` read it, `run` says why not in one line;
- a corrupt database (random bytes, a truncated file) and a missing one: one line, exit 2, for `run`,
  `status` and `incidents`;
- PostgreSQL unreachable for a read command: one line, exit 2, no password;
- PostgreSQL refusing connections under a running daemon: one WARNING for the outage, no traceback, and the
  checks are stored again when it returns.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from camwatch.config.settings import StorageSettings
from camwatch.metrics import Metrics
from camwatch.sim.fleet import Fleet, free_port
from camwatch.storage import MB, Policy, Space, StorageGuard, decide, prunable
from camwatch.store import repo, sqlite
from camwatch.store.errors import is_disk_full
from camwatch.store.schema import checks, incidents
from tests.conftest import PASSWORD, _pg_url, fresh_pg_database
from tests.helpers import camwatch, config_text, start_daemon, stop_daemon, wait_for
from tests.smtp_sink import SmtpServer

ENV = {"CAM_PASSWORD": PASSWORD}
T = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------- the storage policy, pure

P = Policy(min_free=100 * MB, reserve=20 * MB)


def test_pictures_stop_below_the_threshold_and_resume_only_past_its_margin() -> None:
    held = Space(pictures=True, reserve=True)
    assert decide(150 * MB, held, P) == held
    assert decide(99 * MB, held, P) == Space(pictures=False, reserve=True)
    assert decide(105 * MB, Space(False, True), P) == Space(False, True)  # not at once: no start-stop per check
    assert decide(P.resume_at, Space(False, True), P) == held


def test_the_reserve_goes_to_the_database_when_the_disk_fills_and_pictures_wait_for_it() -> None:
    assert decide(19 * MB, Space(False, True), P) == Space(pictures=False, reserve=False)
    assert decide(90 * MB, Space(False, False), P) == Space(False, False)  # not held again yet: no pictures
    assert decide(P.reserve + P.resume_at, Space(False, False), P) == Space(pictures=True, reserve=True)
    assert decide(5 * MB, Space(True, False), Policy(100 * MB, 0)) == Space(False, False)  # no reserve configured


def test_the_oldest_incident_pictures_go_first_and_each_camera_keeps_its_newest() -> None:
    files = [("A", "incident-20261101T000000Z-first-bad.jpg", 10), ("A", "incident-20261101T000000Z-last-good.jpg", 10),
             ("A", "incident-20261120T000000Z-first-bad.jpg", 10), ("B", "incident-20261105T000000Z-first-bad.jpg", 10),
             ("A", "latest.jpg", 10)]
    assert prunable(files, 15) == [("A", "incident-20261101T000000Z-first-bad.jpg"),
                                   ("A", "incident-20261101T000000Z-last-good.jpg")]
    assert prunable(files, 1000) == [("A", "incident-20261101T000000Z-first-bad.jpg"),
                                     ("A", "incident-20261101T000000Z-last-good.jpg")]  # B's only one, A's newest stay


# ---------------------------------------------------------------- a real small disk

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs mounted for the test (we run as root), unmounted after it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"cannot mount a small tmpfs (the test needs root): {r.stderr}"
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path, name: str, leave: int) -> Path:
    """Write a file until only `leave` bytes stay free on `disk` (0: until the disk refuses)."""
    path = disk / name
    with path.open("ab") as f:
        while True:
            room = shutil.disk_usage(disk).free - leave
            if room <= 0:
                break
            try:
                f.write(b"\0" * min(room, 256 << 10))
                f.flush()
            except OSError:  # ENOSPC: full
                break
    return path


def test_a_write_refused_for_want_of_space_gets_the_reserve_and_succeeds(small_disk: Path) -> None:
    """The daemon's fallback between two measurements: SQLite says the disk is full, the reserve is released,
    the same write goes through (`job.py` does exactly this around a check's transaction)."""
    state = small_disk / "state"
    url = f"sqlite:///{state / 'camwatch.db'}"
    repo.upgrade(url)
    metrics = Metrics()
    guard = StorageGuard(state, StorageSettings(pictures_min_free_mb=4, reserve_mb=2), metrics)
    guard.tick()
    assert guard.space == Space(pictures=True, reserve=True)
    engine = repo.make_engine(url)
    with engine.begin() as conn:
        repo.ensure_camera(conn, "R1", "yen-dinh", "Cầu", T)
    fill(small_disk, "filler", leave=0)
    blob = os.urandom(1 << 20)  # a write that needs new pages: the database must grow
    with pytest.raises(OperationalError) as refused:
        with engine.begin() as conn:
            repo.save_baseline(conn, "R1", blob, T)
    assert is_disk_full(refused.value)
    assert guard.release(partial(sqlite.checkpoint, engine))
    with engine.begin() as conn:
        repo.save_baseline(conn, "R1", blob, T)
    with engine.connect() as conn:
        assert repo.load_camera(conn, "R1")[1] == blob
    assert not (state / "camwatch.reserve").exists() and not guard.pictures_allowed()
    assert metrics.registry.get_sample_value("camwatch_storage_reserve_bytes") == 0
    assert metrics.registry.get_sample_value("camwatch_pictures_suspended") == 1
    engine.dispose()


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text_ = r.read().decode()
    return {s.name: s.value for fam in text_string_to_metric_families(text_) for s in fam.samples if not s.labels}


def metric(port: int, name: str) -> float | None:
    try:
        return scrape(port).get(name)
    except OSError:
        return None


def storage_config(tmp: Path, state: Path, fleet: Fleet, smtp_port: int, metrics_port: int, closed_port: int) -> Path:
    cfg = tmp / "cameras.toml"
    cfg.write_text(config_text(
        state, [("S1", "Ngã ba chợ", "yen-dinh", fleet.url("daemon1")),
                ("S2", "Cầu Yên Định", "yen-dinh", f"rtsp://127.0.0.1:{closed_port}/S2")],
        communes=[("yen-dinh", "Yên Định")],
        defaults="interval_s = 2\ndeadline_s = 6\nconnect_timeout_s = 2\n"
                 "[defaults.health]\nfailures_to_open = 2\nsuccesses_to_close = 2",
        sections=f"""
[storage]
pictures_min_free_mb = 6
reserve_mb = 2

[metrics]
listen = "127.0.0.1:{metrics_port}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from = "camwatch <camwatch@son-dong.example>"

[alerts]
group_window_s = 0
escalation = ["doi-kt"]

[[technicians]]
id = "doi-kt"
name = "Đội kỹ thuật huyện"
email = "doikt@son-dong.example"
"""), encoding="utf-8")
    return cfg


def stored(url: str, camera: str) -> tuple[int, int]:
    """(checks, incidents) stored for `camera`."""
    engine = repo.make_engine(url, create=False)
    try:
        with engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(checks).where(checks.c.camera_id == camera)).scalar_one(),
                    conn.execute(select(func.count()).select_from(incidents)
                                 .where(incidents.c.camera_id == camera)).scalar_one())
    except Exception:  # the daemon is still creating the database, or it is down
        return (0, 0)
    finally:
        engine.dispose()


def pictures(state: Path) -> dict[str, float]:
    return {str(p.relative_to(state)): p.stat().st_mtime for p in (state / "snapshots").rglob("*.jpg")}


@pytest.mark.slow
def test_a_full_state_disk_stops_pictures_first_and_keeps_storing_checks_and_incidents(
        fleet: Fleet, tmp_path: Path, small_disk: Path, closed_port: int) -> None:
    fleet.set("daemon1", "day")
    state = small_disk / "state"
    url = f"sqlite:///{state / 'camwatch.db'}"
    smtp = SmtpServer().start()
    port = free_port()
    cfg = storage_config(tmp_path, state, fleet, smtp.port, port, closed_port)
    log = tmp_path / "camwatch.log"
    proc = start_daemon(cfg, log, ENV)
    try:
        wait_for(lambda: (state / "snapshots" / "S1" / "latest.jpg").exists(), 60, "S1's first picture")
        assert (state / "camwatch.reserve").stat().st_size == 2 * MB  # the database's reserve is held
        assert metric(port, "camwatch_pictures_suspended") == 0
        assert metric(port, "camwatch_storage_reserve_bytes") == 2 * MB

        # something else fills the disk: 4 MB left, below pictures_min_free_mb = 6
        filler = fill(small_disk, "filler", leave=4 * MB)
        wait_for(lambda: metric(port, "camwatch_pictures_suspended") == 1, 30, "pictures suspended")
        free = metric(port, "camwatch_state_free_bytes")
        assert free is not None and free < 6 * MB
        before, seen = stored(url, "S1"), pictures(state)
        fleet.set("daemon1", "black")  # a new incident while the disk is low
        wait_for(lambda: stored(url, "S1")[1] >= 1, 60, "S1's black incident stored without pictures")
        wait_for(lambda: stored(url, "S1")[0] >= before[0] + 4, 60, "checks stored")
        assert pictures(state) == seen, "a picture was written while the disk was low"
        with repo.make_engine(url, create=False).connect() as conn:
            (inc,) = repo.incident_rows(conn, camera_id="S1")
        assert inc.kind == "black" and inc.first_bad_snapshot is None
        wait_for(lambda: any("Ổ ĐĨA" in str(m["Subject"]) for m in smtp.sink.messages), 30, "the district team's email")

        # now to the last byte: the reserve goes to the database, checks are still stored
        extra = fill(small_disk, "filler2", leave=0)
        wait_for(lambda: metric(port, "camwatch_storage_reserve_bytes") == 0, 30, "the reserve released")
        n = stored(url, "S2")[0]
        wait_for(lambda: stored(url, "S2")[0] >= n + 4, 60, "checks stored on a full disk")

        # the space is back: the reserve is held again and pictures resume
        filler.unlink()
        extra.unlink()
        wait_for(lambda: metric(port, "camwatch_pictures_suspended") == 0, 30, "pictures resumed")
        assert metric(port, "camwatch_storage_reserve_bytes") == 2 * MB
        wait_for(lambda: pictures(state) != seen, 30, "a new picture")
    finally:
        code = stop_daemon(proc)
        smtp.stop()
    out = log.read_text(encoding="utf-8")
    assert code == 0, out
    assert out.count("no more pictures") == 1, out  # on the edge, not per check
    assert "pictures resume" in out and "Traceback" not in out and "disk is full" not in out, out
    storage_mails = [m for m in smtp.sink.messages if "Ổ ĐĨA" in str(m["Subject"])]
    assert len(storage_mails) == 1 and storage_mails[0]["To"].addresses[0].addr_spec == "doikt@son-dong.example"
    body = storage_mails[0].get_body(("plain",)).get_content()
    assert "Đã ngừng lưu ảnh chụp" in body and str(state) in body


# ---------------------------------------------------------------- one writer per SQLite database

def plain_config(tmp: Path, state: Path, closed_port: int, extra: str = "") -> Path:
    cfg = tmp / "cameras.toml"
    cfg.write_text(config_text(state, [("W1", "Cầu", "yen-dinh", f"rtsp://127.0.0.1:{closed_port}/W1")],
                               defaults="interval_s = 1\nconnect_timeout_s = 1",
                               sections=f"[metrics]\nenabled = false\n{extra}"), encoding="utf-8")
    return cfg


def test_a_second_run_on_the_same_sqlite_database_is_refused_and_names_the_first(tmp_path: Path,
                                                                                 closed_port: int) -> None:
    cfg = plain_config(tmp_path, tmp_path / "state", closed_port)
    log = tmp_path / "first.log"
    first = start_daemon(cfg, log, ENV, "--node-id", "may-chu-1")
    try:
        wait_for(lambda: "camwatch started" in log.read_text(encoding="utf-8"), 60, "the first run")
        second = camwatch("run", "-c", str(cfg), "--node-id", "may-chu-1", env=ENV, timeout=60)
        assert second.returncode == 2, second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert f"pid {first.pid}, node may-chu-1, since 20" in line and "already writes" in line, line
        first.send_signal(signal.SIGKILL)  # the kernel releases the lock: never stale
        first.wait(30)
        third = start_daemon(cfg, log, ENV, "--node-id", "may-chu-1")
        try:
            wait_for(lambda: log.read_text(encoding="utf-8").count("camwatch started") == 2, 60, "a run after kill -9")
        finally:
            assert stop_daemon(third) == 0
    finally:
        stop_daemon(first)


# ---------------------------------------------------------------- read-only, corrupt, missing

def one_line(r: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for e in expected:
        assert e in lines[0], lines[0]
    return lines[0]


def a_database(tmp: Path, state: Path, closed_port: int) -> Path:
    """A config and a real database with one camera and one incident (a short run of the daemon)."""
    cfg = plain_config(tmp, state, closed_port, "[defaults.health]\nfailures_to_open = 2")
    log = tmp / "make.log"
    proc = start_daemon(cfg, log, ENV)
    try:
        wait_for(lambda: stored(f"sqlite:///{state / 'camwatch.db'}", "W1")[1] == 1, 60, "an incident")
    finally:
        assert stop_daemon(proc) == 0
    return cfg


def test_a_read_only_database_is_read_and_run_says_why_not(tmp_path: Path, small_disk: Path, closed_port: int) -> None:
    state = small_disk / "state"
    cfg = a_database(tmp_path, state, closed_port)
    (state / "camwatch.db.lock").unlink()
    assert not (state / "camwatch.db-shm").exists()  # closed cleanly: a WAL database without its -shm
    r = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    status = camwatch("status", "-c", str(cfg), env=ENV)
    assert status.returncode in (0, 3) and "W1" in status.stdout, status.stderr
    inc = camwatch("incidents", "-c", str(cfg), env=ENV)
    assert inc.returncode == 0 and "offline" in inc.stdout, inc.stderr
    one_line(camwatch("run", "-c", str(cfg), env=ENV, timeout=60), "Read-only file system")
    one_line(camwatch("incidents", "ack", "1", "--by", "Việt", "-c", str(cfg), env=ENV), "readonly database")


@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_corrupt_database_is_one_line_for_run_status_and_incidents(tmp_path: Path, closed_port: int,
                                                                     damage: str) -> None:
    state = tmp_path / "state"
    db = state / "camwatch.db"
    if damage == "random bytes":
        cfg = plain_config(tmp_path, state, closed_port)
        state.mkdir()
        db.write_bytes(os.urandom(64 << 10))
        expected = "file is not a database"
    else:
        cfg = a_database(tmp_path, state, closed_port)
        with sqlite3.connect(db) as c:  # pages enough that a truncation cuts tables, not only the header
            c.execute("CREATE TABLE padding (x BLOB)")
            c.executemany("INSERT INTO padding VALUES (?)", [(os.urandom(4000),) for _ in range(200)])
        c.close()
        os.truncate(db, db.stat().st_size // 2)
        expected = "malformed"
    for argv in (["status"], ["incidents"], ["run"]):
        one_line(camwatch(*argv, "-c", str(cfg), env=ENV, timeout=60), "database", expected)


def test_a_missing_database_is_one_line_for_read_commands(tmp_path: Path, closed_port: int) -> None:
    cfg = plain_config(tmp_path, tmp_path / "state", closed_port)
    for argv in (["status"], ["incidents"], ["incidents", "--open"]):
        one_line(camwatch(*argv, "-c", str(cfg), env=ENV), "no camwatch database at", "db upgrade")
    assert not (tmp_path / "state").exists()  # read commands never create it


# ---------------------------------------------------------------- PostgreSQL unavailable

def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path, closed_port: int) -> None:
    cfg = plain_config(tmp_path, tmp_path / "state", closed_port)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        "[district]\n", f'[district]\ndatabase_url = "postgresql+psycopg://camwatch:S3cretPw@127.0.0.1:{free_port()}'
        '/camwatch"\n', 1), encoding="utf-8")
    for argv in (["status"], ["incidents"]):
        r = camwatch(*argv, "-c", str(cfg), env=ENV)
        one_line(r, "cannot use the database postgresql+psycopg://camwatch:***@127.0.0.1", "refused")
        assert "S3cretPw" not in r.stderr


@pytest.fixture
def pg_database() -> Iterator[tuple[str, str, str]]:
    """(url, name, admin url) of a fresh, migrated PostgreSQL database."""
    base = _pg_url()
    if not base:
        pytest.skip("no PostgreSQL (set CAMWATCH_TEST_PG_URL)")
    url, name, admin = fresh_pg_database(base)
    try:
        yield url, name, base
    finally:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def submitted(port: int) -> float:
    """Check jobs the daemon's scheduler has started (the lag histogram counts each)."""
    return metric(port, "camwatch_scheduler_lag_seconds_count") or 0.0


@pytest.mark.slow
def test_a_postgresql_outage_under_the_daemon_is_one_warning_not_a_traceback_per_check(
        tmp_path: Path, closed_port: int, pg_database: tuple[str, str, str]) -> None:
    url, name, base = pg_database
    port = free_port()
    cfg = tmp_path / "cameras.toml"
    cfg.write_text(config_text(
        tmp_path / "state", [(f"P{i}", f"Cầu {i}", "yen-dinh", f"rtsp://127.0.0.1:{closed_port}/P{i}") for i in range(3)],
        defaults="interval_s = 1\nconnect_timeout_s = 1",
        sections=f'[metrics]\nlisten = "127.0.0.1:{port}"\n').replace(
            "[district]\n", f'[district]\ndatabase_url = "{url}"\n', 1), encoding="utf-8")
    log = tmp_path / "camwatch.log"
    proc = start_daemon(cfg, log, ENV)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        wait_for(lambda: stored(url, "P0")[0] >= 2, 60, "checks stored")
        with admin.connect() as c:  # the database goes away: every connection cut, new ones refused
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        wait_for(lambda: "database unavailable" in log.read_text(encoding="utf-8"), 60, "the outage's warning")
        n = submitted(port)
        wait_for(lambda: submitted(port) >= n + 10, 60, "ten checks attempted during the outage")
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        wait_for(lambda: "database available again" in log.read_text(encoding="utf-8"), 60, "the database back")
        k = stored(url, "P0")[0]
        wait_for(lambda: stored(url, "P0")[0] >= k + 2, 60, "checks stored again")
    finally:
        code = stop_daemon(proc)
        admin.dispose()
    out = log.read_text(encoding="utf-8")
    assert code == 0, out
    assert out.count("database unavailable") == 1, out
    assert "Traceback" not in out and "with a bug" not in out and "raised an exception" not in out, out
    assert " WARNING " in next(x for x in out.splitlines() if "database unavailable" in x)
