"""`camwatch status`, `incidents` and `maintenance`: what the database knows, in the district's time zone."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, EXIT_STALE, UsageError
from camwatch.profile import StreamProfile
from camwatch.store import acks, errors, history, repo
from camwatch.words import duration_short

STALE_INTERVALS = 3  # status: data older than this many check intervals is stale


def open_db(config: cfgmod.Config) -> Engine:
    """The database, which read commands never create: a missing one is a one-line error."""
    engine = repo.make_engine(config.database_url, create=False)
    where = engine.url.render_as_string(hide_password=True)
    try:
        found = repo.has_schema(engine)
    except Exception as err:  # unreachable, unreadable, corrupt: one line (a bug keeps its traceback)
        line = errors.unavailable(err)
        if line is None:
            raise
        raise UsageError(f"cannot use the database {where}: {line}") from None
    if not found:
        raise UsageError(f"no camwatch database at {where}: run `camwatch db upgrade` (or start `camwatch run`) first")
    return engine


def zone_note(tz: ZoneInfo, now: dt.datetime) -> str:
    offset = now.astimezone(tz).strftime("%z")
    return f"times in {tz.key} (UTC{offset[:3]}:{offset[3:]})"


def cmd_status(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config, secrets=False)
    if args.commune and args.commune not in config.commune_ids:
        raise UsageError(f"unknown commune {args.commune!r}")
    engine = open_db(config)
    tz = config.district.tz
    now = dt.datetime.now(dt.UTC)
    if args.nodes:
        return _status_nodes(engine, now, args.json)
    names = {c.id: c.name for c in config.file.communes}
    with engine.connect() as conn:
        open_inc = {r.camera_id: r for r in repo.incident_rows(conn, open_only=True)}
        muted = acks.muted_until(conn, now)
        stored = {r.id: r for r in repo.camera_rows(conn, args.commune)}
        rows = []
        for cam in config.cameras.values():  # the config says which cameras exist; the database what they do
            if args.commune and cam.cfg.commune != args.commune:
                continue
            r = stored.get(cam.id)
            up = {}
            for label, days in (("24h", 1), ("7d", 7), ("30d", 30)):
                start = now - dt.timedelta(days=days)
                b = history.camera_breakdown(conn, cam.id, cam.cfg.commune, start, now,
                                          config.maintenance_windows(cam.id, cam.cfg.commune, start, now))
                up[label] = None if b.availability is None else round(100 * b.availability, 2)
            inc = open_inc.get(cam.id)
            rows.append({
                "camera": cam.id, "commune": cam.cfg.commune, "commune_name": names.get(cam.cfg.commune, cam.cfg.commune),
                "name": cam.cfg.name, "status": r.status if r else "unknown",
                "since": _iso(r.status_since if r else None, tz),
                "incident": {"id": inc.id, "kind": inc.kind, "since": _iso(inc.started_at, tz),
                             "acknowledged_by": inc.acknowledged_by if inc.acknowledged else None} if inc else None,
                "muted_until": _iso(muted.get(cam.id), tz),
                "last_check": _iso(r.last_check_at if r else None, tz),
                "last_verdict": r.last_verdict if r else None, "uptime": up,
                "stream": StreamProfile.from_json(r.profile) if r is not None and r.profile else None,
            })
    checked = [dt.datetime.fromisoformat(r["last_check"]) for r in rows if r["last_check"]]
    newest = max(checked, default=None)
    longest = max((c.check.interval_s for c in config.cameras.values()), default=60.0)
    stale_s = (now - newest).total_seconds() if newest else None
    stale = stale_s is not None and stale_s > STALE_INTERVALS * longest
    if args.json:
        print(json.dumps([{**r, "stream": r["stream"].to_json() if r["stream"] else None} for r in rows],
                         ensure_ascii=False, indent=2))
        return EXIT_STALE if stale else EXIT_OK
    if stale and stale_s is not None:
        print(f"!! STALE DATA: the newest check is {duration_short(stale_s)} old (more than {STALE_INTERVALS} check "
              "intervals): is the camwatch service running? (systemctl status camwatch)\n")
    elif newest is None:
        print("no camera has been checked yet: start the service (`camwatch run`) or run `camwatch check --all`\n")

    def local(iso: str | None) -> str:
        return dt.datetime.fromisoformat(iso).strftime("%d/%m %H:%M") if iso else "-"

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}%"

    def gop(p: StreamProfile | None) -> str:
        return "-" if p is None or p.gop_s is None else ("intra" if p.gop_s == 0 else f"{p.gop_s:.3g}s")

    print(f"{'CAMERA':<8} {'COMMUNE':<16} {'STATUS':<11} {'SINCE':<11} {'INCIDENT':<22} {'LAST CHECK':<11} "
          f"{'UP 24h':>7} {'7d':>7} {'30d':>7} {'GOP':>6}")
    for r in rows:
        inc = f"{r['incident']['kind']} {local(r['incident']['since'])}" if r["incident"] else "-"
        if r["incident"] and r["incident"]["acknowledged_by"]:
            inc += " ack"
        if r["muted_until"]:
            inc += " muted"
        print(f"{r['camera']:<8} {r['commune_name'][:16]:<16} {r['status']:<11} {local(r['since']):<11} {inc:<22} "
              f"{local(r['last_check']):<11} {pct(r['uptime']['24h']):>7} {pct(r['uptime']['7d']):>7} "
              f"{pct(r['uptime']['30d']):>7} {gop(r['stream']):>6}")
    for r in rows:
        i = r["incident"]
        if i and i["acknowledged_by"]:
            print(f"  {r['camera']}: incident {i['id']} acknowledged by {i['acknowledged_by']}")
        if r["muted_until"]:
            print(f"  {r['camera']}: alerts muted until {local(r['muted_until'])}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print("\n" + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f" — {len(rows)} cameras; "
          + zone_note(tz, now))
    return EXIT_STALE if stale else EXIT_OK


def _iso(at: dt.datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).isoformat() if at else None


def _status_nodes(engine: Engine, now: dt.datetime, as_json: bool) -> int:
    from camwatch.store import leases

    with engine.connect() as conn:
        held = leases.counts(conn)
        rows = [{"node": r.node_id, "started_at": r.started_at.isoformat(), "heartbeat_age_s":
                 round((now - r.heartbeat_at).total_seconds(), 1), "cameras": held.get(r.node_id, 0),
                 "communes": r.communes or []} for r in repo.node_rows(conn)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'NODE':<24} {'CAMERAS':>7} {'HEARTBEAT':>10}  PINNED")
    for r in rows:
        print(f"{r['node']:<24} {r['cameras']:>7} {r['heartbeat_age_s']:>8.1f}s  {', '.join(r['communes']) or '-'}")
    return EXIT_OK


def cmd_maintenance(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config, secrets=False)
    tz = config.district.tz
    now = dt.datetime.now(dt.UTC)
    if args.action == "list":
        engine = open_db(config)
        with engine.connect() as conn:
            rows = repo.maintenance_rows(conn, now)
        for r in rows:
            print(f"{r.camera_id or 'commune:' + (r.commune or '')}: {r.starts_at.astimezone(tz):%d/%m/%Y %H:%M} → "
                  f"{r.ends_at.astimezone(tz):%d/%m/%Y %H:%M} {r.reason}")
        print(f"{len(rows)} window(s) from the command line; {zone_note(tz, now)} (the config's own windows: "
              f"{len(config.file.maintenance)})")
        return EXIT_OK
    if not args.target:
        raise UsageError("name a camera (or commune:ID)")
    commune = args.target.split(":", 1)[1] if args.target.startswith("commune:") else None
    camera = None if commune else args.target
    if camera and camera not in config.cameras:
        raise UsageError(f"unknown camera {camera!r}")
    if commune and commune not in config.commune_ids:
        raise UsageError(f"unknown commune {commune!r}")
    engine = open_db(config)
    with engine.begin() as conn:
        if args.action == "start":
            repo.add_maintenance(conn, now, now + args.duration, args.reason, camera_id=camera, commune=commune)
            print(f"maintenance for {args.target} until {(now + args.duration).astimezone(tz):%d/%m/%Y %H:%M} "
                  f"({zone_note(tz, now)})")
        else:
            n = repo.end_maintenance(conn, camera or "", now)
            print(f"ended {n} maintenance window(s) for {args.target}")
    return EXIT_OK
