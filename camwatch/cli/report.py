"""`camwatch report`: the availability report per commune and camera."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
from pathlib import Path

from camwatch import config as cfgmod
from camwatch.cli.args import EXIT_OK, UsageError
from camwatch.cli.query import open_db


def cmd_report(args: argparse.Namespace) -> int:
    from camwatch import report

    config = cfgmod.load(args.config, secrets=False)
    if args.date_to < args.date_from:
        raise UsageError("--to is before --from")
    output = Path(args.output)
    if args.output.endswith(("/", os.sep)) and not output.is_dir():  # `-o reports/`: meant as a folder
        raise UsageError(f"the folder {output} does not exist")
    into_folder = output.is_dir()  # a folder: the file is named after the report's title and period
    fmt = args.format or ("" if into_folder else output.suffix.lstrip(".").lower())
    if fmt not in ("xlsx", "csv", "html", "pdf"):
        raise UsageError("give --format xlsx|csv|html|pdf (or an output file with that extension)")
    if args.commune and args.commune not in config.commune_ids:
        raise UsageError(f"unknown commune {args.commune!r}")
    folder = output.resolve() if into_folder else output.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"the folder {folder} does not exist")
    now = dt.datetime.now(dt.UTC)
    start, end = report.period(args.date_from, args.date_to, config.district.tz)
    if start >= now:
        raise UsageError("the period has not begun yet")
    engine = open_db(config)
    lang = args.lang or config.district.language
    with engine.connect() as conn:
        r = report.build(conn, config, start, end, now, args.commune)
    out = output / report.file_name(r, fmt, lang) if into_folder else output
    try:
        report.write(r, fmt, lang, out)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        raise UsageError(f"cannot write the report: {err}") from None
    except OSError as err:
        raise UsageError(f"cannot write {out}: {err.strerror}") from None
    until = f" (to {r.until.astimezone(config.district.tz):%H:%M} today)" if r.ongoing else ""
    print(f"{out}: {len(r.communes)} communes, {len(r.cameras)} cameras, availability "
          f"{report.pct(r.availability, lang)}{until}")
    return EXIT_OK
