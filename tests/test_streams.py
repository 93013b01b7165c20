"""Checks that fit each real camera's stream, against the real RTSP server in the shapes real fleets have:
long GOPs joined mid-GOP, UDP-only servers, lying timestamps, MJPEG, 1 fps."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from camwatch.config import CheckSettings
from camwatch.model import StreamFacts, Verdict
from camwatch.probe.rtsp import READ_TIMEOUT_S, frame_rate, gop, timestamp_jump
from camwatch.profile import StreamProfile, budget, learn
from camwatch.sim.fleet import Fleet
from tests.helpers import TH, check_url

MOUNTS = {"gop12": "day@gop12+join", "udp": "day@udp", "mjpeg": "day@mjpeg", "fps1": "day@fps1+gop4",
          "jump": "day@tsjump+gop4", "bframes": "day@bframes"}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet(tmp_path_factory.mktemp("shapes"), MOUNTS, user=None, password=None, hostile_ports=False) as f:
        yield f


def test_a_long_gop_joined_mid_gop_is_learned_then_given_room_for_two_keyframes(shapes: Fleet) -> None:
    """A 12 s GOP: the budget leaves room for a second keyframe (read while the camera is learned and when
    freezing is in doubt; a live picture beyond doubt stops the check at its first: see test_detection)."""
    first, _ = check_url(shapes.url("gop12"))  # never seen: it may take up to max_deadline_s
    assert first.verdict is Verdict.OK, first.reason
    profile = learn(None, first.stream)
    assert profile.gop_s == pytest.approx(12, abs=0.6) and profile.long_gop
    settings = budget(CheckSettings(), profile)
    assert settings.keyframes == 2 and 24 < settings.deadline_s <= 30
    for _ in range(2):  # every join lands elsewhere in the GOP: none may fail
        result, _ = check_url(shapes.url("gop12"), settings)
        assert result.verdict is Verdict.OK, result.reason
        assert result.duration_s <= settings.deadline_s and "motion" in result.numbers, result.numbers  # two read


def test_a_udp_only_camera_is_reached_by_auto_and_a_forced_tcp_says_461(shapes: Fleet) -> None:
    forced, _ = check_url(shapes.url("udp"), CheckSettings(transport="tcp"))
    assert forced.verdict is Verdict.PROTOCOL_ERROR and "461 Unsupported transport" in forced.reason
    auto, _ = check_url(shapes.url("udp"))
    assert auto.verdict is Verdict.OK and auto.stream.transport == "udp", auto.reason
    remembered = budget(CheckSettings(), learn(None, auto.stream))
    assert remembered.transport_first == "udp"  # next time straight to what worked
    again, _ = check_url(shapes.url("udp"), remembered)
    assert again.verdict is Verdict.OK and again.stream.transport == "udp"


def test_mjpeg_is_intra_only_not_a_gop(shapes: Fleet) -> None:
    result, _ = check_url(shapes.url("mjpeg"))
    assert result.verdict is Verdict.OK, result.reason
    s = result.stream
    assert s.codec == "mjpeg" and s.intra_only and s.gop_s is None
    assert s.fps == pytest.approx(10, abs=0.7)
    assert learn(None, s).gop_s == 0 and "every frame a keyframe" in learn(None, s).describe()


def test_a_stream_with_b_frames_gives_every_keyframe_it_reads(shapes: Fleet) -> None:
    """x264 with two B-frames between references (the simulator's other streams have none): a decoder may hold a
    frame back to reorder them, and the probe decodes each keyframe alone, with a decoder of its own."""
    from camwatch.probe import Target
    from camwatch.probe.rtsp import probe_rtsp

    obs = probe_rtsp(Target(shapes.url("bframes"), None, None), CheckSettings(deadline_s=10))
    assert obs.ok and len(obs.keyframes) == 2, obs.reason
    assert obs.keyframes[0].shape == (360, 640, 3) and obs.keyframes[0].std() > 10  # a picture, not a grey field
    result, _ = check_url(shapes.url("bframes"))
    assert result.verdict is Verdict.OK and "motion" in result.numbers, result.reason  # judged on both


def test_one_frame_per_second_gives_its_fps_and_gop(shapes: Fleet) -> None:
    result, _ = check_url(shapes.url("fps1"))
    assert result.verdict is Verdict.OK, result.reason
    assert result.stream.fps == pytest.approx(1.0, abs=0.15)
    assert result.stream.gop_s == pytest.approx(4.0, abs=0.6)


def test_a_timestamp_jump_is_reported_not_turned_into_nonsense(shapes: Fleet) -> None:
    result, _ = check_url(shapes.url("jump"))
    assert result.verdict is Verdict.OK, result.reason
    s = result.stream
    assert s.timestamp_jump_s == pytest.approx(3600, abs=2), s
    assert s.fps == pytest.approx(10, abs=0.7) and s.gop_s == pytest.approx(4, abs=0.6)


# ---------------------------------------------------------------- the pure parts

def frames(n: int, fps: float, stamp: float = 1.0, jump_at: int | None = None, jump: float = 0.0,
           ) -> list[tuple[float, float | None]]:
    """(arrival, pts) of n frames arriving at `fps`; timestamps scaled by `stamp` (a wrong RTP clock rate)."""
    out: list[tuple[float, float | None]] = []
    for i in range(n):
        pts = i / fps * stamp + (jump if jump_at is not None and i >= jump_at else 0.0)
        out.append((0.3 + i / fps, pts))
    return out


def test_frame_rate_trusts_timestamps_only_when_they_agree_with_arrival() -> None:
    assert frame_rate(frames(20, 10)) == pytest.approx(10)
    assert frame_rate(frames(20, 10, stamp=1 / 90)) == pytest.approx(10)  # a 1 kHz clock announced as 90 kHz
    assert frame_rate(frames(20, 10, jump_at=8, jump=3600)) == pytest.approx(10)
    assert frame_rate(frames(20, 10, jump_at=8, jump=-5)) == pytest.approx(10)  # a restart
    burst = [(0.3, 0.0), (0.3, 0.1), (0.3, 0.2), *[(0.3 + i / 10, i / 10) for i in range(3, 20)]]
    assert frame_rate([(a, None) for a, _ in burst]) == pytest.approx(10)  # opening's burst is no frame rate
    assert frame_rate(frames(1, 10)) is None


def test_gop_counts_frames_and_the_jump_is_measured() -> None:
    assert gop([0, 20, 40], 10.0) == pytest.approx(2.0)
    assert gop([3], 10.0) is None and gop([0, 20], None) is None
    assert timestamp_jump(frames(30, 10, jump_at=12, jump=3600)) == pytest.approx(3600)
    assert timestamp_jump(frames(30, 10)) is None


def test_the_budget_follows_the_learned_gop_within_bounds() -> None:
    base = CheckSettings()
    assert budget(base, None).deadline_s == base.max_deadline_s  # never seen: room to learn
    short = StreamProfile(gop_s=2.0, first_keyframe_s=0.3)
    assert budget(base, short).deadline_s == base.deadline_s and budget(base, short).keyframes == 2
    long = StreamProfile(gop_s=8.0, first_keyframe_s=0.4, transport="udp")
    b = budget(base, long)
    assert b.keyframes == 2 and b.deadline_s == pytest.approx(0.4 + 2 * 8 + READ_TIMEOUT_S + 0.5, abs=0.01)
    assert b.transport_first == "udp"
    assert budget(base, StreamProfile(gop_s=60.0)).deadline_s == base.max_deadline_s  # bounded
    assert budget(CheckSettings(transport="tcp"), long).transport_first is None  # a forced transport stays


def test_learning_keeps_what_a_check_did_not_measure() -> None:
    p = learn(None, StreamFacts(codec="h264", width=640, height=360, fps=10, gop_s=2.0, transport="tcp",
                                time_to_first_frame_s=0.3))
    q = learn(p, StreamFacts(codec="h264", fps=10, time_to_first_frame_s=0.5))  # one keyframe: no GOP measured
    assert q.gop_s == 2.0 and q.width == 640 and q.samples == 2
    assert q.first_keyframe_s == pytest.approx(0.36)
    assert StreamProfile.from_json(q.to_json()) == q


def test_nothing_exceeds_the_deadline_budget_on_a_hanging_camera(fleet: Fleet) -> None:
    settings = CheckSettings(deadline_s=4.0, max_deadline_s=4.0, connect_timeout_s=1.5)
    result, _ = check_url(f"rtsp://127.0.0.1:{fleet.hang_port}/a", settings)
    assert result.verdict is Verdict.TIMEOUT and result.duration_s <= 4.0 + 0.5


_ = (itertools, Path, TH)
