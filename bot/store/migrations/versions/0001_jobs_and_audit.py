"""Create the durable job queue and the audit log."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("delivery_key", sa.String(300), nullable=False, unique=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("repo", sa.String(300)),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("run_at", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float),
        sa.Column("leased_by", sa.String(100)),
        sa.Column("progress", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_index("ix_jobs_status_run_at", "jobs", ["status", "run_at"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("delivery_key", sa.String(300)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("repo", sa.String(300)),
        sa.Column("location", sa.String(500)),
        sa.Column("command", sa.Text),
        sa.Column("decision", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_repo_at", "audit_log", ["repo", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("jobs")
