"""The health state machine: (previous state, verdict, now, policy) → (new state, transitions). Pure.

Hysteresis: a problem opens an incident only after N consecutive failing checks of its severity,
and closes after M consecutive good ones. The incident starts at the *first* failing check (that is
when the camera stopped serving) and ends at the *first* good check of the closing run. Nothing here
reads a clock or does I/O: time is a parameter, so tests need no sleeping and no mocks.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from camwatch.config.settings import HealthSettings
from camwatch.model import DOWN_VERDICTS, Verdict


class Status(enum.StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    MAINTENANCE = "maintenance"


def severity(v: Verdict) -> Status:
    if v is Verdict.OK:
        return Status.OK
    return Status.DOWN if v in DOWN_VERDICTS else Status.DEGRADED


# The policy is the validated `[defaults.health]` settings themselves.
Policy = HealthSettings


@dataclass(frozen=True)
class Incident:
    kind: Verdict
    severity: Status
    started_at: dt.datetime
    opened_at: dt.datetime


@dataclass(frozen=True)
class State:
    status: Status = Status.UNKNOWN
    since: dt.datetime | None = None
    fail_streak: int = 0
    fail_severity: Status | None = None
    fail_kind: Verdict | None = None
    first_fail_at: dt.datetime | None = None
    ok_streak: int = 0
    first_ok_at: dt.datetime | None = None
    incident: Incident | None = None
    recent_opens: tuple[dt.datetime, ...] = ()
    flapping: bool = False
    flapping_since: dt.datetime | None = None
    last_check_at: dt.datetime | None = None
    bad_since: dt.datetime | None = None  # start of the current run of down checks (for back-off)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return _encode(d)

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> State:
        if not d:
            return cls()
        d = _decode(d)
        inc = d.get("incident")
        return cls(
            status=Status(d["status"]), since=d.get("since"), fail_streak=d.get("fail_streak", 0),
            fail_severity=Status(d["fail_severity"]) if d.get("fail_severity") else None,
            fail_kind=Verdict(d["fail_kind"]) if d.get("fail_kind") else None,
            first_fail_at=d.get("first_fail_at"), ok_streak=d.get("ok_streak", 0), first_ok_at=d.get("first_ok_at"),
            incident=(Incident(Verdict(inc["kind"]), Status(inc["severity"]), inc["started_at"], inc["opened_at"])
                      if inc else None),
            recent_opens=tuple(d.get("recent_opens", ())), flapping=d.get("flapping", False),
            flapping_since=d.get("flapping_since"),
            last_check_at=d.get("last_check_at"), bad_since=d.get("bad_since"),
        )


class Event(enum.StrEnum):
    STATUS = "status"  # the status changed
    OPENED = "opened"  # an incident opened
    CLOSED = "closed"  # an incident closed
    FLAPPING = "flapping"  # the camera started flapping
    STEADY = "steady"  # it stopped flapping


@dataclass(frozen=True)
class Transition:
    event: Event
    at: dt.datetime
    status_from: Status
    status_to: Status
    incident: Incident | None = None
    closed_at: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


def step(state: State, verdict: Verdict, at: dt.datetime, policy: Policy,
         in_maintenance: bool = False) -> tuple[State, list[Transition]]:
    """Advance one camera's state by one check."""
    out: list[Transition] = []
    sev = severity(verdict)
    s = replace(state, last_check_at=at)
    opens = tuple(t for t in s.recent_opens if (at - t).total_seconds() < policy.flap_window_s)
    s = replace(s, recent_opens=opens)

    if sev is Status.OK:
        s = replace(s, fail_streak=0, fail_severity=None, fail_kind=None, first_fail_at=None, bad_since=None,
                    ok_streak=s.ok_streak + 1, first_ok_at=s.first_ok_at if s.ok_streak else at)
    else:
        same_run = s.fail_streak > 0 and s.fail_severity is sev
        s = replace(s, ok_streak=0, first_ok_at=None,
                    fail_streak=s.fail_streak + 1 if same_run else 1, fail_severity=sev, fail_kind=verdict,
                    first_fail_at=s.first_fail_at if same_run else at)
        if sev is Status.DOWN and s.bad_since is None:
            s = replace(s, bad_since=at)
        elif sev is not Status.DOWN:
            s = replace(s, bad_since=None)

    inc = s.incident
    # close: enough good checks, or enough checks better than the incident's severity
    if inc is not None:
        need = policy.successes_to_close * (2 if s.flapping else 1)
        if sev is Status.OK and s.ok_streak >= need:
            out.append(Transition(Event.CLOSED, at, s.status, Status.OK, inc, closed_at=s.first_ok_at))
            s = replace(s, incident=None)
        elif inc.severity is Status.DOWN and sev is Status.DEGRADED and s.fail_streak >= need:
            out.append(Transition(Event.CLOSED, at, s.status, Status.DEGRADED, inc, closed_at=s.first_fail_at))
            s = replace(s, incident=None)
    # open: enough consecutive failures of one severity (a worse one replaces a milder incident)
    if sev is not Status.OK and not in_maintenance:
        need = policy.failures_by_kind.get(str(verdict)) or (
            policy.failures_to_open if sev is Status.DOWN else policy.degraded_failures_to_open)
        milder = s.incident is not None and s.incident.severity is Status.DEGRADED and sev is Status.DOWN
        if s.fail_streak >= need and (s.incident is None or milder):
            start = s.first_fail_at or at
            if milder and s.incident is not None:
                out.append(Transition(Event.CLOSED, at, s.status, sev, s.incident, closed_at=start))
            new = Incident(verdict, sev, start, at)
            out.append(Transition(Event.OPENED, at, s.status, sev, new))
            s = replace(s, incident=new, recent_opens=(*opens, at))
            if not s.flapping and len(s.recent_opens) >= policy.flap_threshold:
                s = replace(s, flapping=True, flapping_since=s.recent_opens[0])
                out.append(Transition(Event.FLAPPING, at, s.status, sev, new,
                                      details={"opened_in_window": len(s.recent_opens),
                                               "stable_s": policy.flap_stable_s or policy.flap_window_s}))

    new_status = _status(s, in_maintenance)
    if new_status is not state.status:
        s = replace(s, status=new_status, since=at)
        out.append(Transition(Event.STATUS, at, state.status, new_status,
                              s.incident, details={"verdict": str(verdict)}))
    # stable again: no change of status and no incident opened for `flap_stable_s`
    stable_s = policy.flap_stable_s or policy.flap_window_s
    last_open = max(s.recent_opens, default=None)
    if s.flapping and s.since is not None and (at - s.since).total_seconds() >= stable_s \
            and (last_open is None or (at - last_open).total_seconds() >= stable_s):
        since = s.flapping_since
        s = replace(s, flapping=False, flapping_since=None, recent_opens=())
        out.append(Transition(Event.STEADY, at, s.status, s.status, s.incident,
                              details={"flapping_since": since.isoformat() if since else None, "stable_s": stable_s}))
    return s, out


