"""Describe shipbot's tables; migrations in `migrations/versions/` create them."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text, UniqueConstraint, text)

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
    # The one index besides the delivery key's that every acknowledgement's commit writes: the fair
    # claim walks it per repository, and pruning and the counts by status read it alone (migration 0006).
    Index("ix_jobs_status_repo_run_at", "status", "repo", "run_at"),
    # Only jobs waiting for a retry: /metrics counts them from this index instead of reading every
    # waiting job, and a new delivery (attempts 0) never writes to it (migration 0007).
    Index("ix_jobs_retrying", "status", "attempts", sqlite_where=text("status = 'pending' AND attempts > 0"),
          postgresql_where=text("status = 'pending' AND attempts > 0")),
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

# A deploy shipbot started (or learned of), from request to final status: history, audit, board.
deployments = Table(
    "deployments", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("repo", String(300), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("sha", String(64)),
    Column("version", String(64)),
    Column("requested_by", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", Text),
    Column("forge_id", String(64)),
    Column("run_url", String(1000)),
    Column("environment_url", String(1000)),
    Column("reply_to", Text),  # JSON: where the requester asked
    Column("chat_message", Text),  # JSON: the Slack message updated in place
    Column("rollback_of", BigInteger),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("ix_deployments_repo_env_created", "repo", "environment", "created_at"),
    Index("ix_deployments_forge_id", "repo", "forge_id"),
    Index("ix_deployments_status", "status"),
)

# One deploy at a time per environment: inserting the row is the claim, its primary key the guard.
active_deploys = Table(
    "active_deploys", metadata,
    Column("repo", String(300), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("deployment_id", BigInteger, nullable=False),
    Column("since", Float, nullable=False),
)

locks = Table(
    "locks", metadata,
    Column("repo", String(300), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("owner_reply", Text),
    Column("reason", Text),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# One-time codes (comments) and button values (Slack) for a second, explicit step.
confirmations = Table(
    "confirmations", metadata,
    Column("code", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("repo", String(300), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("request", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
    Column("outcome", String(32)),
)

# The last test result reported on each PR/MR: orders late events and drives `comment: change`.
test_reports = Table(
    "test_reports", metadata,
    Column("repo", String(300), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("sha", String(64)),
    Column("observed_at", Float, nullable=False),
    Column("result", String(16)),
    Column("digest", String(64)),
    Column("comment_id", String(64)),
    Column("updated_at", Float, nullable=False),
)

releases = Table(
    "releases", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("repo", String(300), nullable=False),
    Column("tag", String(255), nullable=False),
    Column("version", String(64), nullable=False),
    Column("sha", String(64)),
    Column("url", String(1000)),
    Column("released_by", String(200)),
    Column("prerelease", Boolean, nullable=False, default=False),
    Column("released_at", Float, nullable=False),
    UniqueConstraint("repo", "tag", name="uq_releases_repo_tag"),
    Index("ix_releases_repo_released", "repo", "released_at"),
)

# Named mutexes shared by replicas: serialize work on one PR, one release branch, one environment.
mutexes = Table(
    "mutexes", metadata,
    Column("key", String(400), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", Float, nullable=False),
)

# The commits each successful production deploy shipped first, with their times: DORA lead time reads
# only the database. Written when the deploy succeeds (commits from the forge's compare).
dora_changes = Table(
    "dora_changes", metadata,
    Column("deployment_id", BigInteger, primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("committed_at", Float),
    Index("ix_dora_changes_sha", "sha"),
)
