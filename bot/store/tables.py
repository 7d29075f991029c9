"""Describe shipbot's tables; migrations in `migrations/versions/` create them."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text)

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
Id = BigInteger().with_variant(Integer(), "sqlite")

# One row per accepted delivery: the durable queue and the dedupe record at once.
# Times are Unix seconds (float): the same on both backends, cheap to compare.
jobs = Table(
    "jobs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_key", String(300), nullable=False, unique=True),
    Column("source", String(16), nullable=False),
    Column("event", String(100), nullable=False),
    Column("name", String(150), nullable=False),
    Column("repo", String(300)),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("leased_by", String(100)),
    Column("progress", Text),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("ix_jobs_status_run_at", "status", "run_at"),
    Index("ix_jobs_created_at", "created_at"),
)

# Every command and decision: who, what, where, result.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("delivery_key", String(300)),
    Column("source", String(16), nullable=False),
    Column("actor", String(200)),
    Column("repo", String(300)),
    Column("location", String(500)),
    Column("command", Text),
    Column("decision", String(40), nullable=False),
    Column("detail", Text),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_repo_at", "repo", "at"),
)

# Slack channel <-> repository links made with /shipbot link (presets come from settings).
channel_links = Table(
    "channel_links", metadata,
    Column("channel", String(40), primary_key=True),
    Column("repo", String(300), primary_key=True),
    Column("linked_by", String(200)),
    Column("at", Float, nullable=False),
)
