"""`camwatch incidents`: list them, acknowledge one (reminders stop), mute a camera's alerts for a while."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, UsageError
from camwatch.cli.query import _iso, open_db, zone_note
from camwatch.store import acks, repo
from camwatch.words import duration, duration_short


def cmd_incidents(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config, secrets=False)
    if args.action == "ack":
        return _ack(config, args)
    if args.action in ("mute", "unmute"):
        return _mute(config, args)
    camera = args.camera or args.target
    if camera and camera not in {c.id for c in config.file.cameras}:
        raise UsageError(f"unknown camera {camera!r}")
    engine = open_db(config)
    tz = config.district.tz
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        rows = repo.incident_rows(conn, open_only=args.open, since=args.since, camera_id=camera)
        muted = acks.muted_until(conn, now)
    if args.json:
        print(json.dumps([_incident(r, tz, muted.get(r.camera_id)) for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'ID':>5} {'CAMERA':<8} {'KIND':<15} {'STARTED':<17} {'CLOSED':<17} {'DURATION':>9}  {'ACK':<16} REASON")
    for r in rows:
        dur = ((r.closed_at or now) - r.started_at).total_seconds()
        ack = (r.acknowledged_by or "yes")[:16] if r.acknowledged else ("muted" if r.camera_id in muted and
                                                                        r.closed_at is None else "-")
        print(f"{r.id:>5} {r.camera_id:<8} {r.kind:<15} {r.started_at.astimezone(tz):%d/%m/%Y %H:%M}  "
              f"{(r.closed_at.astimezone(tz).strftime('%d/%m/%Y %H:%M') if r.closed_at else 'open'):<17} "
              f"{duration_short(dur):>9}  {ack:<16} {r.reason}")
    print(f"\n{len(rows)} incident(s); {zone_note(tz, now)}")
    return EXIT_OK


def _incident(r: Any, tz: ZoneInfo, muted_until: dt.datetime | None = None) -> dict[str, Any]:
    return {"id": r.id, "camera": r.camera_id, "kind": r.kind, "severity": r.severity,
            "started_at": _iso(r.started_at, tz), "opened_at": _iso(r.opened_at, tz), "closed_at": _iso(r.closed_at, tz),
            "reason": r.reason, "first_bad_snapshot": r.first_bad_snapshot, "last_good_snapshot": r.last_good_snapshot,
            "acknowledged": bool(r.acknowledged), "acknowledged_by": r.acknowledged_by,
            "acknowledged_at": _iso(r.acknowledged_at, tz), "ack_note": r.ack_note,
            "muted_until": _iso(muted_until, tz) if r.closed_at is None else None}


def _ack(config: cfgmod.Config, args: argparse.Namespace) -> int:
    if not args.target or not args.target.isdigit():
        raise UsageError("incidents ack needs the incident's id (see `camwatch incidents --open`)")
    if not args.by:
        raise UsageError("incidents ack needs --by NAME (who is handling it: shown in emails and status)")
    engine = open_db(config)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        row = acks.acknowledge(conn, int(args.target), args.by, args.note, now)
    if row is None:
        raise UsageError(f"no incident {args.target}")
    state = "closed" if row.closed_at else "open"
    print(f"incident {row.id} ({row.camera_id}, {row.kind}, {state}) acknowledged by {args.by}: no more reminders; "
          f"the district team is still told after {config.file.alerts.escalate_after_h:g} h")
    return EXIT_OK


def _mute(config: cfgmod.Config, args: argparse.Namespace) -> int:
    camera = args.target
    if not camera:
        raise UsageError(f"incidents {args.action} needs a camera id")
    if camera not in config.cameras:
        raise UsageError(f"unknown camera {camera!r}")
    engine = open_db(config)
    now = dt.datetime.now(dt.UTC)
    tz = config.district.tz
    with engine.begin() as conn:
        if args.action == "unmute":
            n = acks.end_mute(conn, camera, now)
            print(f"ended {n} mute(s) of {camera}: alerts held meanwhile are decided now")
            return EXIT_OK
        if args.duration is None:
            raise UsageError("incidents mute needs --for, e.g. --for 3d")
        if not args.by:
            raise UsageError("incidents mute needs --by NAME")
        acks.add_mute(conn, camera, now, now + args.duration, args.by, args.note)
    print(f"{camera} muted for {duration(args.duration.total_seconds(), 'en')} (until "
          f"{(now + args.duration).astimezone(tz):%d/%m/%Y %H:%M}, {zone_note(tz, now)}) by {args.by}: no alert, "
          "reminder or recovery email until then; what is still open then is sent")
    return EXIT_OK
