"""Selections typed by users, read into (column reference, operator, value) so the value can be
bound as a parameter. Nothing of the text is ever pasted into SQL: references are resolved against
the specification and quoted, operators come from a fixed list."""
import re
from dataclasses import dataclass

from dfanalyzer.errors import InvalidInput

OPERATORS = ("<=", ">=", "<>", "!=", "=", "<", ">", "NOT LIKE", "LIKE", "IS NOT NULL", "IS NULL")

_REFERENCE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*")
_OPERATOR = re.compile(r"(<=|>=|<>|!=|=|<|>|NOT\s+LIKE\b|LIKE\b|IS\s+NOT\s+NULL\b|IS\s+NULL\b)\s*", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_STRING = re.compile(r"'((?:[^']|'')*)'\s*$")
_OTHER_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*\.[A-Za-z_][A-Za-z0-9_.\-]*)\s*$")


@dataclass
class Condition:
    """One parsed selection. `value_kind` is "number", "text", "reference" or None (IS NULL)."""

    reference: str
    operator: str
    value_kind: object
    value: object


def parse_condition(text):
    """A Condition from text such as `oTrain.loss < 0.5`, `iLoad.source = 'digits'`,
    `oTrain.epoch >= oTest.epoch` or `oTest.accuracy IS NOT NULL`; InvalidInput says what to fix."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a selection is empty; write it as set.attribute <op> value, e.g. oTrain.loss < 0.5")
    reference = _REFERENCE.match(text)
    if not reference:
        raise InvalidInput(f"selection {text!r} must start with set.attribute")
    rest = text[reference.end():]
    operator = _OPERATOR.match(rest)
    if not operator:
        raise InvalidInput(f"selection {text!r} has no operator after {reference.group(1)!r}; "
                           f"use one of {', '.join(OPERATORS)}")
    op = " ".join(operator.group(1).upper().split())
    op = "<>" if op == "!=" else op
    value_text = rest[operator.end():].strip()
    if op in ("IS NULL", "IS NOT NULL"):
        if value_text:
            raise InvalidInput(f"selection {text!r}: nothing may follow {op}")
        return Condition(reference.group(1), op, None, None)
    if _NUMBER.match(value_text):
        return Condition(reference.group(1), op, "number", value_text)
    string = _STRING.match(value_text)
    if string:
        return Condition(reference.group(1), op, "text", string.group(1).replace("''", "'"))
    if _OTHER_REFERENCE.match(value_text):
        return Condition(reference.group(1), op, "reference", value_text)
    raise InvalidInput(f"selection {text!r}: the value {value_text!r} is neither a number, a 'quoted text' nor "
                       "a set.attribute; put text values in single quotes")
