"""The report's charts as inline SVG (matplotlib), made to be read at a glance on paper.

Bars carry their values (a commune at 0 % still has a visible, labelled bar); the daily line uses the
period's own days as its axis (a one-day period is one labelled point, not a dot on a multi-year axis);
incident kinds are horizontal bars, so their names never overlap. Text stays text in the SVG (it is
searchable in the PDF and drawn in the page's DejaVu Sans).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from camwatch.report.figures import Report
from camwatch.report.tables import L
from camwatch.words import date, pct, verdict_name

GOOD, FAIR, POOR, LINE, GRID = "#2e7d32", "#ef8f00", "#c62828", "#1565c0", "#dddddd"
WIDTH_IN = 6.3  # the portrait page's text width (165 mm)


def colour(availability: float | None) -> str:
    if availability is None:
        return GRID
    return GOOD if availability >= 0.95 else FAIR if availability >= 0.8 else POOR


@contextmanager
def _figure(height: float) -> Iterator[tuple[Any, Any, list[str]]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out: list[str] = []
    with matplotlib.rc_context({"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8,
                                "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "camwatch"}):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, height))
        try:
            yield fig, ax, out
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
            text = buf.getvalue()
            out.append(text[text.index("<svg"):])
        finally:
            plt.close(fig)


def availability_by_commune(r: Report, lang: str) -> str:
    names = [co.name for co in r.communes][::-1]
    vals = [co.availability for co in r.communes][::-1]
    with _figure(0.28 * len(names) + 0.8) as (_fig, ax, out):
        # a bar at least 0.6 % wide: a commune at 0 % is still seen, and labelled
        bars = ax.barh(names, [max(100 * (v or 0), 0.6) for v in vals], color=[colour(v) for v in vals], height=0.6)
        for bar, v in zip(bars, vals, strict=True):
            ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, pct(v, lang), va="center", fontsize=8)
        ax.set_xlim(0, 112)
        ax.set_xticks(range(0, 101, 20), [f"{x} %" if lang == "vi" else f"{x}%" for x in range(0, 101, 20)])
        ax.set_title(L[lang]["availability"], loc="left", fontsize=9, fontweight="bold")
        ax.grid(axis="x", color=GRID, linewidth=0.5)
        ax.set_axisbelow(True)
    return out[0]


def daily_line(r: Report, lang: str) -> str:
    """One point per day of the period, on the period's own days; days not judged (or not yet come) are gaps."""
    days = [d for d, _ in r.daily]
    ys = [None if v is None else 100 * v for _, v in r.daily]
    every = max(1, len(days) // 10)
    with _figure(2.2) as (_fig, ax, out):
        xs = list(range(len(days)))
        ax.plot(xs, [float("nan") if y is None else y for y in ys], color=LINE, marker="o", markersize=3, linewidth=1.2)
        if len(days) <= 16:
            for x, y in zip(xs, ys, strict=True):
                if y is not None:
                    ax.annotate(pct(y / 100, lang), (x, y), textcoords="offset points", xytext=(0, 5), ha="center",
                                fontsize=7)
        ax.set_xlim(-0.5, len(days) - 0.5)
        ax.set_xticks(xs[::every], [date(d, r.tz)[:5] for d in days[::every]])
        ax.set_ylim(0, 110)
        ax.set_yticks(range(0, 101, 25), [f"{y} %" if lang == "vi" else f"{y}%" for y in range(0, 101, 25)])
        ax.set_title(L[lang]["daily"], loc="left", fontsize=9, fontweight="bold")
        ax.grid(axis="y", color=GRID, linewidth=0.5)
        ax.set_axisbelow(True)
    return out[0]


def incidents_by_kind(r: Report, lang: str) -> str | None:
    kinds = r.figures.by_kind
    if not kinds:
        return None
    names = [verdict_name(k, lang) for k in kinds][::-1]
    counts = list(kinds.values())[::-1]
    with _figure(0.28 * len(names) + 0.8) as (_fig, ax, out):
        bars = ax.barh(names, counts, color=POOR, height=0.6)
        for bar, n in zip(bars, counts, strict=True):
            ax.text(bar.get_width() + max(counts) * 0.01, bar.get_y() + bar.get_height() / 2, str(n), va="center")
        ax.set_xlim(0, max(counts) * 1.12)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(L[lang]["by_kind"], loc="left", fontsize=9, fontweight="bold")
    return out[0]


def svg_charts(r: Report, lang: str) -> list[str]:
    out = [availability_by_commune(r, lang)] if r.communes else []
    out.append(daily_line(r, lang))
    kinds = incidents_by_kind(r, lang)
    return [*out, *([kinds] if kinds else [])]
