"""One glossary (camwatch/words.py) for emails, report and CLI; every sentence of a Vietnamese email in
Vietnamese; and weekly maintenance windows counted apart in availability."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from camwatch import config as cfgmod
from camwatch.alerts import messages
from camwatch.model import Verdict
from camwatch.store import history
from camwatch.words import NAMES, duration, verdict_name, verdict_text
from tests.test_alerts import at, check, make_config, open_db

TZ = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(("seconds", "vi", "en"), [
    (0, "dưới 1 phút", "under 1 min"), (59, "dưới 1 phút", "under 1 min"), (60, "1 phút", "1 min"),
    (3900, "1 giờ 5 phút", "1 h 5 min"), (3600, "1 giờ", "1 h"), (93784, "1 ngày 2 giờ 3 phút", "1 d 2 h 3 min")])
def test_durations_are_written_one_way(seconds: float, vi: str, en: str) -> None:
    assert duration(seconds, "vi") == vi and duration(seconds, "en") == en


def test_a_fault_has_one_name_in_emails_report_and_cli() -> None:
    for lang in ("vi", "en"):
        for v in Verdict:
            if v is not Verdict.OK:
                assert verdict_text(v, lang)[0] == verdict_name(v, lang).upper()
    assert verdict_name("offline", "vi") == "mất kết nối"
    from camwatch.report import tables as render  # the report names faults through the glossary

    assert render.verdict_name is verdict_name


def payload(kind: str, **extra: object) -> dict[str, object]:
    base = {"kind": kind, "language": "vi", "timezone": TZ, "camera": "CD-07", "name": "Cầu Cẩm Đàn",
            "commune": "cam-dan", "commune_name": "Cẩm Đàn", "location": "Quốc lộ 31", "verdict": "offline",
            "severity": "down", "reason": "connection refused: the address answers but nothing listens on the RTSP port",
            "started_at": at(1).isoformat(), "closed_at": (at(1) + dt.timedelta(seconds=59)).isoformat(),
            "incident": 7, "source": "rtsp", "host": "10.17.3.21:554", "now": at(60 * 25).isoformat()}
    return {**base, **extra}


# English words that would betray an English sentence (technical loanwords a technician uses are allowed)
ENGLISH = {"the", "is", "of", "and", "to", "not", "no", "connection", "refused", "answer", "answers", "picture",
           "within", "cannot", "technical", "detail", "since", "attached", "last", "good", "down", "offline",
           "timeout", "camera's", "nothing", "listens", "port", "problem", "check", "first", "found", "lasted"}


@pytest.mark.parametrize("email", [
    payload("alert"), payload("reminder"), payload("escalation", acknowledged_by="Việt", acknowledged_at=at(5).isoformat()),
    payload("recovery"), payload("flapping", opened_in_window=4, stable_s=1800),
    payload("steady", at=at(90).isoformat(), flapping_since=at(0).isoformat(), stable_s=1800, outages=5, down_s=600,
            current=None),
    *[payload("alert", verdict=str(v), severity="degraded" if v in (Verdict.COVERED, Verdict.BLURRED) else "down",
              reason=f"the picture is {v}") for v in Verdict if v is not Verdict.OK],
    {"kind": "storage", "language": "vi", "timezone": TZ, "district": "Huyện Sơn Động", "state_dir": "/var/lib/camwatch",
     "free_bytes": 800 * 2**20, "at": at(0).isoformat()},
    {"kind": "group", "language": "vi", "timezone": TZ, "commune_name": "Cẩm Đàn", "started_at": at(0).isoformat(),
     "all_of_commune": True, "cameras": [{"camera": "CD-07", "name": "Cầu", "kind": "offline",
                                          "started_at": at(0).isoformat()}]},
], ids=lambda p: f"{p['kind']}-{p.get('verdict', '')}")
def test_every_sentence_of_a_vietnamese_email_is_vietnamese(email: dict[str, object]) -> None:
    good = messages.Picture("last_good", b"\xff\xd8\xff\xd9", at(0).isoformat())
    msg = messages.build(email, "camwatch <c@x.example>", "v@x.example", "<1@x>", pictures=[good])
    text = msg.get_body(("plain",)).get_content().split("\n-- \n")[0]
    text = re.sub(r"https?://\S+|\S+@\S+|\S+\.jpg", "", text)
    words = {w.lower() for w in re.findall(r"[^\W\d_]+(?:'s)?", text)}  # whole words, Vietnamese letters too
    assert not words & ENGLISH, (words & ENGLISH, text)


def test_a_59_second_outage_recovers_in_under_a_minute_not_0_minutes() -> None:
    text = messages.build(payload("recovery"), "c <c@x.example>", "v@x.example", "<1@x>").get_body(("plain",))
    assert "Thời gian gián đoạn: dưới 1 phút" in text.get_content()


def test_weekly_maintenance_windows_in_local_time_for_a_commune(tmp_path: Path) -> None:
    make_config(tmp_path, 25, n_cameras=1)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8") + """
