"""Fake partner services for the gallery's workflows: what the handlers call, and what the
tests inspect afterwards.

Like real partners, they issue their own ids, accept an idempotency key where real APIs do,
and refuse what makes no sense (capturing a voided payment). ``reset()`` is a fresh
deployment of all of them: pass it as ``before_run=`` so every run starts from the same world.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


class PaymentDeclined(Exception):
    """The card issuer said no."""


class SoldOut(Exception):
    """Nothing left to book."""


class AccountClosed(Exception):
    """The account no longer exists: there is nothing to invoice."""


@dataclass
class Payments:
    """A card processor: authorize (idempotent by key), then capture or void."""

    authorizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def authorize(self, customer: str, amount: int, *, idempotency_key: str) -> str:
        if idempotency_key in self.by_key:
            return self.by_key[idempotency_key]
        if customer.startswith("blocked"):
            msg = f"card of {customer} declined"
            raise PaymentDeclined(msg)
        authorization = f"auth-{next(self.ids)}"
        self.authorizations[authorization] = {"amount": amount, "state": "authorized"}
        self.by_key[idempotency_key] = authorization
        return authorization

    def capture(self, authorization: str) -> dict[str, Any]:
        record = self.authorizations[authorization]
        if record["state"] == "voided":
            msg = f"{authorization} was voided"
            raise ValueError(msg)
        record["state"] = "captured"  # capturing twice is capturing once
        return {"authorization": authorization, "captured": record["amount"]}

    def void(self, authorization: str) -> None:
        record = self.authorizations[authorization]
        if record["state"] == "captured":
            msg = f"{authorization} was captured"
            raise ValueError(msg)
        record["state"] = "voided"

    def in_state(self, state: str) -> list[str]:
        return [a for a, r in self.authorizations.items() if r["state"] == state]


@dataclass
class Inbox:
    """Where requests for a person land: the latest callback id per subject."""

    requests: dict[str, str] = field(default_factory=dict)

    def ask(self, subject: str, callback_id: str) -> None:
        self.requests[subject] = callback_id


@dataclass
class Mailer:
    """E-mail with an idempotency key, as transactional e-mail APIs offer."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    def send(self, to: str, subject: str, *, idempotency_key: str) -> None:
        if idempotency_key in self.keys:
            return
        self.keys.add(idempotency_key)
        self.sent.append((to, subject))


@dataclass
class Billing:
    """Issues invoice numbers, one per (account, period) however often it is asked."""

    issued: dict[tuple[str, str], str] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1001))

    def usage(self, account: dict[str, Any]) -> int:
        if account.get("closed"):
            msg = f"account {account['id']} is closed"
            raise AccountClosed(msg)
        return int(account["seats"]) * 12

    def issue(self, account_id: str, period: str, amount: int) -> str:
        key = (account_id, period)
        if key not in self.issued:
            self.issued[key] = f"INV-{next(self.ids)}-{amount}"
        return self.issued[key]


@dataclass
class Reservations:
    """An airline, a hotel chain and a car rental behind one API: book (idempotent by
    reference), cancel (idempotent)."""

    held: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_reference: dict[str, str] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(501))

    def book(self, kind: str, reference: str, what: str) -> str:
        key = f"{kind}:{reference}"
        if key in self.by_reference:
            return self.by_reference[key]
        if what.startswith("sold-out"):
            msg = f"no {kind} left for {what}"
            raise SoldOut(msg)
        confirmation = f"{kind[:1].upper()}{next(self.ids)}"
        self.held[confirmation] = {"kind": kind, "reference": reference, "state": "held"}
        self.by_reference[key] = confirmation
        return confirmation

    def cancel(self, confirmation: str) -> None:
        self.held[confirmation]["state"] = "cancelled"

    def holding(self, reference: str) -> list[str]:
        return sorted(
            c for c, r in self.held.items() if r["reference"] == reference and r["state"] == "held"
        )


payments = Payments()
approvals = Inbox()
mailer = Mailer()
billing = Billing()
reservations = Reservations()


def reset() -> None:
    """A fresh deployment of every partner."""
    global payments, approvals, mailer, billing, reservations  # noqa: PLW0603 - the fakes' state
    payments = Payments()
    approvals = Inbox()
    mailer = Mailer()
    billing = Billing()
    reservations = Reservations()
