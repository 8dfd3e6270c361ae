"""Turning values as clients send them into the types the tables hold.

Every value a client sends is checked here against what MonetDB can hold, so a value that does
not fit is a 422 naming the field, never an error of the engine (a 500).
"""
import datetime

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
    try:
        if isinstance(value, (int, float)):
            return float(value)
        return float(str(value).strip())
    except OverflowError:
        raise InvalidInput(f"{where}: {_short(value)} does not fit a DOUBLE (about ±1.8e308); "
                           "send a smaller number, or 'Infinity'") from None
    except ValueError:
        raise InvalidInput(f"{where}: {_short(value)} is not a number (the attribute is NUMERIC)") from None


def _short(value):
    """A value for an error message, cut so that a 10 MB value does not make a 10 MB answer."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


def text_value(value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value)


def timestamp(value, where):
    """Parses the times clients send: ISO 8601, '%Y-%m-%d %H:%M:%S', or epoch seconds. Naive UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: {value!r} is not a time (use ISO 8601, e.g. 2026-01-31 12:00:00)")
    if isinstance(value, (int, float)):
        return _from_epoch(value, value, where)
    text = str(value).strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            seconds = float(text)
        except ValueError:
            raise InvalidInput(f"{where}: {_short(value)} is not a time (use ISO 8601, e.g. "
                               "2026-01-31 12:00:00)") from None
        return _from_epoch(seconds, value, where)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise InvalidInput(f"{where}: {_short(value)} is outside the years 1 to 9999") from None
    return parsed


def _from_epoch(seconds, value, where):
    """A time from epoch seconds; NaN, infinities and times outside the years 1-9999 are refused."""
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError, OSError):
        raise InvalidInput(f"{where}: {_short(value)} is not a time: epoch seconds must be a finite number "
                           "within the years 1 to 9999 (or use ISO 8601, e.g. 2026-01-31 12:00:00)") from None


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
