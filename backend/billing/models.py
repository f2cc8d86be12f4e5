"""Orders, payments and refunds. Amounts are integer minor units; every write carries an idempotency key."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.storage.base import Base, UTCDateTime, new_id, string_enum, utc_now


class OrderKind(enum.StrEnum):
    NEW = "new"
    RENEWAL = "renewal"


class OrderStatus(enum.StrEnum):
    PENDING = "pending"  # quoted, not paid yet (or paid and awaiting the provider's answer)
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"


class Order(Base):
    """What a holder asked to buy, priced line by line before paying; the permit exists once it is paid."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[OrderKind] = mapped_column(string_enum(OrderKind))
    type_id: Mapped[str] = mapped_column(ForeignKey("permit_types.id"))
    home_zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    vehicle_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    permit_id: Mapped[str | None] = mapped_column(
        ForeignKey("permits.id", ondelete="SET NULL"), index=True, comment="renewal: the permit; new: once paid"
    )
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime, comment="exclusive")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, comment="the quote, line by line")
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(string_enum(OrderStatus), default=OrderStatus.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.created_at")


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(64), default="", comment="the provider's id for it")
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(string_enum(PaymentStatus))
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    message: Mapped[str] = mapped_column(Text, default="", comment="the provider's reason for a decline")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    order: Mapped[Order] = relationship(back_populates="payments")
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment")


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str] = mapped_column(String(64), default="")
    succeeded: Mapped[bool] = mapped_column(default=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    by_account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    answered_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="when the provider's answer was recorded; NULL while the refund is in flight"
    )

    payment: Mapped[Payment] = relationship(back_populates="refunds")

    @property
    def in_flight(self) -> bool:
        return self.answered_at is None
