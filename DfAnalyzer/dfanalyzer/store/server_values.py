"""Values a MonetDB server returns that Python's types cannot hold.

MonetDB's dates and timestamps reach far beyond Python's years 1-9999 (`date '9999-12-31' +
interval '1' day` is 10000-01-01); pymonetdb turns each value into a `datetime` and raises
ValueError on such a year, in the middle of a fetch. `tolerate_out_of_range_times()` makes those
values arrive as their ISO 8601 text instead ("10000-01-01T00:00:00"), as embedded MonetDB's
results do (`store/engine.py`). It wraps pymonetdb's text-protocol converters once per process;
the service is their only user there. A value no converter tolerates (e.g. in pymonetdb's binary
protocol, which newer servers speak) is a 400 at the fetch (`OUT_OF_RANGE_ERRORS`).
"""
import re

from pymonetdb.sql import pythonize, types

OUT_OF_RANGE_ERRORS = (ValueError, OverflowError)
TIME_TYPES = (types.DATE, types.TIME, types.TIMETZ, types.TIMESTAMP, types.TIMESTAMPTZ)
# MonetDB writes year 0 as "0" and year -1 as "-1"; ISO 8601 (and embedded MonetDB's answers) "0000", "-0001".
YEAR = re.compile(r"(-?)(\d+)")


def iso_text(data):
    """MonetDB's text of a date or timestamp as `datetime.isoformat` would write it."""
    text = data.strip().replace(" ", "T", 1).replace(".000000", "", 1)
    return YEAR.sub(lambda year: year.group(1) + year.group(2).zfill(4), text, count=1)


def _as_text_when_out_of_range(convert):
    def converted(data):
        try:
            return convert(data)
        except OUT_OF_RANGE_ERRORS:
            return iso_text(data)
    converted.tolerant = True
    return converted


def tolerate_out_of_range_times():
    for type_code in TIME_TYPES:
        convert = pythonize.mapping[type_code]
        if not getattr(convert, "tolerant", False):
            pythonize.mapping[type_code] = _as_text_when_out_of_range(convert)
