"""Seed a gateway's store with quote-to-cash history for the operations console.

Writes, through the flow's store API (``SqlTransactionStore.load``: the same rows
``create`` and ``apply`` write, a chunk per database transaction), N transactions
accepted over the last D days with their timelines, canonical events and SLA
milestones, and M open or assigned exceptions routed by the default policy, plus
exceptions resolved or dismissed earlier and a share of dead letters. Deterministic
for a given ``--seed``.

    # the embedded default's SQLite file under a home folder
    Q2C_HOME=/tmp/console-home .venv/bin/python bench/seed_console.py
    # a PostgreSQL database (brought to the current schema first)
    .venv/bin/python bench/seed_console.py --database-url postgresql://postgres@127.0.0.1/q2c_console

Defaults: 10,000 transactions, 1,000 open exceptions, tenant ``sandbox``, 30 days.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domains.ids import derived_id  # noqa: E402
from domains.quote_to_cash import events as ev  # noqa: E402
from domains.quote_to_cash.clock import rfc3339  # noqa: E402
from domains.quote_to_cash.config import FlowPolicy  # noqa: E402
from domains.quote_to_cash.ports import CanonicalEvent, TransactionChange  # noqa: E402
from domains.quote_to_cash.records import (  # noqa: E402
    ActionEntry,
    Comment,
    ExceptionItem,
    Finding,
    StepEntry,
    Transaction,
)
from gateway.flow.store import SqlTransactionStore  # noqa: E402
from gateway.stores.sql import migrate  # noqa: E402
from gateway.stores.sql.config import embedded_url  # noqa: E402
from gateway.stores.sql.engine import Database  # noqa: E402

CHUNK = 250
ENTITIES = (("ACME-US", "USD", "sap_s4hana"), ("ACME-UK", "GBP", "netsuite"),
            ("ACME-EU", "EUR", "sap_s4hana"), ("ACME-JP", "JPY", "sap_s4hana"))  # fmt: skip
# Open exceptions by (class, code, step, finding check), weighted.
STOPS = (
    ("price_mismatch", "LINE_PRICE_MISMATCH", "validate", "price", 40),
    ("credit_hold", "CREDIT_HOLD", "validate", "credit", 25),
    ("data_quality", "CUSTOMER_INCOMPLETE", "validate", "customer_master", 15),
    ("data_quality", "UNMAPPED_PRODUCT", "validate", "product_mapping", 8),
    ("validation", "NO_ROUTE", "validate", "routing", 4),
    ("dependency_unavailable", "DEPENDENCY_UNAVAILABLE", "submit_order", "", 8),
)
OPERATORS = ("priya", "carl", "ada", "ops-bot")


@dataclass
class Plan:
    tenant: str
    transactions: int
    open_exceptions: int
    days: int
    seed: int


class Timeline:
    """One transaction's steps as the workflow records them: a timeline entry, the
    transaction's new fields, its events and perhaps an exception per change."""

    def __init__(self, seeder: Seeder, txid: str, trace: str, start: datetime) -> None:
        self.seeder = seeder
        self.txid = txid
        self.trace = trace
        self.clock = start
        self.occurrence = 0
        self.changes: list[TransactionChange] = []

    def step(
        self,
        name: Any,
        system: str,
        seconds: float,
        *,
        ids: dict[str, str] | None = None,
        fields: dict[str, Any] | None = None,
        events: tuple[tuple[str, str, dict[str, Any]], ...] = (),
        state: Any = None,
        status: Any = "succeeded",
        detail: str = "",
        error: dict[str, Any] | None = None,
        exception: ExceptionItem | None = None,
        attempts: int = 1,
        stamp: str = "",
    ) -> str:
        """Append the step; ``stamp`` names a field that gets the step's end time."""
        seeder, tenant = self.seeder, self.seeder.plan.tenant
        self.occurrence += 1
        started = seeder.stamp(self.clock)
        self.clock += timedelta(seconds=seconds)
        ended = seeder.stamp(self.clock)
        emitted = [
            CanonicalEvent(
                id=derived_id("event", tenant, self.txid, kind, subject, str(self.occurrence)),
                type=kind, tenant=tenant, transaction_id=self.txid, subject=subject,
                time=ended, data={"transaction_id": self.txid, **data},
                traceparent=f"00-{self.trace}-{seeder.random.getrandbits(64):016x}-01",
            )
            for kind, subject, data in events
        ]  # fmt: skip
        values = {"entry_key": f"{self.occurrence}:{name}", "updated_at": ended, **(fields or {})}
        if stamp:
            values[stamp] = ended
        self.changes.append(TransactionChange(
            tenant=tenant, transaction_id=self.txid,
            entry=StepEntry(step=name, status=status, system=system, system_ids=ids or {},
                            attempts=attempts, started_at=started, ended_at=ended,
                            detail=detail, error=error),
            state=state, fields=values, events=emitted, exception=exception,
        ))  # fmt: skip
        return ended

    def finish_in(self, state: str) -> None:
        """The transaction waits in ``state`` after its last step."""
        last = self.changes[-1]
        self.changes[-1] = TransactionChange(
            tenant=last.tenant, transaction_id=last.transaction_id, entry=last.entry,
            state=state, fields=last.fields, events=last.events,  # type: ignore[arg-type]
            exception=last.exception,
        )  # fmt: skip

    @property
    def past_now(self) -> bool:
        return self.clock >= self.seeder.now


