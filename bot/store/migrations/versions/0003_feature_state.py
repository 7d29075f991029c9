"""Add the state the features keep: deploys, environment locks, confirmations, test reports, releases, mutexes."""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("sha", sa.String(64)),
        sa.Column("version", sa.String(64)),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("forge_id", sa.String(64)),
        sa.Column("run_url", sa.String(1000)),
        sa.Column("environment_url", sa.String(1000)),
        sa.Column("reply_to", sa.Text),
        sa.Column("chat_message", sa.Text),
        sa.Column("rollback_of", sa.BigInteger),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_index("ix_deployments_repo_env_created", "deployments", ["repo", "environment", "created_at"])
    op.create_index("ix_deployments_forge_id", "deployments", ["repo", "forge_id"])
    op.create_index("ix_deployments_status", "deployments", ["status"])
    op.create_table(
        "active_deploys",  # one deploy at a time per environment: the primary key is the guard
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("deployment_id", sa.BigInteger, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("repo", "environment"),
    )
    op.create_table(
        "locks",
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("owner_reply", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("repo", "environment"),
    )
    op.create_table(
        "confirmations",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float),
        sa.Column("outcome", sa.String(32)),
    )
    op.create_table(
        "test_reports",
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("sha", sa.String(64)),
        sa.Column("observed_at", sa.Float, nullable=False),
        sa.Column("result", sa.String(16)),
        sa.Column("digest", sa.String(64)),
        sa.Column("comment_id", sa.String(64)),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("repo", "number"),
    )
    op.create_table(
        "releases",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha", sa.String(64)),
        sa.Column("url", sa.String(1000)),
        sa.Column("released_by", sa.String(200)),
        sa.Column("prerelease", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("released_at", sa.Float, nullable=False),
        sa.UniqueConstraint("repo", "tag", name="uq_releases_repo_tag"),
    )
    op.create_index("ix_releases_repo_released", "releases", ["repo", "released_at"])
    op.create_table(
        "mutexes",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("mutexes", "releases", "test_reports", "confirmations", "locks", "active_deploys", "deployments"):
        op.drop_table(table)
