"""The database schema. Changes go through Alembic migrations only (alembic/versions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        v = value.astimezone(dt.UTC)
        return v.replace(tzinfo=None) if dialect.name == "sqlite" else v

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

cameras = Table(
    "cameras", metadata,
    Column("id", String(64), primary_key=True),
    Column("commune", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("location", Text, nullable=False, default=""),
    Column("added_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime),  # removed from config or retired: leaves every count from then
    Column("model", Text),
    Column("firmware", Text),
    Column("width", Integer),
    Column("height", Integer),
    # current health state (the state machine's memory), written with every check
    Column("status", String(16), nullable=False, default="unknown"),
    Column("status_since", UTCDateTime),
    Column("state", JSON, nullable=False, default=dict),
    Column("last_check_at", UTCDateTime),
    Column("last_verdict", String(32)),
    Column("last_reason", Text),
    Column("last_good_snapshot", Text),
    Column("baseline", LargeBinary),
    Column("baseline_updated_at", UTCDateTime),
    Column("profile", JSON),  # the learned stream profile (migration 0006)
    # ONVIF facts (migration 0003)
    Column("manufacturer", Text),
    Column("serial", Text),
    Column("hardware_id", Text),
    Column("clock_offset_s", Float),
    Column("clock_ntp", Boolean),
    Column("onvif_checked_at", UTCDateTime),
    Column("onvif_error", Text),
    Column("stream_uri", Text),  # discovered through ONVIF when no rtsp_url is configured (no credentials in it)
    # pictures' times (migration 0005): an email says when each picture it carries was taken
    Column("last_good_at", UTCDateTime),
    Column("latest_snapshot", Text),
    Column("latest_snapshot_at", UTCDateTime),
)

device_events = Table(  # a firmware change, a swapped camera (new serial), a new model
    "device_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", String(64), ForeignKey("cameras.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("field", String(32), nullable=False),
    Column("old", Text),
    Column("new", Text),
)

checks = Table(
    "checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", String(64), ForeignKey("cameras.id"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("interval_s", Float, nullable=False),  # the schedule this check belonged to (coverage)
    Column("duration_s", Float, nullable=False),
    Column("verdict", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # the camera's status after this check
    Column("error_kind", String(32)),
    Column("reason", Text, nullable=False, default=""),
    Column("luma", Float),
    Column("sharpness_ratio", Float),
    Column("motion", Float),
    Column("fps", Float),
    Column("bitrate_bps", Float),
    Column("time_to_first_frame_s", Float),
    Column("clock_offset_s", Float),
    Column("numbers", JSON),
    Column("node", String(64)),
    Index("ix_checks_camera_time", "camera_id", "started_at"),
    Index("ix_checks_time", "started_at"),
)

check_hours = Table(  # raw checks older than the retention period, rolled up per camera and hour
    "check_hours", metadata,
    Column("camera_id", String(64), ForeignKey("cameras.id"), primary_key=True),
    Column("hour", UTCDateTime, primary_key=True),
    Column("checks", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("covered_s", Float, nullable=False),
    Column("spans", JSON, nullable=False),  # covered time as [start, end] second offsets within the hour
    Column("verdicts", JSON, nullable=False),  # verdict → number of checks
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", String(64), ForeignKey("cameras.id"), nullable=False),
    Column("kind", String(32), nullable=False),  # the verdict
    Column("severity", String(16), nullable=False),  # down | degraded
    Column("started_at", UTCDateTime, nullable=False),  # the first failing check
    Column("opened_at", UTCDateTime, nullable=False),  # when hysteresis confirmed it
    Column("closed_at", UTCDateTime),  # the first of the good checks that closed it
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("evidence", JSON),
    Column("first_bad_snapshot", Text),
    Column("last_good_snapshot", Text),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("acknowledged_by", Text),  # migration 0005: `camwatch incidents ack ID --by NAME --note …`
    Column("acknowledged_at", UTCDateTime),
    Column("ack_note", Text),
    Column("last_good_at", UTCDateTime),  # when the incident's last good picture was taken
    Column("notified_at", UTCDateTime),  # when the technicians were first told (None: never emailed)
    Column("reminded_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Index("ix_incidents_camera_open", "camera_id", "closed_at"),
)

maintenance = Table(
    "maintenance", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", String(64)),  # one of camera_id / commune
    Column("commune", String(64)),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("source", String(16), nullable=False, default="cli"),
)

mutes = Table(  # `camwatch incidents mute CAMERA --for 3d` (migration 0005): notifications held until ends_at
    "mutes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("camera_id", String(64), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("muted_by", Text, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index("ix_mutes_camera", "camera_id", "ends_at"),
)

runs = Table(  # monitoring sessions: the time between them is "not monitored"
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
)

notifications = Table(  # the outbox: written with the transition that causes it, drained by the sender
    "notifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("incident_id", Integer, ForeignKey("incidents.id")),
    Column("camera_id", String(64)),
    # opened | closed | flapping | steady (transitions) | email | webhook (deliveries)
    Column("event", String(32), nullable=False),
    Column("kind", String(32)),  # for emails: alert | group | recovery | group_recovery | reminder | escalation | ...
    Column("payload", JSON, nullable=False),
    Column("recipient", Text),
    Column("not_before", UTCDateTime),
    Column("claimed_at", UTCDateTime),
    Column("claimed_by", String(160)),  # the claiming process (alerts/claims.py), migration 0007
    Column("sent_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, default=0),  # tries, whatever their outcome
    # the server's refusals of this delivery (what `max_attempts` counts; a server that is down is not one)
    Column("refusals", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text),
    Column("failed_permanently", Boolean, nullable=False, default=False),
    Index("ix_notifications_pending", "sent_at", "failed_permanently"),
)

nodes = Table(  # camwatch nodes sharing one PostgreSQL database (migration 0004)
    "nodes", metadata,
    Column("node_id", String(64), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("communes", JSON),  # communes this node checks first (pinning)
)

leases = Table(  # which node checks which camera, until when
    "leases", metadata,
    Column("camera_id", String(64), ForeignKey("cameras.id"), primary_key=True),
    Column("node_id", String(64), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_leases_node", "node_id"),
)
