"""HNSW graphs with more links: m 24, ef_construction 128 (PostgreSQL)

The HNSW indexes of 0017 were built with pgvector's defaults (m 16, ef_construction 64). At
1,000,000 organisations some nodes of that profile graph were reached by no search (not with
`ef_search` 1,000 and a 5,000-row iterative scan), and profile recall@20 against exact search
was 0.910-0.922 for some query sets (`benchmarks/results/pgvector.md`); on the same queries a
graph of m 24 / ef_construction 128 gave 0.990-0.997 for every filter. This revision rebuilds
every HNSW index built with m 16 / ef_construction 64 with the new parameters (those of
`app.matches.pgvector`, HNSW_M and HNSW_EF_CONSTRUCTION, which new indexes get), each beside
the old one so that reads go on using the old index while writes to its table wait, then
under the same name; indexes built with other parameters are left alone.

How long (`benchmarks/results/pgvector.md`, 2026-12-07): the profile index of 1,000,000
organisations (512 dimensions, halfvec) took 1,757 s (29 minutes) on a shared 2-core machine
(load 6-11, the build at the lowest priority) with `maintenance_work_mem` 6GB and one
parallel worker, where m 16 / ef_construction 64 took 734-1,278 s in earlier builds; 100,000
took 92 s against 44 s. The graph must fit in `maintenance_work_mem` (pgvector says "hnsw graph
no longer fits into maintenance_work_mem" otherwise and goes on many times slower): raise it
for the session that migrates, e.g. `PGOPTIONS='-c maintenance_work_mem=6GB'` at 1,000,000;
the index grows from 1.37 to 1.64 GB there. The competence vectors' index (one node per
distinct label) takes seconds.

On SQLite nothing changes (retrieval runs in process there).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the values of this revision, not the application's current ones
_M, _EF_CONSTRUCTION = 24, 128
_BEFORE = (16, 64)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from app.matches.pgvector import rebuild_indexes

    rebuild_indexes(bind, built_with=_BEFORE, m=_M, ef_construction=_EF_CONSTRUCTION)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from app.matches.pgvector import rebuild_indexes

    rebuild_indexes(bind, built_with=(_M, _EF_CONSTRUCTION), m=_BEFORE[0], ef_construction=_BEFORE[1])
