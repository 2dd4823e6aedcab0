"""pgvector: distinct competence vectors and profile vectors as halfvec, HNSW indexes (PostgreSQL)

The stored float32 bytes stay the source of truth (SQLite and the in-process engine read
them). On PostgreSQL, triggers keep a `halfvec` copy current in the same statement, whatever
writes the bytes (the ORM, a bulk statement, COPY with triggers on), so a committed write is
in the vector columns too:
- a competence points to its vector in `competence_vectors`, one row per distinct vector of an
  encoder (found by the SHA-256 of the bytes). Labels repeat: 10,000 organisations carry
  about 60,000 competences but about 900 distinct label vectors. An HNSW graph over repeated
  vectors falls apart into cliques of equal points that a search cannot reach, and stores
  every copy; over the distinct ones it is small and whole, and retrieval joins the rows;
- an organisation's profile vector is its own (`organizations.profile_vec`).
`km_f32_to_halfvec` decodes the bytes (little-endian IEEE 754 float32, as
`app.embeddings.to_bytes` writes them on every supported platform) exactly, in about 1 ms per
vector: once per distinct competence vector, once per profile write.

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
CREATE OR REPLACE FUNCTION km_competence_vector() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  key bytea;
  found_id integer;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.embedding IS NOT DISTINCT FROM OLD.embedding
     AND NEW.embedding_model IS NOT DISTINCT FROM OLD.embedding_model THEN
    RETURN NEW;
  END IF;
  IF NEW.embedding IS NULL OR NEW.embedding_model IS NULL THEN
    NEW.vector_id := NULL;
    RETURN NEW;
  END IF;
  key := sha256(NEW.embedding);
  SELECT id INTO found_id FROM competence_vectors
   WHERE embedding_model = NEW.embedding_model AND digest = key;
  IF found_id IS NULL THEN
    INSERT INTO competence_vectors (embedding_model, digest, vec)
    VALUES (NEW.embedding_model, key, km_f32_to_halfvec(NEW.embedding))
    ON CONFLICT (embedding_model, digest) DO NOTHING RETURNING id INTO found_id;
    IF found_id IS NULL THEN  -- written meanwhile by a concurrent transaction
      SELECT id INTO found_id FROM competence_vectors
       WHERE embedding_model = NEW.embedding_model AND digest = key;
    END IF;
  END IF;
  NEW.vector_id := found_id;
  RETURN NEW;
END $$;
CREATE TRIGGER km_competence_vector BEFORE INSERT OR UPDATE ON competences
  FOR EACH ROW EXECUTE FUNCTION km_competence_vector();
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
    op.create_table(
        "competence_vectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("embedding_model", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("vec", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competence_vectors")),
        sa.UniqueConstraint(
            "embedding_model", "digest", name=op.f("uq_competence_vectors_embedding_model")
        ),
    )
    # alembic has no halfvec type: the columns are retyped while empty
    op.execute("ALTER TABLE competence_vectors ALTER COLUMN vec TYPE halfvec USING NULL")
    op.add_column("competences", sa.Column("vector_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_competences_vector_id_competence_vectors"),
        "competences",
        "competence_vectors",
        ["vector_id"],
        ["id"],
    )
    op.create_index(op.f("ix_competences_vector_id"), "competences", ["vector_id"])
    op.add_column("organizations", sa.Column("profile_vec", sa.Text(), nullable=True))
    op.execute("ALTER TABLE organizations ALTER COLUMN profile_vec TYPE halfvec USING NULL")
    # each distinct vector decoded once
    op.execute(
        "INSERT INTO competence_vectors (embedding_model, digest, vec) "
        "SELECT embedding_model, sha256(embedding), km_f32_to_halfvec(embedding) "
        "FROM competences WHERE embedding IS NOT NULL AND embedding_model IS NOT NULL "
        "GROUP BY embedding_model, embedding"
    )
    op.execute(
        "UPDATE competences AS c SET vector_id = v.id FROM competence_vectors AS v "
        "WHERE c.embedding IS NOT NULL AND v.embedding_model = c.embedding_model "
        "AND v.digest = sha256(c.embedding)"
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
            "SELECT DISTINCT embedding_model, vector_dims(vec) FROM competence_vectors "
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
    op.execute("DROP TRIGGER IF EXISTS km_competence_vector ON competences")
    op.execute("DROP FUNCTION IF EXISTS km_profile_vec()")
    op.execute("DROP FUNCTION IF EXISTS km_competence_vector()")
    # the HNSW indexes go with their columns
    op.drop_column("organizations", "profile_vec")
    op.drop_index(op.f("ix_competences_vector_id"), table_name="competences")
    op.drop_constraint(
        op.f("fk_competences_vector_id_competence_vectors"), "competences", type_="foreignkey"
    )
    op.drop_column("competences", "vector_id")
    op.drop_table("competence_vectors")
    op.execute("DROP FUNCTION IF EXISTS km_f32_to_halfvec(bytea)")
