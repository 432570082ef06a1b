"""the JSON API: integration tokens, their webhooks and each webhook delivery

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 02:00:00

api_tokens: an integration's access, scoped to a unit, acting as its own service account (users row);
only the SHA-256 of the token is stored. webhooks: the URLs an integration registered, with the
HMAC key sealed. webhook_deliveries: one status change for one webhook, tied to the outbox item that
sends it (its attempts and last error are the outbox's).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_api_tokens_unit_id_units')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_api_tokens_revoked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
        sa.UniqueConstraint('user_id', name=op.f('uq_api_tokens_user_id')),
    )
    op.create_index(op.f('ix_api_tokens_unit_id'), 'api_tokens', ['unit_id'], unique=False)
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_webhooks_token_id_api_tokens')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_webhooks_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    op.create_index(op.f('ix_webhooks_token_id'), 'webhooks', ['token_id'], unique=False)
    op.create_index(op.f('ix_webhooks_unit_id'), 'webhooks', ['unit_id'], unique=False)
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=60), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_webhook_deliveries_outbox_id_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint('outbox_id', name=op.f('uq_webhook_deliveries_outbox_id')),
    )
    op.create_index(op.f('ix_webhook_deliveries_webhook_id'), 'webhook_deliveries', ['webhook_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_webhook_deliveries_webhook_id'), table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index(op.f('ix_webhooks_unit_id'), table_name='webhooks')
    op.drop_index(op.f('ix_webhooks_token_id'), table_name='webhooks')
    op.drop_table('webhooks')
    op.drop_index(op.f('ix_api_tokens_unit_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
