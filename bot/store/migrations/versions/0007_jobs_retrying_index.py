"""Index the jobs waiting for a retry, and only those.

/metrics counts them at every scrape. Through (status, repo, run_at) that read every waiting job's
row for its attempts, ~100 ms with 65,000 deliveries waiting after a flood, while the worker's
claims queued behind it. A partial index holds only the jobs that have failed and wait; a new
delivery (attempts 0) never writes to it.

Building it reads the jobs table once, and writers wait meanwhile. `shipbot migrate` took 0.75 s
(0.32 s with nothing to do) on a SQLite store of 300,000 deliveries, 1.3 GB, whose file was in memory; read
from disk, it takes as long as reading the file. On a large store, migrate while deliveries are few
(GitHub gives up on a delivery after 10 s).
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RETRYING = "status = 'pending' AND attempts > 0"


def upgrade() -> None:
    op.create_index("ix_jobs_retrying", "jobs", ["status", "attempts"], sqlite_where=sa.text(RETRYING),
                    postgresql_where=sa.text(RETRYING))


def downgrade() -> None:
    op.drop_index("ix_jobs_retrying", table_name="jobs")
