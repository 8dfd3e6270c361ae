"""Deterministic downsampling of long curves: the smallest and largest value of each bucket.

The same rows always give the same points, so a refreshed chart is identical, and no spike is
lost (a bucket keeps its extremes)."""


def min_max_buckets(points, budget):
    """At most about `budget` of `points` ([x, y] sorted by x; y None is skipped): the first and
    last point, and in each of budget/2 equal runs of points its minimum and maximum, in x order."""
    valid = [point for point in points if point[1] is not None]
    if len(valid) <= budget:
        return valid
    buckets = max(1, (budget - 2) // 2)
    size = len(valid) / buckets
    chosen = {0, len(valid) - 1}
    for bucket in range(buckets):
        first, last = int(bucket * size), int((bucket + 1) * size)
        if first >= last:
            continue
        indexes = range(first, last)
        chosen.add(min(indexes, key=lambda i: valid[i][1]))
        chosen.add(max(indexes, key=lambda i: valid[i][1]))
    return [valid[i] for i in sorted(chosen)]
