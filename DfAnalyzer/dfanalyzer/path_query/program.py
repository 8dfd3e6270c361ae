"""The original Query Interface's program text:

    mapping(physical) source(iLoad) target(oTest;oProfile) projection(oTrain.loss)
    selection(oTrain.loss < 0.5;oTrain.epoch >= 2) include(oTrain) exclude(oProfile)

Clauses in any order, items separated by ';' (a ';' or ')' inside a 'quoted value' is kept)."""
import re

from dfanalyzer.errors import InvalidInput
from dfanalyzer.path_query.request import MAPPINGS, PathQuery

CLAUSES = ("mapping", "source", "target", "projection", "selection", "include", "exclude")
_CLAUSE = re.compile(r"\s*([A-Za-z]+)\s*\(")


def _clause_body(text, start):
    """(items, position after the closing parenthesis) of a clause body beginning at `start`."""
    items, current, quoted, depth = [], [], False, 0
    position = start
    while position < len(text):
        char = text[position]
        if char == "'":
            quoted = not quoted  # '' inside a quoted value toggles twice and stays quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            if depth == 0:
                items.append("".join(current).strip())
                return [item for item in items if item], position + 1
            depth -= 1
        elif not quoted and char == ";" and depth == 0:
            items.append("".join(current).strip())
            current = []
            position += 1
            continue
        current.append(char)
        position += 1
    raise InvalidInput("the program has an unclosed '(' or an unclosed quote; every clause is name(item;item)")


def parse_program(text):
    """A PathQuery from the program text; InvalidInput names the clause that is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("the program is empty; write e.g. mapping(physical) source(iLoad) target(oTest)")
    clauses = {}
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _CLAUSE.match(text, position)
        if not match:
            raise InvalidInput(f"the program is not understood from {text[position:position + 30].strip()!r}; "
                               f"clauses are {', '.join(name + '(...)' for name in CLAUSES)}")
        name = match.group(1).lower()
        if name not in CLAUSES:
            raise InvalidInput(f"unknown clause {match.group(1)!r}; use {', '.join(CLAUSES)}")
        if name in clauses:
            raise InvalidInput(f"clause {name}(...) is given twice; put all its items in one, separated by ';'")
        clauses[name], position = _clause_body(text, match.end())
    for required in ("source", "target"):
        if not clauses.get(required):
            raise InvalidInput(f"the program needs {required}(set;...)")
    mapping = clauses.get("mapping") or ["physical"]
    if len(mapping) != 1 or mapping[0].lower() not in MAPPINGS:
        raise InvalidInput(f"mapping({';'.join(mapping)}) must be one of {', '.join(MAPPINGS)}")
    return PathQuery(source=clauses["source"], target=clauses["target"], mapping=mapping[0].lower(),
                     projection=clauses.get("projection", []), selection=clauses.get("selection", []),
                     include=clauses.get("include", []), exclude=clauses.get("exclude", []))
