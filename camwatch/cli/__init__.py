"""The `camwatch` command. The parser lives here and imports nothing heavy; each command's module
(`check`, `service`, `query`, `alerts`, `report`, `demo`) is imported only when that command runs,
so `camwatch --help` loads neither PyAV, OpenCV, SQLAlchemy nor the simulator."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from camwatch import __version__
from camwatch.cli.args import EXIT_USAGE, UsageError, parse_date, parse_duration, parse_since

DEFAULT_CONFIG = Path("config/cameras.toml")


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    if not getattr(args, "func", None):
        ap.print_help()
        return EXIT_USAGE
    module, func = args.func.split(":")
    from camwatch.config import ConfigError

    try:
        return int(getattr(importlib.import_module(f"camwatch.cli.{module}"), func)(args))
    except ConfigError as err:
        print(f"camwatch: invalid config {err}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as err:
        print(f"camwatch: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `camwatch status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except Exception as err:  # the database failing mid-command is one line too; anything else is a bug
        from camwatch.store.errors import unavailable

        line = unavailable(err)
        if line is None:
            raise
        print(f"camwatch: the database cannot be used: {line}", file=sys.stderr)
        return EXIT_USAGE


def setup_logging(verbose: bool) -> None:
    """One line per event. Under systemd journald stamps each line itself: no timestamp of ours then."""
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format=f"{stamp}%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not verbose:  # third-party libraries speak only when something is wrong
        for name in ("apscheduler", "alembic", "mail.log", "aiosmtpd", "httpx", "zeep", "onvif", "matplotlib"):
            logging.getLogger(name).setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="camwatch", description="Health monitoring for IP security cameras.")
    ap.add_argument("-v", "--verbose", action="store_true", help="also every check and the libraries' own logs")
    ap.add_argument("--version", action="version", version=f"camwatch {__version__}")
    sub = ap.add_subparsers(metavar="COMMAND")

    def cmd(name: str, func: str, help: str, epilog: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", "-c", type=Path, default=Path(os.environ.get("CAMWATCH_CONFIG", DEFAULT_CONFIG)),
                       help="the camera list (default: $CAMWATCH_CONFIG or config/cameras.toml)")
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    cmd("check-config", "check:cmd_check_config", "validate the config and print every error with its line")
    p = cmd("check", "check:cmd_check", "check cameras now and say what is wrong",
            "exit status: 0 every camera ok, 1 some camera unhealthy, 2 usage or config error")
    p.add_argument("cameras", nargs="*", metavar="CAMERA_ID")
    p.add_argument("--all", action="store_true", help="every camera in the config")
    p.add_argument("--commune", help="every camera of one commune")
    p.add_argument("--url", help="check an RTSP address that is not in the config")
    p.add_argument("--onvif", metavar="USER:PASS@HOST[:PORT]", help="check an ONVIF device that is not in the config")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--rebaseline", action="store_true", help="forget what the camera looked like and learn it again")
    p.add_argument("--deadline", type=float, help="overall deadline per check, seconds (a long GOP's budget included)")
    p.add_argument("--jobs", type=int, default=16, help="checks run at once (default 16)")
    p.add_argument("--snapshot", type=Path, metavar="FILE", help="--url/--onvif: save the picture to FILE")

    p = cmd("db", "service:cmd_db", "database: upgrade (create or migrate), current (show the revision)")
    p.add_argument("action", choices=["upgrade", "current"])
    p = cmd("run", "service:cmd_run", "run the monitoring service (SIGHUP re-reads the config)",
            "exit status: 0 stopped by SIGTERM, 2 config error, the database unusable (one line says why), or another\n"
            "`camwatch run` already writes this SQLite database (the line names it: pid, node, since)")
    p.add_argument("--node-id", default=os.environ.get("CAMWATCH_NODE_ID"),
                   help="this node's name when several share one PostgreSQL database (default: the host name)")
    p = cmd("status", "query:cmd_status", "current state of every camera",
            "exit status: 0 fresh data, 2 no database or unknown commune, 3 the data is stale (the newest check is\n"
            "older than three check intervals: is `camwatch run` running?)")
    p.add_argument("--commune")
    p.add_argument("--nodes", action="store_true", help="the camwatch nodes, their leases and last heartbeat")
    p.add_argument("--json", action="store_true")
    p = cmd("incidents", "incidents:cmd_incidents", "list incidents; acknowledge one; mute a camera's alerts",
            "  camwatch incidents --open\n"
            "  camwatch incidents ack 12 --by 'Phạm Quốc Việt' --note 'đã báo điện lực'   # reminders stop\n"
            "  camwatch incidents mute YD-03 --for 3d --by Việt --note 'chờ thay camera'   # no alerts until then\n"
            "  camwatch incidents unmute YD-03\n"
            "an acknowledged incident is still escalated to the district team after escalate_after_h")
    p.add_argument("action", nargs="?", choices=["list", "ack", "mute", "unmute"], default="list")
    p.add_argument("target", nargs="?", metavar="ID|CAMERA", help="ack: the incident id; mute/unmute: the camera")
    p.add_argument("--by", help="ack/mute: who (a name, shown in emails and `status`)")
    p.add_argument("--note", default="", help="ack/mute: why, what is being done")
    p.add_argument("--for", dest="duration", type=parse_duration, help="mute: how long, e.g. 3d, 12h")
    p.add_argument("--open", action="store_true", help="only open incidents")
    p.add_argument("--since", type=parse_since, help="e.g. 2026-11-01, 01/11/2026, or 7d, 24h")
    p.add_argument("--camera")
    p.add_argument("--json", action="store_true")
    p = cmd("maintenance", "query:cmd_maintenance", "maintenance windows: no incident opens, time reported apart")
    p.add_argument("action", choices=["start", "end", "list"])
    p.add_argument("target", nargs="?", help="a camera id, or commune:ID")
    p.add_argument("--for", dest="duration", type=parse_duration, default=parse_duration("2h"), help="e.g. 2h, 30m")
    p.add_argument("--reason", default="")

    p = cmd("alerts", "alerts:cmd_alerts", "email alerts: test (send a test email), outbox (what is pending, sent, "
            "failing), flush (route and send what is due now), retry (send failed ones again)",
            "  camwatch alerts outbox\n"
            "  camwatch alerts retry 42          # the failed email (or webhook post) 42 is pending again\n"
            "  camwatch alerts retry --failed    # every failed one\n"
            "a failed one is an address the mail server refused, or one refused max_attempts times; a server that is\n"
            "down never fails an email: it waits")
    p.add_argument("action", choices=["test", "outbox", "flush", "retry"])
    p.add_argument("id", nargs="?", type=int, metavar="ID", help="retry: the delivery's id (see `alerts outbox`)")
    p.add_argument("--failed", action="store_true", help="retry: every failed email and webhook post")
    p.add_argument("--to", help="address for `alerts test`")
    p.add_argument("--lang", choices=["vi", "en"], default=None)
    p.add_argument("--limit", type=int, default=30)

    p = cmd("discover", "check:cmd_discover", "find ONVIF cameras (WS-Discovery) and print a TOML block for each")
    p.add_argument("--address", help="probe one address instead of multicasting on the local network")
    p.add_argument("--interface", help="this server's address on the cameras' network (for the multicast probe)")
    p.add_argument("--port", type=int, default=3702)
    p.add_argument("--timeout", type=float, default=3.0)

    p = cmd("report", "report:cmd_report", "availability report per commune and camera (xlsx, csv, html, pdf)")
    p.add_argument("--from", dest="date_from", required=True, type=parse_date, help="first day: 2026-11-01 or 01/11/2026")
    p.add_argument("--to", dest="date_to", required=True, type=parse_date, help="last day (included), same formats")
    p.add_argument("--commune")
    p.add_argument("--format", choices=["xlsx", "csv", "html", "pdf"], help="default: from the file name")
    p.add_argument("--lang", choices=["vi", "en"])
    p.add_argument("-o", "--output", required=True,
                   help="the file (its extension gives the format), or a folder: named after the report")

    p = cmd("sim", "demo:cmd_sim", "serve a simulated camera fleet over RTSP (needs the `sim` extra)")
    p.add_argument("--cameras", type=int, default=20, help="number of cameras (mounts cam001…)")
    p.add_argument("--faults", default="10%", help="share of faulty cameras, e.g. 10%%")
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--dir", type=Path, default=Path("sim-state"), help="where the control file is written")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default=None, help="default: $CAMWATCH_SIM_PASSWORD or a built-in one")
    p = cmd("demo", "demo:cmd_demo", "run camwatch against a simulated district on this machine (needs the `sim` extra)")
    p.add_argument("--minutes", type=float, default=0, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--dir", type=Path, default=Path("demo-state"))
    return ap


__all__ = ["EXIT_USAGE", "UsageError", "build_parser", "main"]
