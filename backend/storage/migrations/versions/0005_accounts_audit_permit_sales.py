"""accounts, sessions, audit log, permit types for sale, waitlist

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:45:23.745049
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.storage.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False, comment="lower case"),
        sa.Column("password_hash", sa.String(length=256), nullable=False, comment="argon2id, with its parameters"),
        sa.Column(
            "role",
            sa.Enum("holder", "officer", "supervisor", "admin", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("full_name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("address_zone_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", backend.storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["address_zone_id"], ["zones.id"], name=op.f("fk_accounts_address_zone_id_zones"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True, comment="null: the system"),
        sa.Column("action", sa.String(length=64), nullable=False, comment="e.g. permit.revoke, plate.lookup"),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], name=op.f("fk_audit_log_actor_id_accounts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_action", ["action", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_target_id"), ["target_id"], unique=False)

    op.create_table(
        "citations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False, comment="printed on the citation"),
        sa.Column("read_id", sa.String(length=64), nullable=True),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column(
            "reason", sa.Text(), nullable=False, comment="the verdict's sentence, as the supervisor confirmed it"
        ),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=True),
        sa.Column("observed_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["accounts.id"], name=op.f("fk_citations_issued_by_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["read_id"], ["reads.id"], name=op.f("fk_citations_read_id_reads"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citations")),
        sa.UniqueConstraint("number", name=op.f("uq_citations_number")),
        sa.UniqueConstraint("read_id", name=op.f("uq_citations_read_id")),
    )
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citations_plate"), ["plate"], unique=False)

    op.create_table(
        "password_resets",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", backend.storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_password_resets_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_password_resets")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_account_id"), ["account_id"], unique=False)

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("read_id", sa.String(length=64), nullable=False),
        sa.Column(
            "decision", sa.Enum("accepted", "rejected", name="decision", native_enum=False, length=16), nullable=False
        ),
        sa.Column("reason_code", sa.String(length=32), nullable=False, comment="rejections: from the configured list"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name=op.f("fk_review_decisions_decided_by_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["read_id"], ["reads.id"], name=op.f("fk_review_decisions_read_id_reads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
        sa.UniqueConstraint("read_id", name=op.f("uq_review_decisions_read_id")),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decisions_decided_at"), ["decided_at"], unique=False)

    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=36), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("joined_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "accepted",
                "expired",
                "cancelled",
                name="waitliststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("offered_at", backend.storage.base.UTCDateTime(), nullable=True),
        sa.Column("offer_expires_at", backend.storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_waitlist_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["type_id"], ["permit_types.id"], name=op.f("fk_waitlist_type_id_permit_types"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_waitlist_zone_id_zones"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_type_id"), ["type_id"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column(
            "csrf_token", sa.String(length=64), nullable=False, comment="every form and unsafe API call must echo it"
        ),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_web_sessions_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.Enum("new", "renewal", name="orderkind", native_enum=False, length=16), nullable=False),
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("home_zone_id", sa.String(length=36), nullable=True),
        sa.Column("vehicle_ids", sa.JSON(), nullable=False),
        sa.Column("permit_id", sa.String(length=36), nullable=True, comment="renewal: the permit; new: once paid"),
        sa.Column("period_start", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("period_end", backend.storage.base.UTCDateTime(), nullable=False, comment="exclusive"),
        sa.Column("lines", sa.JSON(), nullable=False, comment="the quote, line by line"),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "paid", "failed", "cancelled", "refunded", name="orderstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.Column("paid_at", backend.storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_orders_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["home_zone_id"], ["zones.id"], name=op.f("fk_orders_home_zone_id_zones"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["permit_id"], ["permits.id"], name=op.f("fk_orders_permit_id_permits"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["type_id"], ["permit_types.id"], name=op.f("fk_orders_type_id_permit_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_orders_idempotency_key")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_permit_id"), ["permit_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_ref", sa.String(length=64), nullable=False, comment="the provider's id for it"),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "succeeded", "declined", "failed", name="paymentstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("message", sa.Text(), nullable=False, comment="the provider's reason for a decline"),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payments_idempotency_key")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("provider_ref", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("by_account_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", backend.storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_account_id"], ["accounts.id"], name=op.f("fk_refunds_by_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refunds_idempotency_key")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)

    # Existing permit types get the defaults of a free, monthly, not-capped type.
    with op.batch_alter_table("permit_types", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("price_minor", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"))
        batch_op.add_column(
            sa.Column(
                "validity",
                sa.Enum("fixed", "months", "rolling", name="validity", native_enum=False, length=16),
                nullable=False,
                server_default="months",
            )
        )
        batch_op.add_column(
            sa.Column("months", sa.Integer(), nullable=True, comment="validity MONTHS: how many calendar months")
        )
        batch_op.add_column(sa.Column("days", sa.Integer(), nullable=True, comment="validity ROLLING: how many days"))
        batch_op.add_column(
            sa.Column("fixed_start", sa.Date(), nullable=True, comment="validity FIXED: first day, local")
        )
        batch_op.add_column(
            sa.Column("fixed_end", sa.Date(), nullable=True, comment="validity FIXED: last day, local, inclusive")
        )
        batch_op.add_column(
            sa.Column(
                "proration",
                sa.Enum("none", "daily", "monthly", name="proration", native_enum=False, length=16),
                nullable=False,
                server_default="none",
            )
        )
        batch_op.add_column(sa.Column("eligible_roles", sa.JSON(), nullable=False, server_default='["holder"]'))
        batch_op.add_column(sa.Column("residents_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column("cap_per_zone", sa.Integer(), nullable=True, comment="live permits per home zone; full: waitlist")
        )
        batch_op.add_column(sa.Column("max_vehicles", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column(
                "renew_days_before",
                sa.Integer(),
                nullable=False,
                server_default="30",
                comment="renewal opens (and is reminded) this early",
            )
        )
        batch_op.add_column(sa.Column("on_sale", sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column(
                "home_zone_id", sa.String(length=36), nullable=True, comment="the zone whose cap it counts against"
            )
        )
        batch_op.add_column(
            sa.Column(
                "reminder_sent_at", backend.storage.base.UTCDateTime(), nullable=True, comment="renewal reminder mailed"
            )
        )
        batch_op.create_index(batch_op.f("ix_permits_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index("ix_permits_holder_name", ["holder_name"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_permits_holder_id_accounts"), "accounts", ["holder_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_permits_home_zone_id_zones"), "zones", ["home_zone_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_id", sa.String(length=36), nullable=True, comment="the holder who registered it")
        )
        batch_op.create_index(batch_op.f("ix_vehicles_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_vehicles_owner_id_accounts"), "accounts", ["owner_id"], ["id"], ondelete="SET NULL"
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_vehicles_owner_id_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_vehicles_owner_id"))
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_permits_home_zone_id_zones"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_permits_holder_id_accounts"), type_="foreignkey")
        batch_op.drop_index("ix_permits_holder_name")
        batch_op.drop_index(batch_op.f("ix_permits_holder_id"))
        batch_op.drop_column("reminder_sent_at")
        batch_op.drop_column("home_zone_id")
        batch_op.drop_column("holder_id")

    with op.batch_alter_table("permit_types", schema=None) as batch_op:
        batch_op.drop_column("on_sale")
        batch_op.drop_column("renew_days_before")
        batch_op.drop_column("max_vehicles")
        batch_op.drop_column("cap_per_zone")
        batch_op.drop_column("residents_only")
        batch_op.drop_column("eligible_roles")
        batch_op.drop_column("proration")
        batch_op.drop_column("fixed_end")
        batch_op.drop_column("fixed_start")
        batch_op.drop_column("days")
        batch_op.drop_column("months")
        batch_op.drop_column("validity")
        batch_op.drop_column("currency")
        batch_op.drop_column("price_minor")
        batch_op.drop_column("description")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))

    op.drop_table("payments")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_permit_id"))
        batch_op.drop_index(batch_op.f("ix_orders_account_id"))

    op.drop_table("orders")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_account_id"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_type_id"))
        batch_op.drop_index(batch_op.f("ix_waitlist_account_id"))

    op.drop_table("waitlist")
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decisions_decided_at"))

    op.drop_table("review_decisions")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_account_id"))

    op.drop_table("password_resets")
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citations_plate"))

    op.drop_table("citations")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))
        batch_op.drop_index("ix_audit_log_action")

    op.drop_table("audit_log")
    op.drop_table("accounts")
    # ### end Alembic commands ###
