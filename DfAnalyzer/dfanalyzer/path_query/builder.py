"""The SQL of a path query: every set on the selected paths in FROM, consecutive sets joined.

Identifiers come from the stored specification and are quoted; selection values are bound as
parameters. `console_sql` is the same statement with the values written as SQL literals, for a
person to read and edit in the SQL console (which runs it through the read-only guard again).
"""
from dataclasses import dataclass

from dfanalyzer.errors import InvalidInput
from dfanalyzer.identifiers import qualified, quote
from dfanalyzer.path_query.paths import select_paths, sets_of
from dfanalyzer.path_query.request import MAPPINGS
from dfanalyzer.path_query.selection import parse_condition


@dataclass
class PathSql:
    sql: str
    params: list
    console_sql: str
    paths: list  # each path as its set tags, source first


def _literal(value):
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


class _Fragment:
    """SQL text with `?` placeholders, and its values."""

    def __init__(self, text, params=()):
        self.text, self.params = text, list(params)

    def console(self):
        pieces = self.text.split("?")
        return pieces[0] + "".join(_literal(v) + piece for v, piece in zip(self.params, pieces[1:]))


class _SetColumns:
    """The columns of one set's table: id, one task column per linked transformation, attributes."""

    def __init__(self, data_set):
        self.tag = data_set["tag"]
        self.alias = quote(data_set["table"].split(".", 1)[1])
        self.table = data_set["table"]
        self.types = {"id": "BIGINT"}
        for transformation in data_set["produced_by"] + data_set["consumed_by"]:
            self.types[transformation.lower() + "_task_id"] = "BIGINT"
        self.attributes = [a["column"] for a in data_set["attributes"]]
        for attribute in data_set["attributes"]:
            self.types[attribute["column"]] = attribute["type"]

    def column(self, name, where):
        if name.lower() not in self.types:
            raise InvalidInput(f"{where}: set {self.tag!r} has no attribute {name!r}; it has "
                               f"{', '.join(self.types)}")
        return f"{self.alias}.{quote(name.lower())}"


class _Dataflow:
    def __init__(self, specification):
        self.schema = specification["schema"]
        self.sets = {s["tag"].lower(): _SetColumns(s) for s in specification["sets"]}

    def set_tag(self, tag, where):
        key = str(tag).strip().lower()
        if key not in self.sets:
            raise InvalidInput(f"{where}: dataflow has no set {tag!r}; its sets are "
                               f"{', '.join(s.tag for s in self.sets.values())}")
        return key

    def reference(self, text, where):
        """(set key, column name) of `set.attribute`; set tags may themselves contain dots."""
        lowered = text.strip().lower()
        for key in sorted(self.sets, key=len, reverse=True):
            if lowered.startswith(key + ".") and len(lowered) > len(key) + 1:
                return key, lowered[len(key) + 1:]
        raise InvalidInput(f"{where}: {text!r} is not set.attribute of this dataflow's sets "
                           f"({', '.join(s.tag for s in self.sets.values())})")


def _join_conditions(dataflow, steps, mapping):
    conditions, join_columns = [], []
    for previous, transformation, following in steps:
        left, right = dataflow.sets[previous], dataflow.sets[following]
        step_conditions = []
        if mapping in ("physical", "hybrid"):
            task_column = transformation + "_task_id"
            step_conditions.append((task_column, task_column))
        if mapping in ("logical", "hybrid"):
            shared = [c for c in left.attributes if c in right.attributes]
            if not shared and mapping == "logical":
                raise InvalidInput(f"sets {left.tag!r} and {right.tag!r} have no attribute of the same name, so a "
                                   "logical mapping cannot join them; use physical or hybrid")
            step_conditions += [(c, c) for c in shared]
        for left_column, right_column in step_conditions:
            conditions.append(_Fragment(f"{left.column(left_column, 'join')} = {right.column(right_column, 'join')}"))
            join_columns += [(previous, left_column), (following, right_column)]
    return conditions, join_columns


