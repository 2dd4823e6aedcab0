"""organisations, competences, relationships, nace codes

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('nace_codes',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('parent_code', sa.String(length=8), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('label_de', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['parent_code'], ['nace_codes.code'], name=op.f('fk_nace_codes_parent_code_nace_codes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_nace_codes'))
    )
    with op.batch_alter_table('nace_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nace_codes_parent_code'), ['parent_code'], unique=False)

    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('nace_code', sa.String(length=8), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('founded', sa.Integer(), nullable=True),
    sa.Column('cooperation_interests', sa.JSON(), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('profile_embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("visibility IN ('public', 'members', 'private')", name=op.f('ck_organizations_visibility')),
    sa.CheckConstraint('employees IS NULL OR employees >= 0', name=op.f('ck_organizations_employees_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('external_id', name=op.f('uq_organizations_external_id'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organizations_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_nace_code'), ['nace_code'], unique=False)

    op.create_table('competences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=200), nullable=True),
    sa.CheckConstraint("kind IN ('core', 'complementary', 'peripheral')", name=op.f('ck_competences_kind')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_competences_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competences'))
    )
    with op.batch_alter_table('competences', schema=None) as batch_op:
        batch_op.create_index('ix_competences_label', ['label'], unique=False)
        batch_op.create_index(batch_op.f('ix_competences_organization_id'), ['organization_id'], unique=False)

    op.create_table('relationships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('related_organization_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('revenue_share', sa.Float(), nullable=True),
    sa.CheckConstraint("type IN ('customer', 'supplier', 'partner')", name=op.f('ck_relationships_type')),
    sa.CheckConstraint('revenue_share IS NULL OR (revenue_share >= 0 AND revenue_share <= 1)', name=op.f('ck_relationships_revenue_share_range')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_relationships_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['related_organization_id'], ['organizations.id'], name=op.f('fk_relationships_related_organization_id_organizations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relationships'))
    )
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relationships_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relationships_related_organization_id'), ['related_organization_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('relationships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relationships_related_organization_id'))
        batch_op.drop_index(batch_op.f('ix_relationships_organization_id'))

    op.drop_table('relationships')
    with op.batch_alter_table('competences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competences_organization_id'))
        batch_op.drop_index('ix_competences_label')

    op.drop_table('competences')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_nace_code'))
        batch_op.drop_index(batch_op.f('ix_organizations_country'))

    op.drop_table('organizations')
    with op.batch_alter_table('nace_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nace_codes_parent_code'))

    op.drop_table('nace_codes')
