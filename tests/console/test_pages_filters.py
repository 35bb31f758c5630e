"""The queue's filters: GET parameters in, the store's filter out, within the teams the
user sees; bad values are reported per field and left out, never widening the view."""

from __future__ import annotations

from domains.quote_to_cash.config import FlowPolicy
from gateway.console.queue import (
    QueueFilters,
    counts_filter,
    parse_filters,
    store_filter,
    team_scope,
)

POLICY = FlowPolicy()
PRICING = team_scope("operator", ("pricing-ops",), POLICY)
ADMIN = team_scope("admin", (), POLICY)


def test_an_operator_sees_their_teams_and_an_admin_every_routed_team() -> None:
    assert PRICING.teams == ("pricing-ops",)
    assert PRICING.sees("pricing-ops")
    assert not PRICING.sees("credit-control")
    assert ADMIN.teams is None
    assert ADMIN.sees("anything")
    assert {"pricing-ops", "credit-control", "integration-ops", "order-management"} <= set(
        ADMIN.known
    )


def test_every_filter_reaches_the_store_filter() -> None:
    params = {
        "class": "price_mismatch",
        "team": "pricing-ops",
        "state": "assigned",
        "age": "1d",
        "legal_entity": "acme-us",
        "min_amount": "100",
        "max_amount": "2500.50",
    }
    chosen, issues = parse_filters(params, PRICING)
    assert issues == []
    where = store_filter(chosen, PRICING, kind="exception")
    assert where.kind == "exception"
    assert where.error_class == "price_mismatch"
    assert where.owners == ("pricing-ops",)
    assert where.states == ("assigned",)
    assert where.older_than_seconds == 86400
    assert where.legal_entity == "ACME-US"  # upper-cased, as legal entities are
    assert (where.min_amount, where.max_amount) == ("100", "2500.50")


def test_no_filters_mean_the_active_items_of_the_users_teams() -> None:
    chosen, issues = parse_filters({}, PRICING)
    assert (chosen, issues) == (QueueFilters(), [])
    where = store_filter(chosen, PRICING, kind="exception")
    assert where.owners == ("pricing-ops",)
    assert where.states == ("open", "assigned")
    assert where.older_than_seconds is None
    assert store_filter(chosen, ADMIN, kind="exception").owners is None
    assert store_filter(QueueFilters(state="all"), PRICING, kind="exception").states is None


def test_another_teams_name_does_not_widen_an_operators_view() -> None:
    chosen, issues = parse_filters({"team": "credit-control"}, PRICING)
    assert [i.field for i in issues] == ["team"]
    assert store_filter(chosen, PRICING, kind="exception").owners == ("pricing-ops",)


def test_bad_values_are_reported_per_field_and_ignored() -> None:
    params = {
        "class": "bogus",
        "state": "gone",
        "age": "2y",
        "legal_entity": "acme us!",
        "min_amount": "12,5",
        "max_amount": "-1",
    }
    chosen, issues = parse_filters(params, ADMIN)
    assert {i.field for i in issues} == set(params)
    assert chosen == QueueFilters()


def test_a_maximum_below_the_minimum_is_dropped() -> None:
    chosen, issues = parse_filters({"min_amount": "500", "max_amount": "20"}, ADMIN)
    assert [i.field for i in issues] == ["max_amount"]
    assert (chosen.min_amount, chosen.max_amount) == ("500", "")


def test_the_query_string_round_trips_and_leaves_defaults_out() -> None:
    chosen = QueueFilters(error_class="credit_hold", state="active", min_amount="10")
    assert chosen.query() == "class=credit_hold&min_amount=10"
    again, _ = parse_filters(dict(p.split("=") for p in chosen.query().split("&")), ADMIN)
    assert again == chosen
    assert QueueFilters().query() == ""
    assert not QueueFilters().narrowed
    assert chosen.narrowed


def test_the_live_counts_are_the_active_items_of_the_users_teams() -> None:
    where = counts_filter(PRICING)
    assert (where.kind, where.owners, where.states) == (
        "exception", ("pricing-ops",), ("open", "assigned"),
    )
    assert counts_filter(ADMIN).owners is None