def _selection(dataflow, text, in_from):
    condition = parse_condition(text)
    where = f"selection {text!r}"
    key, column = dataflow.reference(condition.reference, where)
    if key not in in_from:
        raise InvalidInput(f"{where}: set {dataflow.sets[key].tag!r} is not on the selected paths")
    data_set = dataflow.sets[key]
    left = data_set.column(column, where)
    if condition.value_kind is None:
        return _Fragment(f"{left} {condition.operator}")
    if condition.value_kind == "reference":
        other_key, other_column = dataflow.reference(condition.value, where)
        if other_key not in in_from:
            raise InvalidInput(f"{where}: set {dataflow.sets[other_key].tag!r} is not on the selected paths")
        return _Fragment(f"{left} {condition.operator} {dataflow.sets[other_key].column(other_column, where)}")
    kind = data_set.types[column]
    if kind == "NUMERIC" or kind == "BIGINT":
        if condition.value_kind != "number":
            raise InvalidInput(f"{where}: {data_set.tag}.{column} is {kind}; compare it with a number")
        if "LIKE" in condition.operator:
            raise InvalidInput(f"{where}: LIKE compares text; {data_set.tag}.{column} is {kind}")
        value = int(condition.value) if kind == "BIGINT" else float(condition.value)
    else:
        value = str(condition.value)
    return _Fragment(f"{left} {condition.operator} ?", [value])


def build_path_sql(specification, query):
    """The PathSql of `query` (a PathQuery) over `specification` (reading.dataflow_specification)."""
    if query.mapping not in MAPPINGS:
        raise InvalidInput(f"mapping {query.mapping!r} must be one of {', '.join(MAPPINGS)}")
    dataflow = _Dataflow(specification)
    sources = [dataflow.set_tag(t, "source") for t in query.source]
    targets = [dataflow.set_tag(t, "target") for t in query.target]
    if not sources or not targets:
        raise InvalidInput("a path query needs at least one source set and one target set")
    include = [dataflow.set_tag(t, "include") for t in query.include]
    exclude = [dataflow.set_tag(t, "exclude") for t in query.exclude]
    selected = select_paths(specification, sources, targets, include, exclude)

    in_from, steps = [], []
    for start, path in selected:
        in_from += [s for s in sets_of(path, start) if s not in in_from]
        steps += [step for step in path if step not in steps]
    conditions, join_columns = _join_conditions(dataflow, steps, query.mapping)
    conditions += [_selection(dataflow, text, in_from) for text in query.selection]

    if query.projection:
        projected = []
        for text in query.projection:
            key, column = dataflow.reference(text, f"projection {text!r}")
            if key not in in_from:
                raise InvalidInput(f"projection {text!r}: set {dataflow.sets[key].tag!r} is not on the selected paths")
            projected.append((key, column))
    elif join_columns:
        projected = list(dict.fromkeys(join_columns))
    else:  # a set's path to itself joins nothing: show its attributes
        projected = [(key, column) for key in in_from for column in dataflow.sets[key].types]
    select = ", ".join(
        f"{dataflow.sets[key].column(column, 'projection')} AS {quote(dataflow.sets[key].tag.lower() + '.' + column)}"
        for key, column in projected)
    tables = ", ".join(f"{qualified(*dataflow.sets[key].table.split('.', 1))} AS {dataflow.sets[key].alias}"
                       for key in in_from)
    text = f"SELECT {select}\nFROM {tables}"
    if conditions:
        text += "\nWHERE " + "\n  AND ".join(c.text for c in conditions)
    params = [value for c in conditions for value in c.params]
    console = f"SELECT {select}\nFROM {tables}"
    if conditions:
        console += "\nWHERE " + "\n  AND ".join(c.console() for c in conditions)
    paths = [[dataflow.sets[s].tag for s in sets_of(path, start)] for start, path in selected]
    return PathSql(text, params, console, paths)
