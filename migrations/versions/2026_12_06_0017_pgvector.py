"""pgvector: competence and profile vectors as halfvec columns with HNSW indexes (PostgreSQL)

The stored float32 bytes stay the source of truth (SQLite and the in-process engine read
them); on PostgreSQL a trigger keeps a `halfvec` copy of them current in the same statement,
whatever writes the bytes (the ORM, a bulk statement, COPY with triggers on), so a committed
write is in the vector columns too. Decoding takes about 1 ms per vector; a competence whose
label is already stored with the same bytes takes that row's vector instead (one lookup on
the label index). `km_f32_to_halfvec` decodes the bytes (little-endian
IEEE 754 float32, as `app.embeddings.to_bytes` writes them on every supported platform)
exactly: float32 values are exact in float8 arithmetic.

HNSW indexes need one dimension per index: they are partial expression indexes per encoder
and dimension (`app.matches.pgvector.ensure_indexes`), created here for the encoders whose
vectors are stored, and by the application for an encoder met later.

On SQLite nothing changes: the in-process index serves the same retrieval interface.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECODE = """
CREATE OR REPLACE FUNCTION km_f32_to_halfvec(b bytea) RETURNS halfvec
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_agg(
      CASE WHEN e = 0 THEN 0::float8
           ELSE (1 - 2 * s) * (1 + m / 8388608.0::float8) * (2::float8 ^ (e - 127)) END
      ORDER BY i)::real[]::halfvec
  FROM (
    SELECT i,
           get_byte(b, 4 * i + 3) >> 7 AS s,
           ((get_byte(b, 4 * i + 3) & 127) << 1) | (get_byte(b, 4 * i + 2) >> 7) AS e,
           ((get_byte(b, 4 * i + 2) & 127) << 16) | (get_byte(b, 4 * i + 1) << 8)
             | get_byte(b, 4 * i) AS m
    FROM generate_series(0, length(b) / 4 - 1) AS i
  ) AS parts
  HAVING count(*) > 0
$$
"""

_TRIGGERS = """
CREATE OR REPLACE FUNCTION km_competence_vec() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  known halfvec;
BEGIN
  IF TG_OP = 'INSERT' OR NEW.embedding IS DISTINCT FROM OLD.embedding THEN
    IF NEW.embedding IS NULL THEN
      NEW.embedding_vec := NULL;
    ELSE
      -- a label is mostly stored with the same vector many times: decode it once
      SELECT c.embedding_vec INTO known FROM competences c
       WHERE c.label = NEW.label AND c.embedding = NEW.embedding
         AND c.embedding_vec IS NOT NULL LIMIT 1;
      NEW.embedding_vec := coalesce(known, km_f32_to_halfvec(NEW.embedding));
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER km_competence_vec BEFORE INSERT OR UPDATE ON competences
  FOR EACH ROW EXECUTE FUNCTION km_competence_vec();
CREATE OR REPLACE FUNCTION km_profile_vec() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.profile_embedding IS DISTINCT FROM OLD.profile_embedding THEN
    NEW.profile_vec := km_f32_to_halfvec(NEW.profile_embedding);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER km_profile_vec BEFORE INSERT OR UPDATE ON organizations
  FOR EACH ROW EXECUTE FUNCTION km_profile_vec();
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(_DECODE)
    op.add_column("competences", sa.Column("embedding_vec", sa.Text(), nullable=True))
    op.add_column("organizations", sa.Column("profile_vec", sa.Text(), nullable=True))
    # alembic has no halfvec type: the columns are retyped in place (empty, so no rewrite)
    op.execute("ALTER TABLE competences ALTER COLUMN embedding_vec TYPE halfvec USING NULL")
    op.execute("ALTER TABLE organizations ALTER COLUMN profile_vec TYPE halfvec USING NULL")
    # each distinct vector decoded once (labels repeat across organisations)
    op.execute(
        "UPDATE competences AS c SET embedding_vec = d.vec "
        "FROM (SELECT embedding, km_f32_to_halfvec(embedding) AS vec FROM competences "
        "WHERE embedding IS NOT NULL GROUP BY embedding) AS d WHERE c.embedding = d.embedding"
    )
    op.execute(
        "UPDATE organizations SET profile_vec = km_f32_to_halfvec(profile_embedding) "
        "WHERE profile_embedding IS NOT NULL"
    )
    op.execute(_TRIGGERS)
    # one HNSW index per stored encoder and dimension (the application's naming)
    from app.matches.pgvector import ensure_indexes

    models = bind.execute(
        sa.text(
            "SELECT DISTINCT embedding_model, vector_dims(embedding_vec) FROM competences "
            "WHERE embedding_vec IS NOT NULL AND embedding_model IS NOT NULL "
            "UNION SELECT DISTINCT embedding_model, vector_dims(profile_vec) FROM organizations "
            "WHERE profile_vec IS NOT NULL AND embedding_model IS NOT NULL"
        )
    ).all()
    for model, dim in {(m, d) for m, d in models}:
        ensure_indexes(bind, model, int(dim))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS km_profile_vec ON organizations")
    op.execute("DROP TRIGGER IF EXISTS km_competence_vec ON competences")
    op.execute("DROP FUNCTION IF EXISTS km_profile_vec()")
    op.execute("DROP FUNCTION IF EXISTS km_competence_vec()")
    # the HNSW indexes go with the columns
    op.drop_column("organizations", "profile_vec")
    op.drop_column("competences", "embedding_vec")
    op.execute("DROP FUNCTION IF EXISTS km_f32_to_halfvec(bytea)")