class Seeder:
    def __init__(self, plan: Plan, policy: FlowPolicy) -> None:
        self.plan = plan
        self.policy = policy
        self.random = random.Random(plan.seed)
        self.now = datetime.now(UTC).replace(microsecond=0)

    def stamp(self, moment: datetime) -> str:
        return rfc3339(min(moment, self.now))

    def build(self, index: int, stop: bool) -> tuple[Transaction, list[TransactionChange]]:
        rnd, tenant = self.random, self.plan.tenant
        accepted = self.now - timedelta(seconds=rnd.uniform(0, self.plan.days * 86400))
        quote_id = derived_id("quote", tenant, f"seed-{self.plan.seed}-{index}")
        txid = derived_id("transaction", tenant, quote_id)
        trace = f"{rnd.getrandbits(128):032x}"
        record = Transaction(
            id=txid, tenant=tenant, quote_id=quote_id, state="accepted", source="api",
            trace_id=trace, accepted_at=self.stamp(accepted), updated_at=self.stamp(accepted),
        )  # fmt: skip
        line = Timeline(self, txid, trace, accepted)
        line.step("accepted", "salesforce", 0.05, state="running",
                  events=((ev.QUOTE_ACCEPTED, quote_id, {"quote_id": quote_id,
                                                         "source": "api"}),))  # fmt: skip
        deal = Deal(index, rnd)
        if stop:
            self.stop(line, deal)
        else:
            self.to_cash(line, deal, quote_id)
        return record, line.changes

    def to_cash(self, line: Timeline, deal: Deal, quote_id: str) -> None:
        rnd, tenant, txid = self.random, self.plan.tenant, line.txid
        touched = rnd.random() < 0.08
        if touched:  # a person approved a price first: fallout, then a retry
            line.step("validate", "salesforce", rnd.uniform(0.3, 2), status="failed",
                      state="exception", fields={"stage": "validate"},
                      error={"class": "price_mismatch", "code": "LINE_PRICE_MISMATCH",
                             "detail": "approved later", "system": "salesforce"},
                      exception=self.closed(line, deal))  # fmt: skip
            line.clock += timedelta(seconds=rnd.lognormvariate(8.5, 1.0))
        line.step("validate", "salesforce", rnd.uniform(0.3, 2.5),
                  fields={"customer_id": deal.customer, "legal_entity": deal.entity,
                          "stage": "erp_customer", "manual_touches": int(touched)},
                  events=((ev.CUSTOMER_VALIDATED, deal.customer, {
                      "customer_id": deal.customer, "legal_entity": deal.entity,
                      "payment_terms": "NET30", "quote_total": str(deal.amount),
                      "currency": deal.currency}),),
                  detail="all checks passed; terms NET30, invoice on acceptance")  # fmt: skip
        line.step("erp_customer", deal.erp, rnd.uniform(0.2, 2), ids={"customer": deal.account},
                  fields={"stage": "submit_order", "owner_system": deal.erp})  # fmt: skip
        order_id = derived_id("order", tenant, txid)
        order_number = str(4_000_000 + deal.index)
        slow = rnd.random() < 0.06  # an ERP backlog: accepted -> order misses its target
        line.step(
            "submit_order", deal.erp,
            rnd.uniform(320, 1800) if slow else rnd.lognormvariate(2.5, 0.8),
            ids={"order": order_number, "customer": deal.account},
            attempts=rnd.choice((2, 3)) if slow else 1, stamp="ordered_at",
            fields={"order_id": order_id, "order_system": deal.erp,
                    "order_system_id": order_number, "stage": "invoice",
                    "owner_system": deal.erp},
            events=((ev.ORDER_ACCEPTED, order_id, {
                "order_id": order_id, "system": deal.erp, "system_id": order_number,
                "quote_id": quote_id, "customer_id": deal.customer}),),
        )  # fmt: skip
        if line.past_now:
            return
        invoice_id = derived_id("invoice", tenant, order_id)
        invoice_number = f"in_seed{deal.index:08d}"
        line.step(
            "invoice", "stripe", rnd.lognormvariate(7.5, 1.4), stamp="invoiced_at",
            ids={"invoice": invoice_number, "tax_document": f"TX-{deal.index:07d}"},
            fields={"invoice_id": invoice_id, "invoice_system_id": invoice_number,
                    "stage": "payment", "owner_system": "stripe"},
            events=((ev.INVOICE_GENERATED, invoice_id, {
                "invoice_id": invoice_id, "order_id": order_id,
                "number": f"INV-{deal.index:06d}", "total": str(deal.amount),
                "currency": deal.currency, "due_date": None, "system": "stripe"}),),
        )  # fmt: skip
        line.step("write_back", "salesforce", 0.3, ids={"quote": deal.crm_quote},
                  detail=f"invoiced: order {order_number}, invoice INV-{deal.index:06d}")
        if line.past_now:
            line.finish_in("awaiting_payment")
            return
        wait = rnd.lognormvariate(13.2, 0.7)  # mostly within 30 days, some later
        if line.clock + timedelta(seconds=wait) >= self.now:
            line.finish_in("awaiting_payment")
            return
        payment_id = derived_id("payment", tenant, invoice_id)
        line.step("payment", "stripe", wait, ids={"payment": f"pi_seed{deal.index:08d}"},
                  state="running", stamp="paid_at",
                  detail=f"{deal.amount} {deal.currency} via stripe_webhook",
                  fields={"payment_id": payment_id, "stage": "write_back"},
                  events=((ev.PAYMENT_RECEIVED, payment_id, {
                      "invoice_id": invoice_id, "payment_id": payment_id,
                      "amount": str(deal.amount), "currency": deal.currency,
                      "source": "stripe_webhook"}),))  # fmt: skip
        line.step("write_back", "salesforce", 0.3, ids={"quote": deal.crm_quote}, detail="paid")
        line.step("completed", "", 0.01, state="completed", stamp="ended_at",
                  fields={"stage": "completed"},
                  events=((ev.TRANSACTION_COMPLETED, txid, {"order_id": order_id,
                                                            "invoice_id": invoice_id}),))

    def stop(self, line: Timeline, deal: Deal) -> None:
        """The transaction stops in front of its owning team and waits there."""
        rnd, tenant = self.random, self.plan.tenant
        error_class, code, at, check, _ = rnd.choices(STOPS, [w for *_, w in STOPS])[0]
        dead = error_class.startswith("dependency")
        kind = "dead_letter" if dead else "exception"
        owner = self.policy.owner(error_class, code)
        system = deal.erp if dead else "salesforce"
        if at == "submit_order":
            line.step("validate", "salesforce", 1.0,
                      fields={"customer_id": deal.customer, "legal_entity": deal.entity})
        exception_id = derived_id("exception", tenant, line.txid, at, str(line.occurrence + 1))
        detail = _detail(error_class, deal)
        errors = [{"class": error_class, "code": code, "detail": detail, "system": system}]
        errors *= 5 if dead else 1
        took = rnd.uniform(1, 40)
        opened = self.stamp(line.clock + timedelta(seconds=took))
        assigned = rnd.random() < 0.3
        who = rnd.choice(OPERATORS)
        item = ExceptionItem(
            id=exception_id, tenant=tenant, transaction_id=line.txid, kind=kind,  # type: ignore[arg-type]
            step=at, error_class=error_class, code=code, detail=detail, owner=owner,
            state="assigned" if assigned else "open", assignee=who if assigned else None,
            legal_entity=deal.entity if at != "validate" else None, system=system,
            findings=[] if dead else [Finding(check=check, error_class=error_class, code=code,
                                              message=detail, field="")],
            errors=errors, context={"quote_id": "seeded", "edits": {}},
            created_at=opened, updated_at=opened, amount=str(deal.amount),
            currency=deal.currency,
            actions=[ActionEntry(action="assign", actor=who, at=opened, detail=f"to {who}")]
            if assigned else [],
            comments=[Comment(author=who, text="Looking into it.", at=opened)]
            if assigned else [],
        )  # fmt: skip
        line.step(
            at, system, took, status="failed", attempts=len(errors),
            state="dead_lettered" if dead else "exception", fields={"stage": at},
            detail=f"{kind.replace('_', ' ')} {exception_id} -> {owner}",
            error={"class": error_class, "code": code, "detail": detail, "system": system},
            events=((ev.DEAD_LETTERED if dead else ev.EXCEPTION_RAISED, exception_id, {
                "exception_id": exception_id, "step": at, "class": error_class,
                "code": code, "owner": owner, "detail": detail}),),
            exception=item,
        )  # fmt: skip

    def closed(self, line: Timeline, deal: Deal) -> ExceptionItem:
        """A price question pricing ops settled: resolved (by a retry) or dismissed."""
        rnd, tenant = self.random, self.plan.tenant
        opened = self.stamp(line.clock)
        closed = self.stamp(line.clock + timedelta(seconds=rnd.lognormvariate(8.5, 1.0)))
        who = rnd.choice(OPERATORS)
        return ExceptionItem(
            id=derived_id("exception", tenant, line.txid, "validate", "closed"),
            tenant=tenant, transaction_id=line.txid, kind="exception", step="validate",
            error_class="price_mismatch", code="LINE_PRICE_MISMATCH",
            detail=_detail("price_mismatch", deal),
            owner=self.policy.owner("price_mismatch"), state="resolved",
            findings=[Finding(check="price", error_class="price_mismatch",
                              code="LINE_PRICE_MISMATCH", message=_detail("price_mismatch", deal),
                              field="lines[0].unit_price")],
            errors=[{"class": "price_mismatch", "code": "LINE_PRICE_MISMATCH",
                     "detail": "", "system": "salesforce"}],
            created_at=opened, updated_at=closed, amount=str(deal.amount),
            currency=deal.currency,
            actions=[ActionEntry(action="retry", actor=who, at=closed,
                                 detail='edits: {"accept_price_variance":true}')],
        )  # fmt: skip


