"""Month-end invoicing: a fan-out with ``map`` over the accounts, three at a time.

The input is ``{"period": "2025-01", "accounts": [{"id": "acme", "seats": 3}, ...]}``. Each
account's usage is fetched and an invoice is issued for it (billing issues the number, one
per account and period however often it is asked). A closed account cannot be invoiced: its
item fails, and the batch tolerates any number of such failures, so one bad account does not
hold up the others. Finance gets one summary e-mail at the end. Billing and the mailer may
be down for a while: their steps are retried in rounds an hour apart until they answer.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    CompletionConfig,
    RetryStrategy,
    durable_callable,
    durable_execution,
    get_step_context,
)
from async_durable_execution import map as durable_map

from gallery import services
from gallery.patience import until_done

PRICE_PER_UNIT = 5  # per seat-month of usage

_TRANSIENT = RetryStrategy(max_attempts=6, initial_delay=1)


def retry_unless_closed(error: Exception, attempts_made: int) -> float | None:
    if isinstance(error, services.AccountClosed):
        return None
    return _TRANSIENT(error, attempts_made)


def closed(error: CallableRuntimeError) -> bool:
    return error.error_type == "AccountClosed"


@durable_callable
async def fetch_usage(account: dict[str, Any]) -> int:
    return services.billing.usage(account)


@durable_callable
async def issue_invoice(account_id: str, period: str, amount: int) -> str:
    return services.billing.issue(account_id, period, amount)


@durable_callable
async def email_finance(period: str, invoiced: int, failed: list[str]) -> None:
    key = get_step_context().operation_identifier.operation_id
    subject = f"{period}: {invoiced} invoice(s), failed: {', '.join(failed) or 'none'}"
    services.mailer.send("finance@example.com", subject, idempotency_key=key)


def invoice_account(period: str) -> Any:
    async def one(account: dict[str, Any]) -> dict[str, Any]:
        # Billing may be down for a while: each step is retried in rounds until billing
        # answers (``gallery/patience.py``), except that a closed account stays closed.
        usage = await until_done(
            lambda: fetch_usage(account),
            f"usage-{account['id']}",
            retry_strategy=retry_unless_closed,
            final=closed,
        )
        amount = usage * PRICE_PER_UNIT
        number = await until_done(
            lambda: issue_invoice(account["id"], period, amount), f"invoice-{account['id']}"
        )
        return {"account": account["id"], "invoice": number, "amount": amount}

    return one


@durable_execution
async def month_end(event: dict[str, Any]) -> dict[str, Any]:
    accounts = event["accounts"]
    batch = await durable_map(
        invoice_account(event["period"]),
        accounts,
        name="invoice-accounts",
        max_concurrency=3,
        item_namer=lambda account, _index: account["id"],
        completion_config=CompletionConfig(tolerated_failure_count=len(accounts)),
    )
    invoices = [item.result for item in batch.succeeded()]
    failed = [accounts[item.index]["id"] for item in batch.failed()]
    await until_done(lambda: email_finance(event["period"], len(invoices), failed), "email-finance")
    return {"invoices": invoices, "failed": failed}
