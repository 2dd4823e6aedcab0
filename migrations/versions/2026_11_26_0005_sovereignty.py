"""data sovereignty: disclosure, contacts, cooperation requests, audit log, label synonyms

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competence_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("canonical", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competence_synonyms")),
        sa.UniqueConstraint("key", name=op.f("uq_competence_synonyms_key")),
    )
    with op.batch_alter_table("competence_synonyms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competence_synonyms_canonical"), ["canonical"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("request", sa.String(length=500), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_actor_user_id"), ["actor_user_id"], unique=False
        )
        batch_op.create_index("ix_audit_log_entity", ["entity", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "cooperation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_organization_id", sa.Integer(), nullable=False),
        sa.Column("to_organization_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sender_user_id", sa.Integer(), nullable=True),
        sa.Column("responder_user_id", sa.Integer(), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('talks_started', 'agreement_reached', 'no_fit')",
            name=op.f("ck_cooperation_requests_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'withdrawn')",
            name=op.f("ck_cooperation_requests_status"),
        ),
        sa.CheckConstraint(
            "from_organization_id <> to_organization_id",
            name=op.f("ck_cooperation_requests_not_self"),
        ),
        sa.ForeignKeyConstraint(
            ["from_organization_id"],
            ["organizations.id"],
            name=op.f("fk_cooperation_requests_from_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["responder_user_id"],
            ["users.id"],
            name=op.f("fk_cooperation_requests_responder_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"],
            ["users.id"],
            name=op.f("fk_cooperation_requests_sender_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_organization_id"],
            ["organizations.id"],
            name=op.f("fk_cooperation_requests_to_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_requests")),
    )
    with op.batch_alter_table("cooperation_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cooperation_requests_from_organization_id"),
            ["from_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_cooperation_requests_pair",
            ["from_organization_id", "to_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_cooperation_requests_open",
            ["from_organization_id", "to_organization_id", "type"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_cooperation_requests_to_organization_id"),
            ["to_organization_id"],
            unique=False,
        )

    op.create_table(
        "cooperation_request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_cooperation_request_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["cooperation_requests.id"],
            name=op.f("fk_cooperation_request_events_request_id_cooperation_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_request_events")),
    )
    with op.batch_alter_table("cooperation_request_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cooperation_request_events_request_id"), ["request_id"], unique=False
        )

    # erasure removes an attendee's address and keeps the seat
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=True)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disclosure", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column(
                "hide_from_competitors", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=50), nullable=True))


def downgrade() -> None:
    op.execute(
        "UPDATE event_people SET email = 'erased-' || id || '@erased.invalid' WHERE email IS NULL"
    )
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=320), nullable=False)
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_name")
        batch_op.drop_column("hide_from_competitors")
        batch_op.drop_column("disclosure")

    with op.batch_alter_table("cooperation_request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperation_request_events_request_id"))

    op.drop_table("cooperation_request_events")
    with op.batch_alter_table("cooperation_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperation_requests_to_organization_id"))
        batch_op.drop_index("uq_cooperation_requests_open")
        batch_op.drop_index("ix_cooperation_requests_pair")
        batch_op.drop_index(batch_op.f("ix_cooperation_requests_from_organization_id"))

    op.drop_table("cooperation_requests")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_organization_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index("ix_audit_log_entity")
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_user_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("competence_synonyms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competence_synonyms_canonical"))

    op.drop_table("competence_synonyms")
