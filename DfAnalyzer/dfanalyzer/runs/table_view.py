"""What part of the runs table a page shows: filter, numeric ranges, chosen values, sort, page and columns."""
import datetime
import re
from dataclasses import dataclass, field

from dfanalyzer.errors import InvalidInput
from dfanalyzer.runs.runs_table import differing_columns

MAX_PAGE = 5000
NUMBER = r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?"
# KEY:LOW:HIGH, each bound a number or empty; written so that Python and JSON Schema (ECMA 262)
# read it alike, for the OpenAPI document states it too.
RANGE_FORM = f"[^\\r\\n\\u2028\\u2029]+:({NUMBER})?:({NUMBER})?"
DEFAULT_HYPERPARAMETERS = 10


@dataclass
class ValueRange:
    """`key` between `low` and `high` (either may be None: open), from the text `key:low:high`."""

    key: str
    low: float | None
    high: float | None

    @classmethod
    def parse(cls, text):
        key, _, bounds = text.rpartition(":")
        key, _, low = key.rpartition(":")
        if not key or not re.fullmatch(RANGE_FORM, text):
            raise InvalidInput(f"range {text!r} is not KEY:LOW:HIGH (e.g. hp:learning_rate:0.001:0.1, "
                               "an empty bound is open)")
        try:
            return cls(key, float(low) if low else None, float(bounds) if bounds else None)
        except ValueError:
            raise InvalidInput(f"range {text!r}: the bounds must be numbers or empty") from None

    def holds(self, value):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass
class ValueChoice:
    """`key` equal to one of `values`; parsed from repeated `key=value` texts (one value each), so
    that a value may hold any character, `:` and `,` included."""

    key: str
    values: frozenset

    @classmethod
    def parse_all(cls, texts):
        """One ValueChoice per key of the texts `key=value` (the values of a key are alternatives)."""
        chosen = {}
        for text in texts:
            key, equals, value = text.partition("=")
            if not equals or not key:
                raise InvalidInput(f"choice {text!r} is not KEY=VALUE (e.g. in=hp:optimizer_name=adam; "
                                   "repeat it for each value a column may have)")
            chosen.setdefault(key, set()).add(value)
        return [cls(key, frozenset(values)) for key, values in chosen.items()]

    def holds(self, value):
        if isinstance(value, str):
            return value in self.values
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return any(_number(text) == value for text in self.values)
        return False


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class TableView:
    """The part of a built runs table that a page asks for.

    Args:
        text: rows whose run, status or any text column contains this (case-insensitive).
        ranges: `ValueRange`s every row must fall in.
        choices: `ValueChoice`s every row must hold (categorical filters, e.g. an optimizer's name).
        sort, descending: column key to order by (None last either way).
        offset, limit: the page.
        columns: keys to return (None: the run columns, up to 10 hyperparameters, metrics, tests).
        differences_only: drop the columns whose value is equal in every matching row.
    """

    text: str = ""
    ranges: list = field(default_factory=list)
    choices: list = field(default_factory=list)
    sort: str = "start"
    descending: bool = True
    offset: int = 0
    limit: int = 50
    columns: list | None = None
    differences_only: bool = False

    def apply(self, table):
        columns = table["columns"]
        known = {column["key"] for column in columns}
        for key in [r.key for r in self.ranges] + [c.key for c in self.choices] + [self.sort] + (self.columns or []):
            if key not in known:
                raise InvalidInput(f"column {key!r} is unknown in dataflow {table['dataflow']!r}; "
                                   f"known columns: {', '.join(sorted(known))}")
        if not 0 < self.limit <= MAX_PAGE or self.offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0")
        rows = [row for row in table["rows"] if self._matches(row, columns)]
        present = [row for row in rows if row.get(self.sort) is not None]
        missing = [row for row in rows if row.get(self.sort) is None]
        present.sort(key=lambda row: _sort_key(row[self.sort]), reverse=self.descending)
        rows = present + missing
        shown = self.columns or default_columns(columns, table["rows"])
        if self.differences_only:
            differing = set(differing_columns(columns, rows))
            shown = [key for key in shown if key in differing]
        shown_set = set(shown) | {"execution", "status"}
        page = rows[self.offset:self.offset + self.limit]
        return {
            "dataflow": table["dataflow"],
            "total": len(rows),
            "offset": self.offset,
            "limit": self.limit,
            "columns": [column for key in shown for column in columns if column["key"] == key],
            "all_columns": columns,
            "rows": [{key: value for key, value in row.items() if key in shown_set} for row in page],
        }

    def _matches(self, row, columns):
        if self.text:
            needle = self.text.lower()
            texts = [str(row.get(c["key"], "")) for c in columns if c["type"] == "text"]
            if not any(needle in text.lower() for text in texts):
                return False
        return all(value_range.holds(row.get(value_range.key)) for value_range in self.ranges) and \
            all(choice.holds(row.get(choice.key)) for choice in self.choices)


def default_columns(columns, rows):
    """The run columns, the hyperparameters that differ between the dataflow's runs (the first
    ones when none differ), the metrics and the test metrics; the rest is one click away."""
    hyperparameters = [c["key"] for c in columns if c["group"] == "hyperparameter"]
    differing = set(differing_columns([c for c in columns if c["key"] in hyperparameters], rows))
    hyperparameters = [key for key in hyperparameters if key in differing] or hyperparameters
    return [c["key"] for c in columns if c["group"] == "run"] + hyperparameters[:DEFAULT_HYPERPARAMETERS] + \
        [c["key"] for c in columns if c["group"] in ("metric", "test") and c["key"] != "m:learning_rate"]


def _sort_key(value):
    if isinstance(value, datetime.datetime):
        return (1, value.timestamp(), "")
    if isinstance(value, (int, float)):
        return (1, float(value), "")
    return (2, 0.0, str(value))
