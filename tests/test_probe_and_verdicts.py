"""Every verdict, asserted on the real RTSP stream it belongs to; healthy streams give no finding."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from camwatch.analysis import Baseline
from camwatch.config import CheckSettings
from camwatch.model import CheckResult, Verdict
from camwatch.probe import Target
from camwatch.probe.rtsp import probe_rtsp
from camwatch.sim.fleet import Fleet
from camwatch.snapshots import jpeg_of
from camwatch.urls import with_credentials
from tests.conftest import PASSWORD
from tests.helpers import TH
from tests.helpers import check_url as _check_url

SETTINGS = CheckSettings(deadline_s=8.0, connect_timeout_s=2.0)


def check_camera(label: str, url: str, settings: CheckSettings, baseline: Baseline | None,
                 th: object = TH) -> tuple[CheckResult, Baseline | None]:
    return _check_url(url, settings, baseline, label=label)


def url(fleet: Fleet, mount: str, password: str = PASSWORD) -> str:
    return with_credentials(fleet.url(mount), "admin", password)


@pytest.mark.parametrize("scene", ["day", "static", "night"])
def test_healthy_scenes_are_ok_with_no_finding(fleet: Fleet, scene: str) -> None:
    result, baseline = check_camera(scene, url(fleet, scene), SETTINGS, None, TH)
    assert result.verdict is Verdict.OK, result.reason
    assert result.findings == ()
    assert baseline is not None and baseline.mode(result.mode or "day").samples == 1
    # and again, now against the learned baseline: still no finding (no false alarm)
    again, _ = check_camera(scene, url(fleet, scene), SETTINGS, baseline, TH)
    assert again.verdict is Verdict.OK and again.findings == (), again.findings


def test_night_scene_is_judged_in_night_mode(fleet: Fleet) -> None:
    result, _ = check_camera("night", url(fleet, "night"), SETTINGS, None, TH)
    assert result.mode == "night" and result.verdict is Verdict.OK


def test_stream_facts_are_measured(fleet: Fleet) -> None:
    result, _ = check_camera("day", url(fleet, "day"), SETTINGS, None, TH)
    s = result.stream
    assert (s.codec, s.width, s.height) == ("h264", 640, 360)
    assert s.fps == pytest.approx(10, abs=0.5)
    assert s.gop_s == pytest.approx(2.0, abs=0.2)
    assert s.bitrate_bps and 20_000 < s.bitrate_bps < 2_000_000
    assert s.time_to_first_frame_s is not None and s.time_to_first_frame_s < 2.0
    jpeg = jpeg_of(result)
    assert jpeg and jpeg[:2] == b"\xff\xd8"


@pytest.mark.parametrize(("scene", "verdict"), [
    ("black", Verdict.BLACK),
    ("frozen", Verdict.FROZEN),
    ("frozen_clock", Verdict.FROZEN),  # the OSD clock keeps ticking on a hung sensor
    ("covered", Verdict.COVERED),
])
def test_picture_faults_without_baseline(fleet: Fleet, scene: str, verdict: Verdict) -> None:
    result, baseline = check_camera(scene, url(fleet, scene), SETTINGS, None, TH)
    assert result.verdict is verdict, (result.reason, result.numbers)
    assert result.findings[0].numbers, "a finding carries the numbers behind it"
    assert baseline is None, "a faulty picture must not become the baseline"


@pytest.mark.parametrize(("fault", "verdict"), [("blurred", Verdict.BLURRED), ("moved", Verdict.MOVED)])
def test_faults_relative_to_the_cameras_own_baseline(fleet: Fleet, fault: str, verdict: Verdict) -> None:
    mount = "switch" if fault == "blurred" else "switch2"
    fleet.set(mount, "day")
    baseline: Baseline | None = None
    for _ in range(2):  # learn what this camera looks like when healthy
        ok, learned = check_camera(mount, url(fleet, mount), SETTINGS, baseline, TH)
        assert ok.verdict is Verdict.OK
        baseline = learned or baseline
    fleet.set(mount, fault)
    try:
        result, _ = check_camera(mount, url(fleet, mount), SETTINGS, baseline, TH)
    finally:
        fleet.set(mount, "day")
    assert result.verdict is verdict, (result.reason, result.numbers)


def test_wrong_password_is_auth_failed(fleet: Fleet) -> None:
    result, _ = check_camera("x", url(fleet, "day", password="wrong"), SETTINGS, None, TH)
    assert result.verdict is Verdict.AUTH_FAILED
    assert "wrong" not in result.reason and "wrong" not in result.detail


def test_unknown_path_is_not_found(fleet: Fleet) -> None:
    assert check_camera("x", url(fleet, "nope"), SETTINGS, None, TH)[0].verdict is Verdict.NOT_FOUND


def test_closed_port_is_offline(closed_port: int) -> None:
    result, _ = check_camera("x", f"rtsp://127.0.0.1:{closed_port}/a", SETTINGS, None, TH)
    assert result.verdict is Verdict.OFFLINE
    assert result.duration_s < 1.0


def test_garbage_answer_is_protocol_error(fleet: Fleet) -> None:
    result, _ = check_camera("x", f"rtsp://127.0.0.1:{fleet.garbage_port}/a", SETTINGS, None, TH)
    assert result.verdict is Verdict.PROTOCOL_ERROR


def test_a_camera_that_never_answers_is_abandoned_at_the_deadline(fleet: Fleet) -> None:
    target = f"rtsp://127.0.0.1:{fleet.hang_port}/a"
    settings = CheckSettings(deadline_s=4.0, connect_timeout_s=1.5)
    t0 = time.monotonic()
    result, _ = check_camera("x", target, settings, None, TH)
    elapsed = time.monotonic() - t0
    assert result.verdict is Verdict.TIMEOUT
    assert elapsed <= settings.deadline_s + 0.5, elapsed


def test_no_thread_or_socket_leaks_after_many_checks(fleet: Fleet, closed_port: int) -> None:
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    targets = [url(fleet, "day"), url(fleet, "nope"), f"rtsp://127.0.0.1:{closed_port}/a",
               f"rtsp://127.0.0.1:{fleet.hang_port}/a", f"rtsp://127.0.0.1:{fleet.garbage_port}/a"]
    probe_rtsp(Target(targets[0]), SETTINGS)  # warm up FFmpeg's one-time initialisation
    threads, files = threading.active_count(), fds()
    kinds = [probe_rtsp(Target(t), CheckSettings(deadline_s=3.0, connect_timeout_s=1.0)).error for t in targets * 2]
    assert kinds == [None, "not_found", "unreachable", "timeout", "protocol"] * 2
    assert threading.active_count() == threads
    assert fds() <= files


def test_two_checks_at_once_do_not_interfere(fleet: Fleet) -> None:
    out: dict[str, Verdict] = {}

    def run(scene: str) -> None:
        out[scene] = check_camera(scene, url(fleet, scene), SETTINGS, None, TH)[0].verdict

    ts = [threading.Thread(target=run, args=(s,)) for s in ("day", "black", "frozen")]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert out == {"day": Verdict.OK, "black": Verdict.BLACK, "frozen": Verdict.FROZEN}


SCENES = ("day", "static", "night")


def test_a_live_camera_checked_again_and_again_is_never_frozen(fleet: Fleet) -> None:
    """Across checks (the last picture kept in the baseline): a live camera's picture changes from one check
    to the next — the simulator, like a camera, shows each session what it sees at that moment. The day, static
    and night cameras are checked side by side, each in its own thread, as the daemon's pool does."""
    from camwatch.config import adhoc_camera
    from camwatch.devices import DeviceFacts
    from camwatch.pipeline import run_check

    def checked(scene: str) -> tuple[list[Verdict], list[float]]:
        cam = adhoc_camera(scene, rtsp_url=fleet.url(scene), user="admin", password=PASSWORD, check=SETTINGS)
        baseline: Baseline | None = None
        verdicts, changes = [], []
        for _ in range(7):
            out = run_check(cam, baseline, TH, DeviceFacts())
            baseline = out.stored or baseline
            verdicts.append(out.result.verdict)
            if "change" in out.result.numbers:
                changes.append(out.result.numbers["change"])
            time.sleep(2.1)  # the next GOP: a different moment of the scene, as a check a minute later would see
        return verdicts, changes

    with ThreadPoolExecutor(3) as pool:
        results = dict(zip(SCENES, pool.map(checked, SCENES), strict=True))
    for scene, (verdicts, changes) in results.items():
        assert verdicts == [Verdict.OK] * 7, (scene, verdicts, changes)
        assert len(changes) == 6 and min(changes) > 0.05, (scene, changes)  # compared with the last check: it changed
