"""Taking money: a payment-provider interface and the sandbox provider that ships (and is the default).

The sandbox is stateless: what happens to a charge is decided by the card number and written into the
charge's reference, and every reference is derived from the caller's idempotency key. So the same key
always gives the same answer, in any process, and a retried call never charges twice.

Test cards (any future expiry, any 3-digit CVC):

    4242 4242 4242 4242  succeeds
    4000 0000 0000 0002  is declined
    4000 0000 0000 0341  is accepted (pending), then fails when it settles
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

SUCCEEDS = "4242424242424242"
DECLINES = "4000000000000002"
FAILS_LATER = "4000000000000341"
SANDBOX = "sandbox"


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"  # accepted, the money is not certain yet: settle() tells
    FAILED = "failed"  # was pending, then failed


@dataclass(frozen=True)
class Card:
    """What the holder typed. Never stored: only the last four digits are kept with the payment."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class Charge:
    ref: str
    status: ChargeStatus
    message: str = ""


@dataclass(frozen=True)
class RefundResult:
    ref: str
    succeeded: bool
    message: str = ""


class PaymentProvider(Protocol):
    """A card processor. Every call carries the caller's idempotency key: the same key, the same result."""

    name: str

    def charge(self, card: Card, amount_minor: int, currency: str, idempotency_key: str) -> Charge: ...

    def settle(self, ref: str) -> Charge:
        """The final state of a charge that was PENDING (a settled one answers its own state)."""
        ...

    def find(self, idempotency_key: str) -> Charge | None:
        """The charge made with this key (its state now), or None if none reached the provider: for a payment
        whose answer was lost on the way back."""
        ...

    def refund(self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str) -> RefundResult: ...

    def find_refund(self, idempotency_key: str) -> RefundResult | None:
        """The refund made with this key, or None if none reached the provider."""
        ...


def _digest(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class SandboxProvider:
    """The development and test provider: no network, no state, test cards decide the outcome."""

    name = SANDBOX

    def charge(self, card: Card, amount_minor: int, currency: str, idempotency_key: str) -> Charge:
        if amount_minor <= 0:
            raise ValueError("a charge must be for a positive amount")
        if card.number == SUCCEEDS:
            return Charge(_digest("sbx_ok", idempotency_key), ChargeStatus.SUCCEEDED)
        if card.number == FAILS_LATER:
            return Charge(_digest("sbx_late", idempotency_key), ChargeStatus.PENDING, "the bank is confirming it")
        if card.number == DECLINES:
            return Charge(_digest("sbx_no", idempotency_key), ChargeStatus.DECLINED, "the card was declined")
        return Charge(
            _digest("sbx_no", idempotency_key),
            ChargeStatus.DECLINED,
            "the sandbox takes only its test cards: 4242 4242 4242 4242 succeeds",
        )

    def settle(self, ref: str) -> Charge:
        if ref.startswith("sbx_late_"):
            return Charge(ref, ChargeStatus.FAILED, "the bank refused the payment after accepting it")
        if ref.startswith("sbx_ok_"):
            return Charge(ref, ChargeStatus.SUCCEEDED)
        return Charge(ref, ChargeStatus.DECLINED, "the card was declined")

    def find(self, idempotency_key: str) -> Charge | None:
        # Stateless, the sandbox keeps no record of the charges it answered: a lost answer counts as never made.
        return None

    def refund(self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str) -> RefundResult:
        if amount_minor <= 0:
            raise ValueError("a refund must be for a positive amount")
        if not charge_ref.startswith("sbx_ok_"):
            return RefundResult(_digest("sbx_re", idempotency_key), False, "only a settled charge can be refunded")
        return RefundResult(_digest("sbx_re", idempotency_key), True)

    def find_refund(self, idempotency_key: str) -> RefundResult | None:
        return None  # stateless, as `find`


PROVIDERS: dict[str, type[SandboxProvider]] = {SANDBOX: SandboxProvider}


def provider_named(name: str) -> PaymentProvider:
    """The provider a config names (`WebConfig.payment_provider`), or the one a stored payment went through."""
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ValueError(f"unknown payment provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


# ---- checking what was typed ------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def read_card(number: str, expiry: str, cvc: str, now: datetime, timezone: str) -> tuple[Card | None, dict[str, str]]:
    """The card from the form's text, or the problems per field (card_number, card_expiry, card_cvc).

    `expiry` is MM/YY or MM/YYYY; a card is good through the last day of its expiry month, in the city's time.
    """
    errors: dict[str, str] = {}
    digits = re.sub(r"[\s-]", "", number)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        errors["card_number"] = "enter the card number (12 to 19 digits)"
    elif not luhn_ok(digits):
        errors["card_number"] = "this card number has a typo (its check digit is wrong)"
    month = year = 0
    found = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry)
    if not found or not 1 <= int(found.group(1)) <= 12:
        errors["card_expiry"] = "enter the expiry as MM/YY"
    else:
        month, year = int(found.group(1)), int(found.group(2))
        year = year + 2000 if year < 100 else year
        today = now.astimezone(ZoneInfo(timezone)).date()
        if (year, month) < (today.year, today.month):
            errors["card_expiry"] = "this card has expired"
    if not re.fullmatch(r"\d{3,4}", cvc.strip()):
        errors["card_cvc"] = "enter the 3 or 4 digits on the back"
    if errors:
        return None, errors
    return Card(digits, month, year, cvc.strip()), {}
