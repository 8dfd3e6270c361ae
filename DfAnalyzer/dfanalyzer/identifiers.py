"""Checking user tags and quoting them as SQL identifiers.

Tags become schema, table and column names. They are checked against a conservative pattern and
always quoted, so a tag can never change the meaning of a statement. Labels (execution tags, task
ids, agent names) are stored as values: they only need a bounded length and no control characters,
which would break log lines and HTTP headers. MAX_LENGTH is the one limit for both, the width of
the catalog's VARCHAR columns.
"""
import re
import unicodedata

from dfanalyzer.errors import InvalidInput

MAX_LENGTH = 255
TAG_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# Schemas MonetDB itself uses; a dataflow may not take their names.
RESERVED_SCHEMAS = {"sys", "tmp", "json", "profiler", "logging", "information_schema", "wlc", "wlr", "sql"}


def check_tag(tag, what):
    """Returns `tag` as a str if it can name a database object, else raises InvalidInput."""
    if not isinstance(tag, str) or not tag:
        raise InvalidInput(f"{what} must be a non-empty string, got {tag!r}")
    if len(tag) > MAX_LENGTH:
        raise InvalidInput(f"{what} {tag[:40]!r}... is {len(tag)} characters long; the limit is {MAX_LENGTH}")
    if not TAG_PATTERN.fullmatch(tag):
        raise InvalidInput(
            f"{what} {tag!r} has characters that cannot name a table or column: use letters, digits, "
            "'_', '-' or '.', starting with a letter or '_'"
        )
    return tag


def check_label(label, what):
    """Returns `label` as a str if it fits the catalog (at most MAX_LENGTH characters, no control
    or line-break characters), else raises InvalidInput. Numbers are accepted and turned into text."""
    if isinstance(label, bool) or not isinstance(label, (str, int, float)):
        raise InvalidInput(f"{what} must be a string, got {type(label).__name__}")
    text = str(label)
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"{what} {text[:40]!r}... is {len(text)} characters long; the limit is {MAX_LENGTH}")
    return check_one_line(text, what)


def check_one_line(text, what):
    """Returns `text` if it holds no control or line-break character (a trailing newline
    included: "7\n" is not "7"), else raises InvalidInput. For values of any length that name
    something, such as a task's workspace."""
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")), None)
    if bad is not None:
        raise InvalidInput(f"{what} {text[:60]!r} contains the control character U+{ord(bad):04X}; "
                           "use printable characters only")
    return text


def sql_name(tag, what):
    """The database name for a tag: checked and lower-cased, so unquoted SQL finds it."""
    return check_tag(tag, what).lower()


def quote(name):
    """A double-quoted SQL identifier. Names are checked before they get here; quoting is the
    second guard."""
    if '"' in name or "\x00" in name:
        raise InvalidInput(f"identifier {name!r} may not contain double quotes")
    return '"' + name + '"'


def qualified(schema, table):
    return f"{quote(schema)}.{quote(table)}"


def check_schema_name(schema_name, tag):
    if schema_name in RESERVED_SCHEMAS:
        raise InvalidInput(f"dataflow tag {tag!r} is reserved by MonetDB; choose another tag")
    return schema_name
