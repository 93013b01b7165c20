"""`camwatch report`: the availability report per commune and camera."""

from __future__ import annotations

import argparse
import subprocess

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, UsageError
from camwatch.cli.query import open_db


def cmd_report(args: argparse.Namespace) -> int:
    from camwatch import report

    config = cfgmod.load(args.config, secrets=False)
    if args.date_to < args.date_from:
        raise UsageError("--to is before --from")
    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt not in ("xlsx", "csv", "html", "pdf"):
        raise UsageError("give --format xlsx|csv|html|pdf (or an output file with that extension)")
    if args.commune and args.commune not in config.commune_ids:
        raise UsageError(f"unknown commune {args.commune!r}")
    folder = args.output.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"the folder {folder} does not exist")
    engine = open_db(config)
    lang = args.lang or config.district.language
    start, end = report.period(args.date_from, args.date_to, config.district.tz)
    with engine.connect() as conn:
        r = report.build(conn, config, start, end, args.commune)
    try:
        report.write(r, fmt, lang, args.output)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        raise UsageError(f"cannot write the report: {err}") from None
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror}") from None
    print(f"{args.output}: {len(r.communes)} communes, {len(r.cameras)} cameras, availability "
          f"{report.pct(r.availability, lang)}")
    return EXIT_OK
