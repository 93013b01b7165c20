"""Detection benchmark: per verdict, precision and recall on a labelled corpus; false alarms per camera-day.

    PYTHONPATH=. .venv/bin/python bench/detection.py [--jobs 2] [--quick] [--encoders 6] [--no-lib]
                                                     [--keyframes-when-recent 1]

Every case (see `camwatch.sim.corpus`) is encoded once (cached in ~/.cache/camwatch/corpus), decoded with
PyAV into the `Observation`s the RTSP probe produces, and judged check after check through the daemon's own
`pipeline.judge_check` (the stored baseline, with the last picture, carried from check to check) and the
state machine (`health.step`, default hysteresis: 3 checks to open). The library `camera-health` judges the
same keyframes side by side (`check(frame, reference=, previous=)`, its critical and warning faults mapped
to our verdicts) through the same state machine.

An event counts as detected when an incident of its kind opens during the fault's checks; precision counts
every incident opened; false alarms are incidents opened on the healthy streams (a simulated day each,
a check every 10 minutes, with the IR switch at dusk and dawn on the day streams).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from camwatch.analysis import Baseline
from camwatch.config.settings import CheckSettings, HealthSettings, Thresholds
from camwatch.health import Event, State, step
from camwatch.model import PRECEDENCE, Verdict
from camwatch.pipeline import enough_for, judge_check
from camwatch.sim.corpus import FAULTS, PHOTOS, Case, as_read, observations
from camwatch.sim.corpus_encode import ensure

CACHE = Path(os.environ.get("CAMWATCH_CORPUS", Path.home() / ".cache" / "camwatch" / "corpus"))
T0 = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
# encoder set-ups the fault cases go through, in turn: rate control, temporal denoise, GOP (s), size
ENCODERS = (("crf", False, 2.0, "360p"), ("cbr", False, 4.0, "360p"), ("vbr", True, 1.0, "360p"),
            ("cbr", True, 8.0, "360p"), ("crf", True, 12.0, "360p"), ("cbr", False, 2.0, "1080p"))
# and through x265 (H.265, as many cameras send it; its own rate control): each fault on three photos
X265 = (("crf", False, 2.0, "360p"), ("cbr", True, 4.0, "360p"), ("vbr", False, 8.0, "360p"))
LIB_MAP = {"obstruction": Verdict.COVERED, "defocus": Verdict.BLURRED, "darkness": Verdict.BLACK,
           "frozen": Verdict.FROZEN, "tampering": Verdict.MOVED, "drift": Verdict.MOVED}


def cases(quick: bool = False, encoders: int = len(ENCODERS)) -> list[Case]:
    """The healthy streams and the fault cases: each fault on every photo through `encoders` of the encoder
    set-ups (all six by default: 36 events a fault, enough to tell a recall of 0.95 from 1.0; 1 was the corpus
    before 2026-12-07), with the occluder, blur, move or lamp varying too."""
    out: list[Case] = []
    photos = PHOTOS[:3] if quick else PHOTOS
    for i, photo in enumerate(photos):  # healthy streams: a simulated day, a check every 10 minutes
        rc, dn, gop, _ = ENCODERS[i % len(ENCODERS)]
        out.append(Case(photo, "day", rc=rc, denoise=dn, gop_s=gop, checks=144, every_min=10, start_h=0))
        if i % 2 == 0:
            out.append(Case(photo, "night", rc=rc, denoise=not dn, gop_s=gop, checks=144, every_min=10, start_h=0))
            out.append(Case(photo, "static", rc=ENCODERS[(i + 1) % 6][0], denoise=dn, gop_s=gop, checks=144,
                            every_min=10, start_h=0))
    if not quick:  # and one at 1080p: the picture judged at 320 px holds a third of its noise
        out.append(Case(photos[1], "day", rc="cbr", gop_s=2.0, size="1080p", checks=144, every_min=10, start_h=0))
        out.append(Case(photos[2], "day", rc="cbr", denoise=True, gop_s=4.0, checks=144, every_min=10, start_h=0,
                        codec="hevc"))
        out.append(Case(photos[0], "static", rc="crf", gop_s=2.0, checks=144, every_min=10, start_h=0, codec="hevc"))
    for f_i, fault in enumerate(FAULTS):
        for p_i, photo in enumerate(photos):
            for e_i in range(encoders):
                rc, dn, gop, size = ENCODERS[(f_i + p_i + e_i) % len(ENCODERS)]
                out.append(Case(photo, fault, rc=rc, denoise=dn, gop_s=gop, size=size, variant=p_i + e_i))
        for p_i, photo in enumerate(photos[:3] if not quick else ()):
            for e_i, (rc, dn, gop, size) in enumerate(X265):
                out.append(Case(photo, fault, rc=rc, denoise=dn, gop_s=gop, size=size, variant=p_i + e_i + 1,
                                codec="hevc"))
        if fault in ("frozen", "covered_partial", "blurred", "moved", "covered"):  # at night (IR) too
            for p_i, photo in enumerate(photos[:2]):
                rc, dn, gop, size = ENCODERS[(f_i + p_i + 3) % len(ENCODERS)]
                out.append(Case(photo, fault, rc=rc, denoise=dn, gop_s=gop, size="360p", variant=p_i + 1,
                                night=True, start_h=22))
    return out


@dataclass
class Run:
    case: Case
    ours: list[Verdict] = field(default_factory=list)  # per check
    lib: list[Verdict] = field(default_factory=list)
    opened: list[tuple[int, Verdict]] = field(default_factory=list)  # (check, kind) incidents opened
    lib_opened: list[tuple[int, Verdict]] = field(default_factory=list)
    cpu_s: float = 0.0
    keyframes: int = 0  # decoded, in all
    reasons: list[str] = field(default_factory=list)


def _lib_verdict(health: object) -> Verdict:
    kinds = [LIB_MAP[f.kind] for f in health.faults  # type: ignore[attr-defined]
             if f.severity in ("critical", "warning") and f.kind in LIB_MAP]
    return min(kinds, key=PRECEDENCE.index) if kinds else Verdict.OK


def run_case(case: Case, lib: bool = True, when_recent: int = 1) -> Run:
    """`when_recent`: keyframes after which a check may stop once freezing is judged across checks
    (`keyframes_when_recent`; the daemon's default 1 stops at the first when it shows a live picture beyond
    doubt, 2 reads two every time the GOP allows)."""
    import camera_health

    path = ensure(case, CACHE)
    th, policy = Thresholds(), HealthSettings()
    settings = CheckSettings(interval_s=case.every_min * 60, keyframes=case.keyframes, keyframes_when_recent=when_recent)
    run = Run(case)
    baseline: Baseline | None = None
    state, lstate = State(), State()
    reference = previous = None
    for k, obs in observations(case, path):
        at = T0 + dt.timedelta(minutes=k * case.every_min)
        obs = as_read(obs, enough_for(settings, baseline, at, th))
        run.keyframes += len(obs.keyframes)
        t = time.process_time()
        result, _, stored = judge_check(case.name, at, obs, baseline, th)
        run.cpu_s += time.process_time() - t
        baseline = stored or baseline
        run.ours.append(result.verdict)
        run.reasons.append(result.reason)
        state, tr = step(state, result.verdict, at, policy)
        run.opened += [(k, x.incident.kind) for x in tr if x.event is Event.OPENED and x.incident]
        if lib:
            frame = obs.keyframes[-1][..., ::-1]  # RGB
            h = camera_health.check(frame, reference=reference, previous=previous)
            v = _lib_verdict(h)
            run.lib.append(v)
            if reference is None and v is Verdict.OK:
                reference = frame
            previous = frame
            lstate, tr = step(lstate, v, at, policy)
            run.lib_opened += [(k, x.incident.kind) for x in tr if x.event is Event.OPENED and x.incident]
    return run


def _detected(run: Run, opened: list[tuple[int, Verdict]]) -> bool:
    return any(k >= run.case.learn and v is run.case.label for k, v in opened)


def table(runs: list[Run], lib: bool) -> str:
    lines = ["| verdict | events | camwatch recall | camwatch precision | camera-health recall | camera-health precision |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    labels = sorted({r.case.label for r in runs if r.case.label is not Verdict.OK}, key=PRECEDENCE.index)
    for v in labels:
        evs = [r for r in runs if r.case.label is v]
        cells = []
        for which in ("opened", "lib_opened") if lib else ("opened",):
            hit = sum(_detected(r, getattr(r, which)) for r in evs)
            opened = [(r, k) for r in runs for k, kind in getattr(r, which) if kind is v
                      or (which == "lib_opened" and v is Verdict.DARK and kind is Verdict.BLACK)]
            good = sum(1 for r, k in opened if r.case.label is v and k >= r.case.learn)
            lib_dark = which == "lib_opened" and v is Verdict.BLACK
            if lib_dark:  # the library has one "darkness": it counts for black and for dark
                good += sum(1 for r, k in opened if r.case.label is Verdict.DARK and k >= r.case.learn)
            cells += [f"{hit / len(evs):.2f} ({hit}/{len(evs)})",
                      f"{good / len(opened):.2f} ({good}/{len(opened)})" if opened else "–"]
        if v is Verdict.DARK and lib:
            hit = sum(any(k >= r.case.learn and kind is Verdict.BLACK for k, kind in r.lib_opened) for r in evs)
            cells[2] = f"{hit / len(evs):.2f} ({hit}/{len(evs)}) as darkness"
        lines.append(f"| {v} | {len(evs)} | " + " | ".join(cells) + (" | – | –" if not lib else "") + " |")
    healthy = [r for r in runs if r.case.label is Verdict.OK]
    days = max(1e-9, sum(r.case.checks * r.case.every_min for r in healthy) / 1440)
    for which, name in (("opened", "camwatch"), ("lib_opened", "camera-health")) if lib else (("opened", "camwatch"),):
        fa = Counter(kind for r in healthy for _, kind in getattr(r, which))
        checks = sum(len(r.ours) for r in healthy)
        bad = sum(v is not Verdict.OK for r in healthy for v in (r.ours if which == "opened" else r.lib))
        lines.append(f"\n{name}: {sum(fa.values())} false alarms (incidents) in {days:.1f} camera-days of healthy "
                     f"streams = {sum(fa.values()) / days:.2f} per camera-day {dict(fa) or ''}; "
                     f"{bad} of {checks} healthy checks with a finding")
    return "\n".join(lines)


def by_codec(runs: list[Run]) -> str:
    """camwatch's events detected and false alarms, per codec (x264, x265)."""
    out = []
    for codec in sorted({r.case.codec for r in runs}):
        mine = [r for r in runs if r.case.codec == codec]
        evs = [r for r in mine if r.case.label is not Verdict.OK]
        hit = sum(_detected(r, r.opened) for r in evs)
        frozen = [r for r in evs if r.case.label is Verdict.FROZEN]
        healthy = [r for r in mine if r.case.label is Verdict.OK]
        out.append(f"{codec}: {hit}/{len(evs)} events detected (frozen {sum(_detected(r, r.opened) for r in frozen)}/"
                   f"{len(frozen)}), {sum(len(r.opened) for r in healthy)} false alarms in "
                   f"{sum(r.case.checks * r.case.every_min for r in healthy) / 1440:.0f} camera-days")
    return "; ".join(out)


