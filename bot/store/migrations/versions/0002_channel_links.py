"""Remember which Slack channels are linked to which repositories."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_links",
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("repo", sa.String(300), nullable=False),
        sa.Column("linked_by", sa.String(200)),
        sa.Column("at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("channel", "repo"),
    )


def downgrade() -> None:
    op.drop_table("channel_links")
