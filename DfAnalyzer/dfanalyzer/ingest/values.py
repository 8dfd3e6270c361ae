"""Turning values as clients send them into the types the tables hold."""
import datetime
import math

from dfanalyzer.errors import InvalidInput

NUMERIC = "NUMERIC"
ATTRIBUTE_TYPES = ("TEXT", "NUMERIC", "FILE", "RDFILE", "LONG_TEXT")


def column_type(attribute_type):
    """SQL type of an attribute column: NUMERIC is DOUBLE, the text kinds are CLOB."""
    return "DOUBLE" if attribute_type == NUMERIC else "CLOB"


def numeric_value(value, where):
    """A float from a number or a numeric string (clients send numbers as strings); None stays None."""
    if value is None or value == "" or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{where}: {value!r} is not a number (the attribute is NUMERIC)") from None


def text_value(value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value)


def is_nan(value):
    return isinstance(value, float) and math.isnan(value)


def timestamp(value, where):
    """Parses the times clients send: ISO 8601, '%Y-%m-%d %H:%M:%S', or epoch seconds. Naive UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).replace(tzinfo=None)
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc).replace(tzinfo=None)
        except ValueError:
            raise InvalidInput(f"{where}: {value!r} is not a time (use ISO 8601, e.g. 2026-01-31 12:00:00)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
