"""Availability for the pages: each camera's breakdown per local day, kept in memory.

A 30-day figure for 1,000 cameras checked every minute is 43 million checks: far too many to read for a page.
So a day that is over is computed once and kept (it no longer changes once its incidents had time to open: an
incident starts at its first failing check, confirmed a few checks later, hence `FINAL_AFTER`), and only today
(and yesterday, until final) is recomputed, in the background, every `availability_refresh_s`. Pages read the
kept figures and never wait for the database's history; 7 d and 30 d are sums of days (seconds add up).
Definitions are the README's ("Uptime, defined"), by the same interval arithmetic (`uptime.breakdown`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from camwatch.config import Config
from camwatch.store import web_queries
from camwatch.uptime import Breakdown

log = logging.getLogger(__name__)

DAYS = 30
FINAL_AFTER = dt.timedelta(hours=2)  # a day is final this long after it ends (incidents open late, from its checks)
BATCH = 250  # cameras per bulk read


@dataclass(frozen=True)
class Sums:
    up_s: float = 0.0
    down_s: float = 0.0
    degraded_s: float = 0.0
    maintenance_s: float = 0.0

    @property
    def availability(self) -> float | None:
        judged = self.up_s + self.down_s + self.degraded_s
        return self.up_s / judged if judged > 0 else None


class Availability:
    """Per camera and local day: `Breakdown`s; `refresh()` brings them up to `clock()`."""

    def __init__(self, config: Callable[[], Config], engine: Engine, clock: Callable[[], dt.datetime]) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock
        self._days: dict[str, dict[dt.date, Breakdown]] = {}
        self._final: dict[str, set[dt.date]] = {}
        self._totals: dict[tuple[str, dt.date, int], tuple[float, float, float, float]] = {}  # (camera, today, n)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self.refreshed_at: dt.datetime | None = None
        self.last_refresh_s: float | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------ reading
    def today(self) -> dt.date:
        return self.clock().astimezone(self.config().district.tz).date()

    def days(self, camera_id: str, n: int = DAYS) -> list[tuple[dt.date, Breakdown | None]]:
        """The camera's last `n` local days, oldest first (None: not computed yet)."""
        today = self.today()
        with self._lock:
            kept = self._days.get(camera_id, {})
            return [(d, kept.get(d)) for d in (today - dt.timedelta(days=k) for k in range(n - 1, -1, -1))]

    def sums(self, camera_ids: Iterable[str], n: int) -> Sums | None:
        """The breakdown of these cameras over their last `n` local days summed (None: none computed yet; a camera
        added since the last refresh counts from the next one). Each camera's sum is kept until the next refresh."""
        today = self.today()
        up = down = degraded = maint = 0.0
        seen = False
        with self._lock:
            for cid in camera_ids:
                t = self._totals.get((cid, today, n))
                if t is None:
                    kept = self._days.get(cid)
                    if kept is None or today not in kept:
                        continue
                    days = [kept[d] for d in (today - dt.timedelta(days=k) for k in range(n)) if d in kept]
                    t = self._totals[(cid, today, n)] = (sum(b.up_s for b in days), sum(b.down_s for b in days),
                                                         sum(b.degraded_s for b in days),
                                                         sum(b.maintenance_s for b in days))
                seen = True
                up, down, degraded, maint = up + t[0], down + t[1], degraded + t[2], maint + t[3]
        return Sums(up, down, degraded, maint) if seen else None

    def has(self, camera_id: str) -> bool:
        with self._lock:
            return self.today() in self._days.get(camera_id, {})

    # ------------------------------------------------------------ computing
    def refresh(self, camera_ids: Iterable[str] | None = None) -> None:
        """Compute what is missing or not final, up to now, for these cameras (default: every camera)."""
        with self._refresh_lock:
            t0 = time.perf_counter()
            config = self.config()
            tz, now = config.district.tz, self.clock()
            today = now.astimezone(tz).date()
            wanted = [today - dt.timedelta(days=k) for k in range(DAYS - 1, -1, -1)]
            ids = set(camera_ids) if camera_ids is not None else None
            todo: dict[dt.date, list[tuple[str, str]]] = {}
            for cam in config.cameras.values():
                if ids is not None and cam.id not in ids:
                    continue
                with self._lock:
                    final = self._final.get(cam.id, set())
                first = next((d for d in wanted if d not in final), None)
                if first is not None:
                    todo.setdefault(first, []).append((cam.id, cam.cfg.commune))
            for first, cams in sorted(todo.items()):
                for batch in web_queries.chunks(cams, BATCH):
                    self._compute(config, batch, [d for d in wanted if d >= first], now)
            with self._lock:
                self._totals.clear()
                keep = set(config.cameras)
                for store in (self._days, self._final):
                    for cid in [c for c in store if c not in keep]:
                        del store[cid]
            self.refreshed_at = now
            self.last_refresh_s = time.perf_counter() - t0

    def _compute(self, config: Config, cams: list[tuple[str, str]], days: list[dt.date], now: dt.datetime) -> None:
        tz = config.district.tz
        bounds = [(d, _start(d, tz), _start(d + dt.timedelta(days=1), tz)) for d in days]
        start, end = bounds[0][1], min(bounds[-1][2], now)
        planned = {cid: config.maintenance_windows(cid, commune, start, end) for cid, commune in cams}
        with self.engine.connect() as conn:
            hist = web_queries.histories(conn, cams, start, end, planned)
        for cid, _commune in cams:
            h = hist[cid]
            computed = {d: h.breakdown(a, min(b, now)) for d, a, b in bounds if a < now}
            final = {d for d, _a, b in bounds if b + FINAL_AFTER <= now}
            with self._lock:
                self._days.setdefault(cid, {}).update(computed)
                self._final.setdefault(cid, set()).update(final)
                cutoff = days[-1] - dt.timedelta(days=DAYS)
                for d in [d for d in self._days[cid] if d <= cutoff]:
                    del self._days[cid][d]
                    self._final[cid].discard(d)

    # ------------------------------------------------------------ in the background
    def start(self, every_s: float) -> threading.Thread:
        """Refresh now and then every `every_s` in a daemon thread (the daemon's)."""

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.refresh()
                except Exception:  # the database busy or gone: the pages keep the last figures
                    log.exception("availability for the web pages not refreshed")
                self._stop.wait(every_s)

        t = threading.Thread(target=loop, name="web-availability", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()


def _start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tz).astimezone(dt.UTC)
