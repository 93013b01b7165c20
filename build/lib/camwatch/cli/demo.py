"""`camwatch sim` and `camwatch demo`: the simulator, which needs the `sim` extra (scikit-image, aiosmtpd)
and GStreamer's RTSP server from Debian. Imported only when one of these commands runs."""

from __future__ import annotations

import argparse

from camwatch.cli.args import UsageError


def _sim() -> object:
    try:
        from camwatch.sim import cli as simcli
    except ModuleNotFoundError as err:
        raise UsageError(f"the simulator needs the `sim` extra ({err.name} is missing): "
                         "pip install 'camwatch[sim]'") from None
    return simcli


def cmd_sim(args: argparse.Namespace) -> int:
    return int(_sim().cmd_sim(args))  # type: ignore[attr-defined]


def cmd_demo(args: argparse.Namespace) -> int:
    return int(_sim().cmd_demo(args))  # type: ignore[attr-defined]
