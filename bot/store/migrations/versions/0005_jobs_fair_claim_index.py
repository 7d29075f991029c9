"""Index jobs by (status, repo, run_at): the fair claim counts and picks waiting jobs per repository
from the index alone instead of reading every row (done ones and their payloads included)."""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_repo_run_at", "jobs", ["status", "repo", "run_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_repo_run_at", table_name="jobs")
