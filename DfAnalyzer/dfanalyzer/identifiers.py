"""Checking user tags and quoting them as SQL identifiers.

Tags become schema, table and column names. They are checked against a conservative pattern and
always quoted, so a tag can never change the meaning of a statement.
"""
import re

from dfanalyzer.errors import InvalidInput

MAX_LENGTH = 255
TAG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Schemas MonetDB itself uses; a dataflow may not take their names.
RESERVED_SCHEMAS = {"sys", "tmp", "json", "profiler", "logging", "information_schema", "wlc", "wlr", "sql"}


def check_tag(tag, what):
    """Returns `tag` as a str if it can name a database object, else raises InvalidInput."""
    if not isinstance(tag, str) or not tag:
        raise InvalidInput(f"{what} must be a non-empty string, got {tag!r}")
    if len(tag) > MAX_LENGTH:
        raise InvalidInput(f"{what} {tag[:40]!r}... is {len(tag)} characters long; the limit is {MAX_LENGTH}")
    if not TAG_PATTERN.match(tag):
        raise InvalidInput(
            f"{what} {tag!r} has characters that cannot name a table or column: use letters, digits, "
            "'_', '-' or '.', starting with a letter or '_'"
        )
    return tag


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
