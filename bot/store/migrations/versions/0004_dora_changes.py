"""Add the commits each successful production deploy shipped, with their times, for DORA lead time."""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dora_changes",
        sa.Column("deployment_id", sa.BigInteger, nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("committed_at", sa.Float),
        sa.PrimaryKeyConstraint("deployment_id", "sha"),
    )
    op.create_index("ix_dora_changes_sha", "dora_changes", ["sha"])


def downgrade() -> None:
    op.drop_table("dora_changes")
