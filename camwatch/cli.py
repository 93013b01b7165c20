"""The `camwatch` command: check-config, check, db, run, status, incidents, maintenance, sim, demo."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from camwatch import config as cfgmod
from camwatch.check import (
    CheckResult,
    apply_clock,
    check_camera,
    check_configured,
    facts_from,
    onvif_failure,
    write_atomic,
)
from camwatch.urls import mask_url, split_credentials, with_credentials

log = logging.getLogger("camwatch")

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        ap.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except cfgmod.ConfigError as err:
        print(f"camwatch: invalid config {err}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as err:
        print(f"camwatch: {err}", file=sys.stderr)
        return EXIT_USAGE


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="camwatch", description="Health monitoring for IP security cameras.")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(metavar="COMMAND")

    def cmd(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--config", "-c", type=Path, default=Path(os.environ.get("CAMWATCH_CONFIG", cfgmod.DEFAULT_CONFIG)),
                       help="the camera list (default: $CAMWATCH_CONFIG or config/cameras.toml)")
        p.set_defaults(func=func)
        return p

    cmd("check-config", cmd_check_config, "validate the config and print every error with its line")
    p = cmd("check", cmd_check, "check cameras now and say what is wrong")
    p.add_argument("cameras", nargs="*", metavar="CAMERA_ID")
    p.add_argument("--all", action="store_true", help="every camera in the config")
    p.add_argument("--commune", help="every camera of one commune")
    p.add_argument("--url", help="check an RTSP address that is not in the config")
    p.add_argument("--onvif", metavar="USER:PASS@HOST[:PORT]", help="check an ONVIF device that is not in the config")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--rebaseline", action="store_true", help="forget what the camera looked like and learn it again")
    p.add_argument("--deadline", type=float, help="overall deadline per check, seconds")
    p.add_argument("--jobs", type=int, default=16, help="checks run at once (default 16)")

    p = cmd("db", None, "database: upgrade (create or migrate)")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=cmd_db)
    p = cmd("run", cmd_run, "run the monitoring service")
    p.add_argument("--node-id", default=os.environ.get("CAMWATCH_NODE_ID"),
                   help="this node's name when several share one PostgreSQL database (default: the host name)")
    p = cmd("status", cmd_status, "current state of every camera")
    p.add_argument("--commune")
    p.add_argument("--nodes", action="store_true", help="the camwatch nodes, their leases and last heartbeat")
    p.add_argument("--json", action="store_true")
    p = cmd("incidents", cmd_incidents, "list incidents")
    p.add_argument("--open", action="store_true", help="only open incidents")
    p.add_argument("--since", type=_parse_since, help="e.g. 2026-11-01, or 7d, 24h")
    p.add_argument("--camera")
    p.add_argument("--json", action="store_true")
    p = cmd("maintenance", cmd_maintenance, "maintenance windows: no incident opens, time reported apart")
    p.add_argument("action", choices=["start", "end", "list"])
    p.add_argument("target", nargs="?", help="a camera id, or commune:ID")
    p.add_argument("--for", dest="duration", type=_parse_duration, default=dt.timedelta(hours=2), help="e.g. 2h, 30m")
    p.add_argument("--reason", default="")

    p = cmd("alerts", cmd_alerts, "email alerts: test (send a test email), outbox (what is pending, sent, failing), "
            "flush (route and send what is due now)")
    p.add_argument("action", choices=["test", "outbox", "flush"])
    p.add_argument("--to", help="address for `alerts test`")
    p.add_argument("--lang", choices=["vi", "en"], default=None)
    p.add_argument("--limit", type=int, default=30)

    p = cmd("discover", cmd_discover, "find ONVIF cameras (WS-Discovery) and print a TOML block for each")
    p.add_argument("--address", help="probe one address instead of multicasting on the local network")
    p.add_argument("--interface", help="this server's address on the cameras' network (for the multicast probe)")
    p.add_argument("--port", type=int, default=3702)
    p.add_argument("--timeout", type=float, default=3.0)

    p = cmd("report", cmd_report, "availability report per commune and camera (xlsx, csv, html, pdf)")
    p.add_argument("--from", dest="date_from", required=True, type=dt.date.fromisoformat, help="first day, 2024-04-01")
    p.add_argument("--to", dest="date_to", required=True, type=dt.date.fromisoformat, help="last day (included)")
    p.add_argument("--commune")
    p.add_argument("--format", choices=["xlsx", "csv", "html", "pdf"], help="default: from the file name")
    p.add_argument("--lang", choices=["vi", "en"])
    p.add_argument("-o", "--output", type=Path, required=True)

    from camwatch.sim import cli as simcli

    p = cmd("sim", simcli.cmd_sim, "serve a simulated camera fleet over RTSP")
    simcli.add_sim_arguments(p)
    p = cmd("demo", simcli.cmd_demo, "run camwatch against a simulated district on this machine")
    p.add_argument("--minutes", type=float, default=0, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--dir", type=Path, default=Path("demo-state"))
    return ap


# ---------------------------------------------------------------- config

def cmd_check_config(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config)
    n_retired = sum(1 for c in config.file.cameras if c.retired)
    print(f"{args.config}: ok — {len(config.file.communes)} communes, {len(config.cameras)} cameras"
          + (f" (+{n_retired} retired)" if n_retired else "") + f", {len(config.file.technicians)} technicians")
    return EXIT_OK


# ---------------------------------------------------------------- check

def cmd_check(args: argparse.Namespace) -> int:
    from camwatch.probe.rtsp import RtspSettings
    from camwatch.store import repo

    if args.onvif:
        if args.url or args.cameras or args.all or args.commune:
            raise UsageError("give either --onvif or camera ids/--all/--url")
        return _check_onvif_address(args)
    if args.url:
        if args.cameras or args.all or args.commune:
            raise UsageError("give either --url or camera ids/--all, not both")
        bare, user, password = split_credentials(args.url)
        if not bare.startswith(("rtsp://", "rtsps://")):
            raise UsageError("--url must be an rtsp:// address")
        settings = RtspSettings(deadline_s=args.deadline or 10.0)
        from camwatch.analysis import Thresholds

        result, _ = check_camera(mask_url(args.url), with_credentials(bare, user, password), settings, None, Thresholds())
        _save_snapshot(result, Path("state/snapshots"))
        _print_results([result], args.json, {})
        return EXIT_OK if result.ok else EXIT_UNHEALTHY

    config = cfgmod.load(args.config)
    if args.all:
        ids = list(config.cameras)
    elif args.commune:
        ids = [c.id for c in config.cameras.values() if c.cfg.commune == args.commune]
        if not ids:
            raise UsageError(f"no active camera in commune {args.commune!r}")
    else:
        ids = args.cameras
    if not ids:
        raise UsageError("name a camera (camwatch check YD-01), or use --all or --url")
    unknown = [i for i in ids if i not in config.cameras]
    if unknown:
        raise UsageError(f"unknown camera(s): {', '.join(unknown)}")
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for cid in ids:
            cam = config.cameras[cid]
            repo.ensure_camera(conn, cid, cam.cfg.commune, cam.cfg.name, now)
            if args.rebaseline:
                repo.save_baseline(conn, cid, None, now)

    def one(cid: str) -> CheckResult:
        cam = config.cameras[cid]
        with engine.connect() as conn:
            _, baseline = repo.load_camera(conn, cid)
        s = RtspSettings(deadline_s=args.deadline or cam.check.deadline_s, connect_timeout_s=cam.check.connect_timeout_s,
                         keyframes=cam.check.keyframes, keyframe_spacing_s=cam.check.keyframe_spacing_s)
        onvif = None
        if cam.cfg.onvif is not None:
            from camwatch.probe.onvif import probe_onvif

            o = cam.cfg.onvif
            onvif = probe_onvif(o.host, o.port, cam.onvif_user,
                                cam.onvif_password.get_secret_value() if cam.onvif_password else None,
                                deadline_s=s.deadline_s, profile=o.profile,
                                want_stream=cam.cfg.rtsp_url is None or cam.source == "snapshot")
        result, new_baseline = check_configured(cam, s, baseline, config.thresholds,
                                                facts_from(onvif) if onvif else None)
        if onvif is not None:
            result.onvif = onvif.as_dict()
        if new_baseline is not None:
            with engine.begin() as conn:
                repo.save_baseline(conn, cid, new_baseline, result.started_at)
        _save_snapshot(result, config.state_dir / "snapshots")
        return result

    results: dict[str, CheckResult] = {}
    show_progress = len(ids) > 1 and sys.stderr.isatty() and not args.json
    with ThreadPoolExecutor(max_workers=max(1, min(args.jobs, len(ids)))) as pool:
        futures = {pool.submit(one, cid): cid for cid in ids}
        for n, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            if show_progress:
                bar = "#" * (30 * n // len(ids))
                print(f"\r[{bar:<30}] {n}/{len(ids)}", end="", file=sys.stderr, flush=True)
    if show_progress:
        print(file=sys.stderr)
    ordered = [results[i] for i in ids]
    _print_results(ordered, args.json, {cid: config.cameras[cid] for cid in ids}, summary=len(ids) > 1)
    return EXIT_OK if all(r.ok for r in ordered) else EXIT_UNHEALTHY


def _check_onvif_address(args: argparse.Namespace) -> int:
    from camwatch.analysis import Thresholds
    from camwatch.probe.onvif import probe_onvif
    from camwatch.probe.rtsp import RtspSettings

    bare, user, password = split_credentials("onvif://" + args.onvif)
    host_port = bare.removeprefix("onvif://").rstrip("/")
    host, _, port = host_port.rpartition(":") if host_port.count(":") == 1 else (host_port, "", "80")
    try:
        port_n = int(port or 80)
    except ValueError:
        raise UsageError(f"bad ONVIF port {port!r}") from None
    deadline = args.deadline or 10.0
    facts = probe_onvif(host, port_n, user, password, deadline_s=deadline)
    label = f"onvif://{user + '@' if user else ''}{host}:{port_n}"
    if not facts.ok or facts.stream is None:
        result = onvif_failure(label, facts_from(facts))
    else:
        url = with_credentials(split_credentials(facts.stream.rtsp_uri)[0], user, password)
        result, _ = check_camera(label, url, RtspSettings(deadline_s=deadline), None, Thresholds())
        result, _ = apply_clock(result, None, facts_from(facts), 30.0)
    result.onvif = facts.as_dict()
    _save_snapshot(result, Path("state/snapshots"))
    _print_results([result], args.json, {})
    return EXIT_OK if result.ok else EXIT_UNHEALTHY


def _save_snapshot(result: CheckResult, directory: Path) -> None:
    if result.jpeg is None:
        return
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", result.camera)[:64]
    try:
        result.snapshot = write_atomic(directory / name / "check.jpg", result.jpeg)
    except OSError as err:
        log.error("camera=%s cannot save snapshot: %s", result.camera, err.strerror)


def _print_results(results: list[CheckResult], as_json: bool, cams: dict[str, Any], summary: bool = False) -> None:
    if as_json:
        data = [r.as_dict() for r in results]
        print(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2))
        return
    for r in results:
        cam = cams.get(r.camera)
        title = f"{r.camera}  {cam.cfg.name} ({cam.commune.name})" if cam else r.camera
        print(title)
        print(f"  verdict   {r.verdict} — {r.reason}")
        s = r.stream
        if s.codec:
            parts = [f"{s.codec} {s.width}×{s.height}"]
            if s.fps:
                parts.append(f"{s.fps:.1f} fps")
            if s.bitrate_bps:
                parts.append(f"{s.bitrate_bps / 1000:.0f} kbit/s")
            if s.time_to_first_frame_s is not None:
                parts.append(f"first frame in {s.time_to_first_frame_s:.2f} s")
            print(f"  stream    {', '.join(parts)}")
        for f in r.findings[1:]:
            print(f"  also      {f.kind} — {f.reason}")
        if r.onvif:
            d = r.onvif.get("device") or {}
            if d:
                print(f"  device    {d['manufacturer']} {d['model']}, firmware {d['firmware']}, serial {d['serial']}")
            if r.onvif.get("clock_offset_s") is not None:
                ntp = "NTP" if r.onvif.get("ntp") else "manual"
                print(f"  clock     {r.onvif['clock_offset_s']:+.1f} s from this server ({ntp})")
            rec = r.onvif.get("recording")
            if rec:
                print(f"  recording newest {rec['age_s'] / 60:.0f} min ago ({rec['recordings']} recording(s))")
            elif r.onvif.get("ok"):
                print("  recording not reported by the device (no ONVIF Profile G)")
            if r.onvif.get("error"):
                print(f"  onvif     {r.onvif['error']} — {r.onvif['reason']}")
        print(f"  took      {r.duration_s:.2f} s")
        if r.snapshot:
            print(f"  snapshot  {r.snapshot}")
        print()
    if summary:
        w = max(len(r.camera) for r in results)
        print(f"{'CAMERA':<{w}}  {'VERDICT':<14}  {'TIME':>6}  REASON")
        for r in results:
            print(f"{r.camera:<{w}}  {r.verdict:<14}  {r.duration_s:5.1f}s  {r.reason}")
        bad = sum(1 for r in results if not r.ok)
        print(f"\n{len(results) - bad} ok, {bad} with a problem, of {len(results)} cameras")


# ---------------------------------------------------------------- database and service

def cmd_db(args: argparse.Namespace) -> int:
    from camwatch.store import repo

    config = cfgmod.load(args.config, secrets=False)
    if args.action == "upgrade":
        repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    print(f"database {engine.url.render_as_string(hide_password=True)} at revision {repo.current_revision(engine)}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from camwatch.scheduler import Monitor
    from camwatch.store import repo

    config = cfgmod.load(args.config)
    repo.upgrade(config.database_url)
    monitor = Monitor(config, repo.make_engine(config.database_url), node=args.node_id)
    start_metrics(monitor, config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    from camwatch.scheduler import ClusterError

    try:
        monitor.start()
    except ClusterError as err:
        raise UsageError(str(err)) from None
    stop.wait()
    monitor.stop()
    return EXIT_OK


def start_metrics(monitor: Any, config: cfgmod.Config) -> None:
    """Serve /metrics as the config says (TLS and basic auth optional)."""
    from camwatch.metrics import serve

    ms = config.file.metrics
    if not ms.enabled:
        return
    host, port = ms.host_port
    try:
        password = ms.basic_auth_password()
    except (ValueError, OSError) as err:
        raise UsageError(f"metrics basic auth: {err}") from None
    try:
        serve(monitor.metrics.registry, host, port, str(ms.tls_cert_file) if ms.tls_cert_file else None,
              str(ms.tls_key_file) if ms.tls_key_file else None,
              (ms.basic_auth_user, password) if ms.basic_auth_user and password is not None else None)
    except OSError as err:
        raise UsageError(f"cannot serve metrics on {ms.listen}: {err.strerror}") from None
    log.info("metrics on %s://%s/metrics", "https" if ms.tls_cert_file else "http", ms.listen)


def cmd_status(args: argparse.Namespace) -> int:
    from camwatch.store import repo

    config = cfgmod.load(args.config, secrets=False)
    engine = repo.make_engine(config.database_url)
    tz = ZoneInfo(config.district.timezone)
    now = dt.datetime.now(dt.UTC)
    if args.nodes:
        return _status_nodes(engine, now, args.json)
    names = {c.id: c.name for c in config.file.communes}
    rows = []
    with engine.connect() as conn:
        open_inc = {r.camera_id: r for r in repo.incident_rows(conn, open_only=True)}
        for cam in repo.camera_rows(conn, args.commune):
            up = {}
            for label, days in (("24h", 1), ("7d", 7), ("30d", 30)):
                start = now - dt.timedelta(days=days)
                b = repo.camera_breakdown(conn, cam.id, cam.commune, start, now,
                                          config.maintenance_windows(cam.id, cam.commune, start, now))
                up[label] = None if b.availability is None else round(100 * b.availability, 2)
            inc = open_inc.get(cam.id)
            rows.append({
                "camera": cam.id, "commune": cam.commune, "commune_name": names.get(cam.commune, cam.commune),
                "name": cam.name, "status": cam.status,
                "since": cam.status_since.isoformat() if cam.status_since else None,
                "incident": {"kind": inc.kind, "since": inc.started_at.isoformat()} if inc else None,
                "last_check": cam.last_check_at.isoformat() if cam.last_check_at else None,
                "last_verdict": cam.last_verdict, "uptime": up,
            })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK

    def local(iso: str | None) -> str:
        return dt.datetime.fromisoformat(iso).astimezone(tz).strftime("%d/%m %H:%M") if iso else "-"

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}%"

    print(f"{'CAMERA':<8} {'COMMUNE':<16} {'STATUS':<11} {'SINCE':<11} {'INCIDENT':<22} {'LAST CHECK':<11} "
          f"{'UP 24h':>7} {'7d':>7} {'30d':>7}")
    for r in rows:
        inc = f"{r['incident']['kind']} {local(r['incident']['since'])}" if r["incident"] else "-"
        print(f"{r['camera']:<8} {r['commune_name'][:16]:<16} {r['status']:<11} {local(r['since']):<11} {inc:<22} "
              f"{local(r['last_check']):<11} {pct(r['uptime']['24h']):>7} {pct(r['uptime']['7d']):>7} "
              f"{pct(r['uptime']['30d']):>7}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print("\n" + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f" — {len(rows)} cameras")
    return EXIT_OK


def _status_nodes(engine: Any, now: dt.datetime, as_json: bool) -> int:
    from sqlalchemy import select

    from camwatch import leases
    from camwatch.store.schema import nodes

    with engine.connect() as conn:
        held = leases.counts(conn)
        rows = [{"node": r.node_id, "started_at": r.started_at.isoformat(), "heartbeat_age_s":
                 round((now - r.heartbeat_at).total_seconds(), 1), "cameras": held.get(r.node_id, 0),
                 "communes": r.communes or []} for r in conn.execute(select(nodes).order_by(nodes.c.node_id))]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'NODE':<24} {'CAMERAS':>7} {'HEARTBEAT':>10}  PINNED")
    for r in rows:
        print(f"{r['node']:<24} {r['cameras']:>7} {r['heartbeat_age_s']:>8.1f}s  {', '.join(r['communes']) or '-'}")
    return EXIT_OK


def cmd_incidents(args: argparse.Namespace) -> int:
    from camwatch.store import repo

    config = cfgmod.load(args.config, secrets=False)
    engine = repo.make_engine(config.database_url)
    tz = ZoneInfo(config.district.timezone)
    with engine.connect() as conn:
        rows = repo.incident_rows(conn, open_only=args.open, since=args.since, camera_id=args.camera)
    if args.json:
        print(json.dumps([{
            "id": r.id, "camera": r.camera_id, "kind": r.kind, "severity": r.severity,
            "started_at": r.started_at.isoformat(), "opened_at": r.opened_at.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None, "reason": r.reason,
            "first_bad_snapshot": r.first_bad_snapshot, "last_good_snapshot": r.last_good_snapshot,
        } for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'ID':>5} {'CAMERA':<8} {'KIND':<15} {'STARTED':<17} {'CLOSED':<17} {'DURATION':>9}  REASON")
    now = dt.datetime.now(dt.UTC)
    for r in rows:
        dur = ((r.closed_at or now) - r.started_at).total_seconds()
        print(f"{r.id:>5} {r.camera_id:<8} {r.kind:<15} {r.started_at.astimezone(tz):%d/%m/%Y %H:%M}  "
              f"{(r.closed_at.astimezone(tz).strftime('%d/%m/%Y %H:%M') if r.closed_at else 'open'):<17} "
              f"{_fmt_duration(dur):>9}  {r.reason}")
    return EXIT_OK


def cmd_maintenance(args: argparse.Namespace) -> int:
    from camwatch.store import repo
    from camwatch.store.schema import maintenance

    config = cfgmod.load(args.config, secrets=False)
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    now = dt.datetime.now(dt.UTC)
    if args.action == "list":
        from sqlalchemy import select

        with engine.connect() as conn:
            for r in conn.execute(select(maintenance).where(maintenance.c.ends_at > now).order_by(maintenance.c.starts_at)):
                print(f"{r.camera_id or 'commune:' + (r.commune or '')}: {r.starts_at:%Y-%m-%d %H:%M} → "
                      f"{r.ends_at:%Y-%m-%d %H:%M} UTC {r.reason}")
        return EXIT_OK
    if not args.target:
        raise UsageError("name a camera (or commune:ID)")
    commune = args.target.split(":", 1)[1] if args.target.startswith("commune:") else None
    camera = None if commune else args.target
    if camera and camera not in config.cameras:
        raise UsageError(f"unknown camera {camera!r}")
    if commune and commune not in {c.id for c in config.file.communes}:
        raise UsageError(f"unknown commune {commune!r}")
    with engine.begin() as conn:
        if args.action == "start":
            repo.add_maintenance(conn, now, now + args.duration, args.reason, camera_id=camera, commune=commune)
            until = (now + args.duration).astimezone(ZoneInfo(config.district.timezone))
            print(f"maintenance for {args.target} until {until:%d/%m/%Y %H:%M}")
        else:
            n = repo.end_maintenance(conn, camera or "", now)
            print(f"ended {n} maintenance window(s) for {args.target}")
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from camwatch.store import repo
    from camwatch.store.schema import notifications

    config = cfgmod.load(args.config, secrets=args.action == "flush")
    if args.action == "outbox":
        engine = repo.make_engine(config.database_url)
        tz = ZoneInfo(config.district.timezone)
        with engine.connect() as conn:
            counts = repo.outbox_counts(conn)
            rows = list(conn.execute(select(notifications).where(notifications.c.event == "email")
                                     .order_by(notifications.c.id.desc()).limit(args.limit)))
        print(f"pending {counts['pending']}, sent {counts['sent']}, failed {counts['failed']}")
        for r in rows:
            state = ("sent " + r.sent_at.astimezone(tz).strftime("%d/%m %H:%M")) if r.sent_at else \
                ("FAILED" if r.failed_permanently else f"pending (attempts {r.attempts})")
            err = f" — {r.last_error}" if r.last_error and not r.sent_at else ""
            print(f"{r.id:>6} {r.created_at.astimezone(tz):%d/%m %H:%M} {r.kind or '':<15} {r.camera_id or '-':<8} "
                  f"{r.recipient:<32} {state}{err}")
        return EXIT_OK
    if config.file.smtp is None:
        raise UsageError("no [smtp] section in the config")
    from camwatch.alerts.smtp import SmtpTransport, TransportError

    if args.action == "test":
        if not args.to:
            raise UsageError("alerts test needs --to ADDRESS")
        from email.utils import make_msgid

        from camwatch.alerts.messages import build

        msg = build({"kind": "test", "language": args.lang or config.district.language}, config.file.smtp.sender,
                    args.to, make_msgid(domain="camwatch"))
        try:
            SmtpTransport(config.file.smtp).send(msg)
        except TransportError as err:
            print(f"camwatch: test email not sent: {err}", file=sys.stderr)
            return EXIT_UNHEALTHY
        print(f"test email sent to {args.to} through {config.file.smtp.host}:{config.file.smtp.port}")
        return EXIT_OK
    from camwatch.alerts.outbox import route, send_due
    from camwatch.store import repo as _repo

    engine = _repo.make_engine(config.database_url)
    with engine.begin() as conn:
        written = route(conn, config, dt.datetime.now(dt.UTC))
    sent, failed = send_due(engine, config, SmtpTransport(config.file.smtp).send,
                            config.district.node_id or "cli", lambda: dt.datetime.now(dt.UTC))
    print(f"{written} email(s) queued, {sent} sent, {failed} failed")
    return EXIT_OK if not failed else EXIT_UNHEALTHY


def cmd_discover(args: argparse.Namespace) -> int:
    from camwatch.discover import discover

    try:
        found = discover(args.timeout, args.address, args.port, args.interface)
    except OSError as err:
        raise UsageError(f"cannot send the discovery probe: {err.strerror}") from None
    where = args.address or "the local network (multicast)"
    print(f"# {len(found)} ONVIF device(s) found on {where}")
    for n, f in enumerate(found, 1):
        hw = f.scope("hardware")
        print(f"\n# {f.xaddr}{'  ' + hw if hw else ''}\n{f.toml(n)}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from camwatch import report
    from camwatch.store import repo

    config = cfgmod.load(args.config, secrets=False)
    if args.date_to < args.date_from:
        raise UsageError("--to is before --from")
    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt not in ("xlsx", "csv", "html", "pdf"):
        raise UsageError("give --format xlsx|csv|html|pdf (or an output file with that extension)")
    if args.commune and args.commune not in {c.id for c in config.file.communes}:
        raise UsageError(f"unknown commune {args.commune!r}")
    engine = repo.make_engine(config.database_url)
    start, end = report.period(args.date_from, args.date_to, ZoneInfo(config.district.timezone))
    with engine.connect() as conn:
        r = report.build(conn, config, start, end, args.commune)
    try:
        report.write(r, fmt, args.lang or config.district.language, args.output)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        raise UsageError(f"cannot write the report: {err}") from None
    print(f"{args.output}: {len(r.communes)} communes, {len(r.cameras)} cameras, availability "
          f"{report.pct(r.availability, args.lang or config.district.language)}")
    return EXIT_OK


def _parse_duration(text: str) -> dt.timedelta:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 2h, 1d)")
    return dt.timedelta(seconds=float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def _parse_since(text: str) -> dt.datetime:
    try:
        return dt.datetime.now(dt.UTC) - _parse_duration(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or duration: {text!r}") from None
    return d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d


def _fmt_duration(s: float) -> str:
    s = int(s)
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600:02d}h"
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
