"""Operating camwatch: reloading a running daemon, and the read commands an operator types."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

from sqlalchemy import select

from camwatch import config as cfgmod
from camwatch.health import State, Status
from camwatch.model import CheckResult, Verdict
from camwatch.sim.fleet import Fleet
from camwatch.store import repo
from camwatch.store.schema import cameras, checks
from tests.conftest import PASSWORD
from tests.helpers import camwatch, config_text, start_daemon, stop_daemon, wait_for

ENV = {"CAM_PASSWORD": PASSWORD}


def write(cfg: Path, tmp: Path, cams: list[tuple[str, str, str, str]]) -> None:
    cfg.write_text(config_text(tmp / "state", cams, communes=[("yen-dinh", "Yên Định")],
                               sections="[metrics]\nenabled = false", defaults="interval_s = 2\ndeadline_s = 6"),
                   encoding="utf-8")


def test_sighup_adds_and_retires_cameras_and_a_broken_config_changes_nothing(fleet: Fleet, tmp_path: Path) -> None:
    cfg, log = tmp_path / "cameras.toml", tmp_path / "camwatch.log"
    a = ("A", "Ngã ba", "yen-dinh", fleet.url("static"))
    b = ("B", "Cầu", "yen-dinh", fleet.url("day"))
    c = ("C", "Chợ", "yen-dinh", fleet.url("night"))
    write(cfg, tmp_path, [a, b])
    proc = start_daemon(cfg, log, ENV)
    engine = None
    try:
        wait_for(lambda: (tmp_path / "state" / "camwatch.db").exists(), 60, "the database")
        engine = repo.make_engine(f"sqlite:///{tmp_path / 'state' / 'camwatch.db'}")

        def checked(cam: str, after: dt.datetime | None = None) -> int:
            try:
                with engine.connect() as conn:
                    q = select(checks.c.id).where(checks.c.camera_id == cam)
                    if after is not None:
                        q = q.where(checks.c.started_at > after)
                    return len(list(conn.execute(q)))
            except Exception:  # still being created
                return 0

        wait_for(lambda: checked("A") >= 1 and checked("B") >= 1, 90, "first checks of A and B")
        write(cfg, tmp_path, [a, c])  # B removed, C added
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reloaded: 2 cameras (1 added, 1 removed)" in log.read_text(), 60, "the reload")
        reloaded = dt.datetime.now(dt.UTC)
        wait_for(lambda: checked("C") >= 2, 90, "checks of the added camera")
        with engine.connect() as conn:
            retired = {r.id: r.retired_at for r in conn.execute(select(cameras.c.id, cameras.c.retired_at))}
        assert retired["B"] is not None and retired["A"] is None and retired["C"] is None
        # B's running check may finish; none starts later than its deadline after the reload
        assert checked("B", reloaded + dt.timedelta(seconds=7)) == 0

        cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[[cameras]]\nid = \"D\"\nname = \"x\"\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "config reload refused" in log.read_text(), 60, "the refused reload")
        refused = log.read_text().split("config reload refused", 1)[1].splitlines()[0]
        assert "line " in refused and "cameras[2].commune" in refused, refused
        after = dt.datetime.now(dt.UTC)
        wait_for(lambda: checked("A", after) >= 1 and checked("C", after) >= 1, 90, "checks going on unchanged")
        assert proc.poll() is None
        assert stop_daemon(proc) == 0
    finally:
        stop_daemon(proc)
        if engine is not None:
            engine.dispose()
    assert PASSWORD not in log.read_text()


def _config(tmp: Path) -> Path:
    cfg = tmp / "cameras.toml"
    cfg.write_text(config_text(tmp / "state", [("YD-01", "Ngã ba", "yen-dinh", "rtsp://127.0.0.1:9/a"),
                                               ("YD-02", "Cầu", "yen-dinh", "rtsp://127.0.0.1:9/b")],
                               communes=[("yen-dinh", "Yên Định")]), encoding="utf-8")
    return cfg


def test_read_commands_on_a_missing_database_say_so_and_create_nothing(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    for args in (["status"], ["incidents"], ["alerts", "outbox"], ["maintenance", "list"],
                 ["report", "--from", "2026-11-01", "--to", "2026-11-02", "-o", str(tmp_path / "r.csv")]):
        r = camwatch(*args, "-c", str(cfg))
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "no camwatch database" in r.stderr and "db upgrade" in r.stderr, r.stderr
    assert not (tmp_path / "state").exists()


def test_unknown_ids_dates_and_output_folders_are_checked(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    assert camwatch("db", "upgrade", "-c", str(cfg)).returncode == 0
    r = camwatch("incidents", "--camera", "YD-3", "-c", str(cfg))
    assert r.returncode == 2 and "unknown camera 'YD-3'" in r.stderr
    r = camwatch("status", "--commune", "yen-dnh", "-c", str(cfg))
    assert r.returncode == 2 and "unknown commune" in r.stderr
    r = camwatch("report", "--from", "29/11/2026", "--to", "30/11/2026", "-o", str(tmp_path / "r.csv"), "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    r = camwatch("report", "--from", "2026-11-29", "--to", "2026-11-30", "-o", str(tmp_path / "nope" / "r.pdf"),
                 "-c", str(cfg))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = camwatch("report", "--from", "2026-13-01", "--to", "2026-11-30", "-o", str(tmp_path / "r.csv"), "-c", str(cfg))
    assert r.returncode == 2 and "not a date" in r.stderr


def test_status_lists_every_configured_camera_and_flags_stale_data(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    assert camwatch("db", "upgrade", "-c", str(cfg)).returncode == 0
    r = camwatch("status", "-c", str(cfg))
    assert r.returncode == 0 and "2 unknown — 2 cameras" in r.stdout and "no camera has been checked yet" in r.stdout
    config = cfgmod.load(cfg, secrets=False)
    engine = repo.make_engine(config.database_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7)  # the service stopped 7 minutes ago (interval 60 s)
    with engine.begin() as conn:
        repo.sync_cameras(conn, [{"id": "YD-01", "commune": "yen-dinh", "name": "Ngã ba"}], old)
        repo.record_check(conn, CheckResult("YD-01", old, Verdict.OK, "ok", 2.0), 60.0,
                          State(status=Status.OK, since=old, last_check_at=old), [], None, "n", {})
    engine.dispose()
    r = camwatch("status", "-c", str(cfg))
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stdout.startswith("!! STALE DATA: the newest check is 7m") and "is the camwatch service running" in r.stdout
    assert "Asia/Ho_Chi_Minh (UTC+07:00)" in r.stdout
    help_text = camwatch("status", "--help").stdout
    assert "3 the data is stale" in help_text
