"""Checks shared by the specification classes for tags and names."""
import re

from dfa_lib_python.errors import SpecificationError

# The service turns tags into schema, table and column names and accepts this pattern.
TAG_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
MAX_LENGTH = 255


def checked_tag(tag, what):
    """`tag` as a str if the service can store it, else a SpecificationError saying why."""
    if not isinstance(tag, str) or not tag:
        raise SpecificationError(f"{what} must be a non-empty string, got {tag!r}")
    if len(tag) > MAX_LENGTH:
        raise SpecificationError(f"{what} {tag[:40]!r}... is {len(tag)} characters long; the limit is {MAX_LENGTH}")
    if not TAG_PATTERN.fullmatch(tag):
        raise SpecificationError(
            f"{what} {tag!r} cannot name a table or column: use letters, digits, '_', '-' or '.', "
            "starting with a letter or '_'"
        )
    return tag


def enum_value(value, enum_class, what):
    """The string value of an enum member, also accepting the member's name or value as a string."""
    if isinstance(value, enum_class):
        return value.value
    if isinstance(value, str):
        for member in enum_class:
            if value.upper() in (member.name, member.value):
                return member.value
    choices = ", ".join(f"{enum_class.__name__}.{m.name}" for m in enum_class)
    raise SpecificationError(f"{what} must be one of {choices}, got {value!r}")
