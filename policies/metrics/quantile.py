"""Quantiles from cumulative histogram buckets, as PromQL's histogram_quantile does."""

from __future__ import annotations

import math
from collections.abc import Mapping


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Estimate the ``q`` quantile from ``{upper bound: cumulative count}``.

    Same rules as Prometheus (promql/quantile.go, bucketQuantile): linear
    interpolation inside the bucket that holds the rank, the lowest bucket
    starting at 0, and a rank in the +Inf bucket answering the highest finite
    bound. None where Prometheus answers NaN (no observations, no +Inf bucket).
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be in [0, 1]")
    bounds = sorted(buckets)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return None
    counts: list[float] = []
    for bound in bounds:
        # Buckets from several series or a scrape mid-update can dip; Prometheus
        # forces them monotonic the same way.
        counts.append(max(buckets[bound], counts[-1] if counts else 0.0))
    observations = counts[-1]
    if observations == 0:
        return None
    rank = q * observations
    index = next(i for i, count in enumerate(counts) if count >= rank)
    if index == len(bounds) - 1:
        return bounds[-2]
    if index == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[index], counts[index]
    if index > 0:
        start = bounds[index - 1]
        count -= counts[index - 1]
        rank -= counts[index - 1]
    if count <= 0:  # q == 0 over an empty lowest bucket
        return start
    return start + (end - start) * (rank / count)
