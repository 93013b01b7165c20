"""`camwatch check-config`, `camwatch check` and `camwatch discover`: the configuration and checks on demand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

from camwatch import config as cfgmod
from camwatch.analysis import Baseline
from camwatch.cli.args import EXIT_OK, EXIT_UNHEALTHY, UsageError
from camwatch.config import CheckSettings, ResolvedCamera, Thresholds, adhoc_camera
from camwatch.devices import DeviceFacts
from camwatch.model import CheckResult
from camwatch.pipeline import run_check, utcnow
from camwatch.profile import StreamProfile
from camwatch.snapshots import jpeg_of, save_check, write_atomic
from camwatch.urls import MAX_URL_LENGTH, check_url, mask_url, split_credentials, with_credentials


def cmd_check_config(args: argparse.Namespace) -> int:
    config = cfgmod.load(args.config)
    n_retired = sum(1 for c in config.file.cameras if c.retired)
    print(f"{args.config}: ok — {len(config.file.communes)} communes, {len(config.cameras)} cameras"
          + (f" (+{n_retired} retired)" if n_retired else "") + f", {len(config.file.technicians)} technicians")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    if args.url or args.onvif:
        if (args.url and args.onvif) or args.cameras or args.all or args.commune:
            raise UsageError("give one of --url, --onvif, or camera ids/--all/--commune")
        return _check_adhoc(args)
    if args.snapshot:
        raise UsageError("--snapshot is for --url/--onvif (configured cameras keep theirs in the state directory)")
    from camwatch.store import repo

    config = cfgmod.load(args.config)
    if args.all:
        ids = list(config.cameras)
    elif args.commune:
        if args.commune not in config.commune_ids:
            raise UsageError(f"unknown commune {args.commune!r}")
        ids = [c.id for c in config.cameras.values() if c.cfg.commune == args.commune]
        if not ids:
            raise UsageError(f"no active camera in commune {args.commune!r}")
    else:
        ids = args.cameras
    if not ids:
        raise UsageError("name a camera (camwatch check YD-01), or use --all, --commune or --url")
    unknown = [i for i in ids if i not in config.cameras]
    if unknown:
        raise UsageError(f"unknown camera(s): {', '.join(unknown)}")
    repo.upgrade(config.database_url)
    engine = repo.make_engine(config.database_url)
    now = utcnow()
    with engine.begin() as conn:
        for cid in ids:
            cam = config.cameras[cid]
            repo.ensure_camera(conn, cid, cam.cfg.commune, cam.cfg.name, now)
            if args.rebaseline:
                repo.save_baseline(conn, cid, None, now)
    devices = DeviceFacts()  # polled fresh: a check on demand shows the device as it is now

    def one(cid: str) -> CheckResult:
        cam = config.cameras[cid]
        with engine.connect() as conn:
            _, stored = repo.load_camera(conn, cid)
            profile = StreamProfile.from_json(repo.load_profile(conn, cid))
        settings = cam.check.model_copy(update=_deadline(args.deadline)) if args.deadline else None
        outcome = run_check(cam, Baseline.from_bytes(stored) if stored else None, config.thresholds, devices,
                            settings=settings, profile=profile)
        with engine.begin() as conn:
            if outcome.stored is not None:
                repo.save_baseline(conn, cid, outcome.stored.to_bytes(), outcome.result.started_at)
            if outcome.profile is not None:
                repo.save_profile(conn, cid, outcome.profile.to_json())
        saved = save_check(outcome.result, config.state_dir / "snapshots")
        return replace(outcome.result, snapshot=str(saved) if saved else None)

    results = _run_all(ids, one, args.jobs, progress=len(ids) > 1 and sys.stderr.isatty() and not args.json)
    print_results(results, args.json, {cid: config.cameras[cid] for cid in ids}, summary=len(ids) > 1)
    return EXIT_OK if all(r.ok for r in results) else EXIT_UNHEALTHY


def _check_adhoc(args: argparse.Namespace) -> int:
    """A camera that is not in the config: the same pipeline, no database, nothing written unless asked."""
    settings = CheckSettings(**_deadline(args.deadline)) if args.deadline else CheckSettings()
    if args.url:
        if len(args.url) > MAX_URL_LENGTH:  # checked first: nothing else reads an absurd address
            raise UsageError(f"--url is {len(args.url)} characters long: a camera address has at most {MAX_URL_LENGTH}")
        bare, user, password = split_credentials(args.url)
        try:
            bare = check_url(bare, ("rtsp", "rtsps"))
        except ValueError as err:
            raise UsageError(f"--url {err}") from None
        cam = adhoc_camera(mask_url(bare if user is None else with_credentials(bare, user, password)), rtsp_url=bare,
                           user=user, password=password, check=settings)
    else:
        bare, user, password = split_credentials("onvif://" + args.onvif)
        host_port = bare.removeprefix("onvif://").rstrip("/")
        host, _, port = host_port.rpartition(":") if host_port.count(":") == 1 else (host_port, "", "80")
        try:
            port_n = int(port or 80)
        except ValueError:
            raise UsageError(f"bad ONVIF port {port!r}") from None
        label = f"onvif://{user + '@' if user else ''}{host}:{port_n}"
        cam = adhoc_camera(label, onvif=(host, port_n), user=user, password=password, check=settings)
    result = run_check(cam, None, Thresholds(), DeviceFacts()).result
    jpeg = jpeg_of(result) if args.snapshot else None
    if args.snapshot and jpeg is not None:
        try:
            result = replace(result, snapshot=str(write_atomic(args.snapshot, jpeg)))
        except OSError as err:
            raise UsageError(f"cannot write the snapshot to {args.snapshot}: {err.strerror}") from None
    print_results([result], args.json, {})
    return EXIT_OK if result.ok else EXIT_UNHEALTHY


def _deadline(seconds: float) -> dict[str, float]:
    """`--deadline`: the whole check's, a long GOP's budget included."""
    if not 0 < seconds <= 120:
        raise UsageError("--deadline must be more than 0 and at most 120 seconds")
    return {"deadline_s": seconds, "max_deadline_s": seconds}


def _run_all(ids: list[str], one: Callable[[str], CheckResult], jobs: int, progress: bool) -> list[CheckResult]:
    results: dict[str, CheckResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(ids)))) as pool:
        futures = {pool.submit(one, cid): cid for cid in ids}
        for n, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            if progress:
                print(f"\r[{'#' * (30 * n // len(ids)):<30}] {n}/{len(ids)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return [results[i] for i in ids]


def print_results(results: list[CheckResult], as_json: bool, cams: dict[str, ResolvedCamera],
                  summary: bool = False) -> None:
    if as_json:
        data = [r.as_dict() for r in results]
        print(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2))
        return
    for r in results:
        cam = cams.get(r.camera)
        print(f"{r.camera}  {cam.cfg.name} ({cam.commune.name})" if cam else r.camera)
        print(f"  verdict   {r.verdict} — {r.reason}")
        s = r.stream
        if s.codec:
            parts = [f"{s.codec} {s.width}×{s.height}"]
            if s.fps:
                parts.append(f"{s.fps:.1f} fps")
            if s.bitrate_bps:
                parts.append(f"{s.bitrate_bps / 1000:.0f} kbit/s")
            if s.intra_only:
                parts.append("every frame a keyframe")
            elif s.gop_s:
                parts.append(f"keyframe every {s.gop_s:.3g} s")
            if s.transport:
                parts.append(f"over {s.transport}")
            if s.time_to_first_frame_s is not None:
                parts.append(f"first keyframe in {s.time_to_first_frame_s:.2f} s")
            print(f"  stream    {', '.join(parts)}")
            if s.timestamp_jump_s:
                print(f"  note      the stream's timestamps jumped by {s.timestamp_jump_s:+.0f} s "
                      "(the camera may have rebooted)")
        for f in r.findings[1:]:
            print(f"  also      {f.kind} — {f.reason}")
        if r.onvif:
            _print_device(r.onvif)
        print(f"  took      {r.duration_s:.2f} s")
        if r.snapshot:
            print(f"  snapshot  {r.snapshot}")
        print()
    if summary:
        w = max(len(r.camera) for r in results)
        print(f"{'CAMERA':<{w}}  {'VERDICT':<14}  {'TIME':>6}  REASON")
        for r in results:
            print(f"{r.camera:<{w}}  {r.verdict:<14}  {r.duration_s:5.1f}s  {r.reason}")
        bad = sum(1 for r in results if not r.ok)
        print(f"\n{len(results) - bad} ok, {bad} with a problem, of {len(results)} cameras")


def _print_device(o: Mapping[str, Any]) -> None:
    d = o.get("device") or {}
    if d:
        print(f"  device    {d['manufacturer']} {d['model']}, firmware {d['firmware']}, serial {d['serial']}")
    if o.get("clock_offset_s") is not None:
        print(f"  clock     {o['clock_offset_s']:+.1f} s from this server ({'NTP' if o.get('ntp') else 'manual'})")
    rec = o.get("recording")
    if rec:
        print(f"  recording newest {rec['age_s'] / 60:.0f} min ago ({rec['recordings']} recording(s))")
    elif o.get("ok"):
        print("  recording not reported by the device (no ONVIF Profile G)")
    if o.get("error"):
        print(f"  onvif     {o['error']} — {o['reason']}")


def cmd_discover(args: argparse.Namespace) -> int:
    from camwatch.discover import discover

    try:
        found = discover(args.timeout, args.address, args.port, args.interface)
    except OSError as err:
        raise UsageError(f"cannot send the discovery probe: {err.strerror}") from None
    print(f"# {len(found)} ONVIF device(s) found on {args.address or 'the local network (multicast)'}")
    for n, f in enumerate(found, 1):
        hw = f.scope("hardware")
        print(f"\n# {f.xaddr}{'  ' + hw if hw else ''}\n{f.toml(n)}")
    return EXIT_OK