[[maintenance]]
commune = "yen-dinh"
weekly = "sat,sun 07:00-11:30"
reason = "cắt điện định kỳ"
[[maintenance]]
camera = "YD-01"
weekly = "wed 23:00-01:00"
"""
    (tmp_path / "cameras.toml").write_text(text, encoding="utf-8")
    config = cfgmod.load(tmp_path / "cameras.toml")
    tz = ZoneInfo(TZ)
    monday = dt.datetime(2026, 11, 23, tzinfo=tz)
    wins = config.maintenance_windows("YD-01", "yen-dinh", monday.astimezone(dt.UTC),
                                      (monday + dt.timedelta(days=7)).astimezone(dt.UTC))
    local = sorted((a.astimezone(tz).strftime("%a %H:%M"), b.astimezone(tz).strftime("%a %H:%M")) for a, b in wins)
    assert local == [("Sat 07:00", "Sat 11:30"), ("Sun 07:00", "Sun 11:30"), ("Wed 23:00", "Thu 01:00")]
    assert config.maintenance_windows("YD-01", "other", monday, monday + dt.timedelta(days=1)) == []


@pytest.mark.parametrize(("line", "error"), [
    ('weekly = "saturday 07:00-11:00"', "String should match pattern"),
    ('weekly = "sat 07:00-11:00"\ndaily = "01:00-02:00"', "give `start` and `end`, or `daily`, or `weekly`"),
    ('weekly = "sat 25:00-11:00"', "String should match pattern"),
])
def test_a_bad_weekly_window_is_refused_with_its_line(tmp_path: Path, line: str, error: str) -> None:
    make_config(tmp_path, 25, n_cameras=1)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8") + f'\n[[maintenance]]\ncamera = "YD-01"\n{line}\n'
    with pytest.raises(cfgmod.ConfigError, match=re.escape(error)):
        cfgmod.loads(text, base_dir=tmp_path)


def test_weekly_maintenance_is_counted_apart_in_availability(tmp_path: Path) -> None:
    make_config(tmp_path, 25, n_cameras=1)
    text = (tmp_path / "cameras.toml").read_text(encoding="utf-8") + \
        '\n[[maintenance]]\ncommune = "yen-dinh"\nweekly = "sat 14:10-14:40"\n'  # T0 is Saturday 14:00 local
    (tmp_path / "cameras.toml").write_text(text, encoding="utf-8")
    config = cfgmod.load(tmp_path / "cameras.toml")
    engine = open_db(config)
    try:
        for m in range(60):  # a check a minute; the power is cut 14:10–14:40 as every Saturday
            check(engine, "YD-01", Verdict.OFFLINE if 10 <= m < 40 else Verdict.OK, at(m),
                  maint=bool(config.maintenance_windows("YD-01", "yen-dinh", at(m), at(m) + dt.timedelta(seconds=1))))
        start, end = at(0), at(60)
        with engine.connect() as conn:
            b = history.camera_breakdown(conn, "YD-01", "yen-dinh", start, end,
                                         config.maintenance_windows("YD-01", "yen-dinh", start, end))
        assert b.maintenance_s == pytest.approx(30 * 60) and b.down_s == 0 and b.availability == 1.0
    finally:
        engine.dispose()


def test_names_cover_every_verdict_in_both_languages() -> None:
    assert set(NAMES["vi"]) == set(NAMES["en"]) == {str(v) for v in Verdict}