def misses(runs: list[Run]) -> Iterable[str]:
    for r in runs:
        if r.case.label is Verdict.OK:
            for k, kind in r.opened:
                yield f"false alarm: {r.case.name} check {k}: {kind} ({r.reasons[k]})"
        elif not _detected(r, r.opened):
            got = Counter(str(v) for v in r.ours[r.case.learn:])
            yield f"missed: {r.case.name}: {dict(got)}; last: {r.reasons[-1]}"
        for k, kind in r.opened:
            if r.case.label is not Verdict.OK and kind is not r.case.label:
                yield f"wrong incident: {r.case.name} check {k}: {kind} ({r.reasons[k]})"


def _two_keyframe_share(runs: list[Run]) -> str:
    """Of the checks of streams with a short GOP (two keyframes possible) and healthy, how many read two."""
    two = [r for r in runs if r.case.keyframes >= 2 and r.case.label is Verdict.OK]
    checks = sum(len(r.ours) for r in two)
    extra = sum(r.keyframes for r in two) - checks
    return f"{extra / max(1, checks):.1%} of the healthy checks read a second keyframe"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="three photos instead of six")
    ap.add_argument("--encoders", type=int, default=len(ENCODERS),
                    help=f"encoder set-ups each fault goes through on each photo (1-{len(ENCODERS)}; default all)")
    ap.add_argument("--no-lib", action="store_true", help="leave camera-health out")
    ap.add_argument("--keyframes-when-recent", type=int, default=1,
                    help="keyframes after which a check may stop once freezing is judged across checks (default 1)")
    ap.add_argument("--only", default="", help="conditions to run, comma-separated")
    args = ap.parse_args(argv)
    todo = cases(args.quick, args.encoders)
    if args.only:
        todo = [c for c in todo if c.condition in args.only.split(",")]
    t0 = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as ex:
        runs = list(ex.map(run_case, todo, [not args.no_lib] * len(todo), [args.keyframes_when_recent] * len(todo)))
    checks = sum(len(r.ours) for r in runs)
    cpu = sum(r.cpu_s for r in runs)
    by_size: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        by_size[r.case.size].append(r.cpu_s / max(1, len(r.ours)))
    print(f"{len(runs)} cases, {checks} checks, {time.monotonic() - t0:.0f} s wall; camwatch's analysis "
          f"{1000 * cpu / checks:.1f} ms CPU per check ("
          + ", ".join(f"{k}: {1000 * float(np.mean(v)):.1f} ms" for k, v in sorted(by_size.items())) + "); "
          f"{sum(r.keyframes for r in runs) / checks:.2f} keyframes decoded per check (two-keyframe cases: "
          + _two_keyframe_share(runs) + ")\n")
    print(table(runs, not args.no_lib))
    print(by_codec(runs))
    print()
    for line in misses(runs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
