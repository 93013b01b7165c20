"""`camwatch alerts`: a test email, the outbox, sending what is due now, and re-queuing failed deliveries."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, EXIT_UNHEALTHY, UsageError
from camwatch.cli.query import open_db, zone_note
from camwatch.store import repo


def cmd_alerts(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config, secrets=args.action not in ("outbox", "retry"))
    if args.action == "outbox":
        return _outbox(config, args.limit)
    if args.action == "retry":
        return _retry(config, args.id, args.failed)
    if config.file.smtp is None:
        raise UsageError("no [smtp] section in the config")
    from camwatch.alerts.smtp import SmtpTransport, TransportError

    transport = SmtpTransport.from_config(config)
    if args.action == "test":
        if not args.to:
            raise UsageError("alerts test needs --to ADDRESS")
        from email.utils import make_msgid

        from camwatch.alerts.messages import build

        msg = build({"kind": "test", "language": args.lang or config.district.language}, config.file.smtp.sender,
                    args.to, make_msgid(domain="camwatch"))
        try:
            transport.send(msg)
        except TransportError as err:
            print(f"camwatch: test email not sent: {err}", file=sys.stderr)
            return EXIT_UNHEALTHY
        print(f"test email sent to {args.to} through {config.file.smtp.host}:{config.file.smtp.port}")
        return EXIT_OK
    from camwatch.alerts.outbox import route, send_due

    engine = open_db(config)
    with engine.begin() as conn:
        written = route(conn, config, dt.datetime.now(dt.UTC))
    sent, failed = send_due(engine, config, transport.send, config.district.node_id or "cli",
                            lambda: dt.datetime.now(dt.UTC))
    print(f"{written} email(s) queued, {sent} sent, {failed} failed")
    return EXIT_OK if not failed else EXIT_UNHEALTHY


def _retry(config: cfgmod.Config, delivery: int | None, every_failed: bool) -> int:
    from camwatch.alerts.outbox import requeue

    if (delivery is None) == (not every_failed):
        raise UsageError("alerts retry needs a delivery ID (see `camwatch alerts outbox`) or --failed")
    engine = open_db(config)
    with engine.begin() as conn:
        ids = requeue(conn, None if delivery is None else [delivery])
    if delivery is not None and not ids:
        raise UsageError(f"delivery {delivery} has not failed (or does not exist): see `camwatch alerts outbox`")
    print(f"{len(ids)} failed delivery(ies) pending again{': ' + ', '.join(map(str, ids)) if ids else ''}; "
          "the service sends them within seconds (or: camwatch alerts flush)")
    return EXIT_OK


def _outbox(config: cfgmod.Config, limit: int) -> int:
    engine = open_db(config)
    tz, now = config.district.tz, dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        counts = repo.outbox_counts(conn)
        rows = repo.notification_rows(conn, limit)
    print(f"pending {counts['pending']}, sent {counts['sent']}, failed {counts['failed']}")
    for r in rows:
        refused = f", refused {r.refusals}" if r.refusals else ""
        if r.not_before is not None and r.not_before > now:
            refused += f", next try {r.not_before.astimezone(tz):%H:%M:%S}"
        state = ("sent " + r.sent_at.astimezone(tz).strftime("%d/%m %H:%M")) if r.sent_at else \
            ("FAILED" if r.failed_permanently else f"pending (attempts {r.attempts}{refused})")
        err = f" — {r.last_error}" if r.last_error and not r.sent_at else ""
        print(f"{r.id:>6} {r.created_at.astimezone(tz):%d/%m %H:%M} {r.kind or '':<15} {r.camera_id or '-':<8} "
              f"{r.recipient:<32} {state}{err}")
    if counts["failed"]:
        print("send failed ones again: camwatch alerts retry ID, or camwatch alerts retry --failed")
    print(zone_note(tz, now))
    return EXIT_OK