class Deal:
    """What one seeded quote is about."""

    def __init__(self, index: int, rnd: random.Random) -> None:
        self.index = index
        self.entity, self.currency, self.erp = rnd.choice(ENTITIES)
        self.amount = Decimal(rnd.randrange(500_00, 250_000_00)) / 100
        self.customer = derived_id("customer", "seed", f"customer-{index % 700}")
        self.account = f"10{index % 700:05d}"
        self.crm_quote = f"0Q0SEED{index:011d}"


def _detail(error_class: str, deal: Deal) -> str:
    return {
        "price_mismatch": f"Line 1 (Q2C-1001): quoted {deal.amount * Decimal('0.8'):.2f} "
        f"{deal.currency}, the price book gives {deal.amount:.2f}.",
        "credit_hold": f"{deal.erp} blocks orders for customer {deal.account}: 01",
        "data_quality": "The customer has no address; the ERP and the invoice need one.",
        "validation": f"Legal entity {deal.entity} routes orders to no configured system.",
    }.get(error_class, f"{deal.erp} did not answer (503) after 5 attempts.")


async def seed(url: str, plan: Plan) -> dict[str, Any]:
    """Bring the database to the current schema and load the plan into it."""
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(url)
    store = SqlTransactionStore(database)
    seeder = Seeder(plan, FlowPolicy())
    stops = set(random.Random(plan.seed + 1).sample(range(plan.transactions),
                                                     plan.open_exceptions))  # fmt: skip
    started = time.perf_counter()
    try:
        for first in range(0, plan.transactions, CHUNK):
            built = [seeder.build(i, i in stops)
                     for i in range(first, min(first + CHUNK, plan.transactions))]
            await store.load([r for r, _ in built], [c for _, cs in built for c in cs])
    finally:
        await database.dispose()
    return {"transactions": plan.transactions, "open_exceptions": plan.open_exceptions,
            "tenant": plan.tenant, "days": plan.days,
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: the SQLite file under $Q2C_HOME")
    parser.add_argument("--tenant", default="sandbox")
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--open-exceptions", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    if args.open_exceptions > args.transactions:
        parser.error("--open-exceptions cannot exceed --transactions")
    url = args.database_url or embedded_url()
    plan = Plan(args.tenant, args.transactions, args.open_exceptions, args.days, args.seed)
    result = asyncio.run(seed(url, plan))
    print(f"seeded {url}: {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