def _status(s: State, in_maintenance: bool) -> Status:
    if in_maintenance:
        return Status.MAINTENANCE
    if s.incident is not None:
        return s.incident.severity
    if s.status is Status.UNKNOWN and s.ok_streak == 0:
        return Status.UNKNOWN  # failing since the first check, not confirmed yet either way
    return Status.OK


def next_interval(state: State, base_s: float, at: dt.datetime, policy: Policy) -> float:
    """Back off on a camera that has been down for long; the normal interval on the first good check."""
    if state.bad_since is None or policy.backoff_after_s <= 0:
        return base_s
    down_for = (at - state.bad_since).total_seconds()
    if down_for < policy.backoff_after_s:
        return base_s
    doublings = 1 + int((down_for - policy.backoff_after_s) // 3600)
    return max(base_s, min(policy.backoff_max_interval_s, base_s * 2**doublings))


def _encode(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return {"$t": v.isoformat()}
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_encode(x) for x in v]
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"$t"}:
            return dt.datetime.fromisoformat(v["$t"])
        return {k: _decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def resume(state: State, at: dt.datetime, max_gap_s: float) -> State:
    """After a gap in monitoring (camwatch stopped), streaks restart; an open incident stays open."""
    if state.last_check_at is None or (at - state.last_check_at).total_seconds() <= max_gap_s:
        return state
    return replace(state, fail_streak=0, fail_severity=None, fail_kind=None, first_fail_at=None,
                   ok_streak=0, first_ok_at=None)
