"""histogram_quantile follows PromQL's bucket interpolation."""

from __future__ import annotations

import math

import pytest

from policies.metrics.quantile import histogram_quantile

INF = math.inf


def test_interpolates_inside_the_bucket_that_holds_the_rank() -> None:
    # 50 in (0, 0.1], 40 in (0.1, 0.2], 10 in (0.2, 0.4]; rank 95 is 5 of 10 into the third.
    buckets = {0.1: 50.0, 0.2: 90.0, 0.4: 100.0, 0.8: 100.0, INF: 100.0}
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.3)
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.15)


def test_lowest_bucket_starts_at_zero() -> None:
    assert histogram_quantile(0.5, {0.2: 10.0, INF: 10.0}) == pytest.approx(0.1)


def test_rank_in_the_inf_bucket_answers_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.95, {0.1: 1.0, 1.0: 2.0, INF: 10.0}) == 1.0


def test_no_answer_without_observations_or_inf_bucket() -> None:
    assert histogram_quantile(0.95, {0.1: 0.0, INF: 0.0}) is None
    assert histogram_quantile(0.95, {0.1: 3.0, 1.0: 5.0}) is None
    assert histogram_quantile(0.95, {}) is None


def test_non_monotonic_buckets_are_evened_out() -> None:
    # A scrape mid-update can show a higher bucket below a lower one.
    # Evened out to 4, 4, 8: rank 5 is 1 of 4 into (0.2, 0.4] (not 3 of 6).
    buckets = {0.1: 4.0, 0.2: 2.0, 0.4: 8.0, INF: 8.0}
    assert histogram_quantile(0.625, buckets) == pytest.approx(0.25)


def test_q_zero_and_range() -> None:
    assert histogram_quantile(0.0, {0.1: 0.0, 0.2: 4.0, INF: 4.0}) == 0.0
    with pytest.raises(ValueError, match="q must be"):
        histogram_quantile(1.5, {INF: 1.0})
