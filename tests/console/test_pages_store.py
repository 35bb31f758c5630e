"""The store's answers to the console's queries, on SQLite and PostgreSQL: teams, states
and amount bounds in one filter, counts per team, opened vs closed per day, a
transaction's events; always within one tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.ports import CanonicalEvent, ExceptionFilter, TransactionChange
from domains.quote_to_cash.records import ExceptionItem, Transaction
from gateway.flow.store import SqlTransactionStore
from gateway.stores.sql.engine import Database

NOW = datetime.now(UTC).replace(microsecond=0)


def _at(days_ago: float) -> str:
    return rfc3339(NOW - timedelta(days=days_ago))


def _item(
    tenant: str, n: int, owner: str, state: str, amount: str | None, *, opened: float,
    closed: float | None = None, kind: str = "exception",
) -> tuple[Transaction, TransactionChange]:
    txid = f"txn_{tenant[:3].upper()}{n:023d}"
    record = Transaction(id=txid, tenant=tenant, quote_id=f"quo_{n:026d}", state="exception",
                         accepted_at=_at(opened), updated_at=_at(opened))
    item = ExceptionItem(
        id=f"exc_{tenant[:3].upper()}{n:023d}", tenant=tenant, transaction_id=txid,
        kind=kind, step="validate", error_class="price_mismatch",  # type: ignore[arg-type]
        code="LINE_PRICE_MISMATCH", detail="", owner=owner, state=state,  # type: ignore[arg-type]
        created_at=_at(opened), updated_at=_at(closed if closed is not None else opened),
        amount=amount, currency="EUR" if amount else None,
    )
    event = CanonicalEvent(id=f"evt_{tenant[:3].upper()}{n:023d}", type="com.q2c.quote.accepted",
                           tenant=tenant, transaction_id=txid, subject=record.quote_id,
                           time=_at(opened), data={"quote_id": record.quote_id})
    return record, TransactionChange(tenant=tenant, transaction_id=txid, exception=item,
                                     events=[event])


async def _seeded(database: Database) -> SqlTransactionStore:
    store = SqlTransactionStore(database)
    rows = [
        _item("acme", 1, "pricing-ops", "open", "100.00", opened=3),
        _item("acme", 2, "pricing-ops", "assigned", "2500.50", opened=2),
        _item("acme", 3, "pricing-ops", "resolved", "99.99", opened=2, closed=1),
        _item("acme", 4, "credit-control", "open", "12000", opened=1),
        _item("acme", 5, "credit-control", "dismissed", None, opened=5, closed=0),
        _item("acme", 6, "integration-ops", "open", "10", opened=0, kind="dead_letter"),
        # another tenant, same teams: never counted or listed for acme
        _item("other", 7, "pricing-ops", "open", "100.00", opened=1),
    ]  # fmt: skip
    await store.load([r for r, _ in rows], [c for _, c in rows])
    return store


async def _ids(store: SqlTransactionStore, tenant: str, where: ExceptionFilter) -> list[str]:
    return [i.id[-2:] for i in await store.exceptions(tenant, where, 0, 100)]


async def test_teams_states_kinds_and_amounts_filter_together(sql_database: Database) -> None:
    store = await _seeded(sql_database)
    active = ("open", "assigned")
    assert await _ids(store, "acme", ExceptionFilter(owners=("pricing-ops",), states=active)) == [
        "01", "02"]  # oldest first  # fmt: skip
    assert await _ids(store, "acme", ExceptionFilter(owners=("credit-control", "pricing-ops"),
                                                     states=active, kind="exception")) == [
        "01", "02", "04"]  # fmt: skip
    assert await _ids(store, "acme", ExceptionFilter(min_amount="100", max_amount="2500.50")) == [
        "01", "02", "04"][:2]  # fmt: skip
    assert await _ids(store, "acme", ExceptionFilter(min_amount="100")) == ["01", "02", "04"]
    assert await _ids(store, "acme", ExceptionFilter(max_amount="99.99")) == ["03", "06"]
    # an unknown amount matches no bound
    assert "05" not in await _ids(store, "acme", ExceptionFilter(max_amount="1000000"))
    assert await _ids(store, "acme", ExceptionFilter(kind="dead_letter")) == ["06"]
    assert await _ids(store, "acme", ExceptionFilter(owners=())) == []


async def test_amounts_come_back_as_decimal_text(sql_database: Database) -> None:
    store = await _seeded(sql_database)
    found = {i.id[-2:]: (i.amount, i.currency)
             for i in await store.exceptions("acme", ExceptionFilter(), 0, 100)}  # fmt: skip
    assert found["02"] == ("2500.50", "EUR")
    assert found["04"] == ("12000.00", "EUR")
    assert found["05"] == (None, None)


async def test_counts_per_team_stay_in_the_tenant(sql_database: Database) -> None:
    store = await _seeded(sql_database)
    active = ExceptionFilter(kind="exception", states=("open", "assigned"))
    assert await store.exception_counts("acme", active) == {
        "pricing-ops": 2, "credit-control": 1}  # fmt: skip
    assert await store.exception_counts("other", active) == {"pricing-ops": 1}
    assert await store.exception_counts("nobody", active) == {}
    assert await store.exception_counts(
        "acme", ExceptionFilter(states=("open", "assigned"), owners=("credit-control",))
    ) == {"credit-control": 1}


async def test_activity_counts_opened_and_closed_per_day(sql_database: Database) -> None:
    store = await _seeded(sql_database)
    days = {day: (opened, closed)
            for day, opened, closed in await store.exception_activity(
                "acme", ExceptionFilter(), _at(4))}  # fmt: skip
    assert days[_at(2)[:10]] == (2, 0)
    assert days[_at(1)[:10]][1] == 1  # item 3 resolved a day ago
    assert days[_at(0)[:10]][1] == 1  # item 5 dismissed today (opened before the window)
    assert sum(o for o, _ in days.values()) == 5  # items 1, 2, 3, 4 and 6; 5 is older
    mine = await store.exception_activity("acme", ExceptionFilter(owners=("credit-control",)),
                                          _at(30))  # fmt: skip
    assert sum(o for _, o, _ in mine) == 2
    assert sum(c for _, _, c in mine) == 1


async def test_a_transactions_events_are_its_own_and_its_tenants(sql_database: Database) -> None:
    store = await _seeded(sql_database)
    txid = "txn_ACM" + f"{1:023d}"
    events = await store.events_of("acme", txid, 10)
    assert [e.transaction_id for _, e in events] == [txid]
    assert await store.events_of("other", txid, 10) == []
