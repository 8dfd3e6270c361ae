"""Deterministic downsampling of long curves, done by MonetDB: the smallest and largest value of
each of equal buckets of rows, plus the first and last point.

The same rows always give the same points, so a refreshed chart is identical, no spike is lost
(a bucket keeps its extremes), and only the chosen points leave the database."""
from dfanalyzer.identifiers import quote


def min_max_sql(table, task_column, task_count, metric, budget, where="", x="epoch"):
    """SQL answering [x, value] of `metric` (x: the `epoch` column unless named) for at most about
    `budget` points.

    Parameters to bind: the `task_count` task ids, then those of `where` (an `AND ...` on `s`).
    Rows with a NULL value are left out before bucketing; ties keep the lowest epoch."""
    buckets = max(1, (int(budget) - 2) // 2)
    tasks = ", ".join("?" * task_count)
    value = f"s.{quote(metric)}"
    return (
        f"WITH r AS (SELECT s.{quote(x)} AS x, {value} AS y, ROW_NUMBER() OVER (ORDER BY s.{quote(x)}, s.id) AS rn "
        f"FROM {table} s WHERE s.{quote(task_column)} IN ({tasks}) AND {value} IS NOT NULL {where}), "
        f"b AS (SELECT x, y, rn, (rn - 1) * {buckets} / (SELECT COUNT(*) FROM r) AS bucket, "
        "(SELECT COUNT(*) FROM r) AS n FROM r) "
        "SELECT x, y FROM (SELECT x, y, rn, n, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY y, x) AS lo, "
        "ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY y DESC, x) AS hi FROM b) z "
        "WHERE lo = 1 OR hi = 1 OR rn = 1 OR rn = n ORDER BY x")
