"""What the commands share: exit codes, the usage error, and parsing of durations and dates."""

from __future__ import annotations

import argparse
import datetime as dt
import re

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_STALE = 0, 1, 2, 3


class UsageError(Exception):
    """A mistake of the user's: one line on stderr, exit status 2."""


def parse_duration(text: str) -> dt.timedelta:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 2h, 1d)")
    return dt.timedelta(seconds=float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def parse_date(text: str) -> dt.date:
    """A day as YYYY-MM-DD or DD/MM/YYYY (as the report and the district write it)."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a date: {text!r} (e.g. 2026-11-29 or 29/11/2026)")


def parse_since(text: str) -> dt.datetime:
    """A duration back from now (7d, 24h), a day, or an ISO date-time (UTC unless it says otherwise)."""
    try:
        return dt.datetime.now(dt.UTC) - parse_duration(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        day = parse_date(text)
        return dt.datetime.combine(day, dt.time(0), dt.UTC)
    except argparse.ArgumentTypeError:
        pass
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or duration: {text!r}") from None
    return d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d
