"""Storing a dataflow specification: catalog rows, the dataflow's schema and its set tables.

A specification sent again with new transformations, sets or attributes extends what is stored
(new tables, new columns); nothing stored is dropped.
"""
import json

from dfanalyzer.errors import InvalidInput
from dfanalyzer.identifiers import check_label, check_schema_name, check_tag, qualified, quote, sql_name
from dfanalyzer.ingest.catalog import AttributeInfo, DataflowInfo, SetInfo, load_dataflow
from dfanalyzer.ingest.values import ATTRIBUTE_TYPES, column_type, now

SET_TYPES = ("INPUT", "OUTPUT")


def _as_list(value, where):
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list, got {type(value).__name__}")
    return value


def _parse(spec):
    """Validated (dataflow tag, [(transformation tag, [set dict])]) from a specification."""
    if not isinstance(spec, dict):
        raise InvalidInput("a dataflow specification must be a JSON object with 'tag' and 'transformations'")
    df_tag = check_tag(spec.get("tag"), "dataflow tag")
    transformations = []
    for t_index, transformation in enumerate(_as_list(spec.get("transformations"), "transformations")):
        if not isinstance(transformation, dict):
            raise InvalidInput(f"transformation #{t_index} must be an object with 'tag' and 'sets'")
        dt_tag = check_tag(transformation.get("tag"), f"transformation #{t_index} tag")
        sets = []
        for s_index, data_set in enumerate(_as_list(transformation.get("sets"), f"sets of {dt_tag}")):
            if not isinstance(data_set, dict):
                raise InvalidInput(f"set #{s_index} of transformation {dt_tag!r} must be an object")
            set_tag = check_tag(data_set.get("tag"), f"set #{s_index} tag of transformation {dt_tag!r}")
            set_type = str(data_set.get("type", "")).upper()
            if set_type not in SET_TYPES:
                raise InvalidInput(f"set {set_tag!r} of transformation {dt_tag!r} has type "
                                   f"{data_set.get('type')!r}; use INPUT or OUTPUT")
            attributes = []
            for a_index, attribute in enumerate(_as_list(data_set.get("attributes"), f"attributes of set {set_tag!r}")):
                if not isinstance(attribute, dict):
                    raise InvalidInput(f"attribute #{a_index} of set {set_tag!r} must be an object with name and type")
                name = check_tag(attribute.get("name"), f"attribute #{a_index} name of set {set_tag!r}")
                kind = str(attribute.get("type", "")).upper()
                if kind not in ATTRIBUTE_TYPES:
                    raise InvalidInput(f"attribute {name!r} of set {set_tag!r} has type {attribute.get('type')!r}; "
                                       f"use one of {', '.join(ATTRIBUTE_TYPES)}")
                attributes.append((name, kind))
            dependency = data_set.get("dependency")
            if isinstance(dependency, dict):
                dependency = dependency.get("tag")
            if dependency:
                dependency = check_tag(dependency, f"dependency of set {set_tag!r}")
            sets.append({"tag": set_tag, "type": set_type, "attributes": attributes, "dependency": dependency})
        programs = _as_list(transformation.get("programs"), f"programs of {dt_tag}")
        for program in programs:
            if isinstance(program, dict) and program.get("name") is not None:
                check_label(program["name"], f"program name of transformation {dt_tag!r}")
        transformations.append((dt_tag, sets, programs))
    return df_tag, transformations


class SpecificationWriter:
    """Stores specifications through a write transaction; `ids` hands out catalog ids."""

    def __init__(self, ids):
        self.ids = ids

    def save(self, tx, spec, info=None):
        """Stores `spec`, extending what is there; returns the updated DataflowInfo."""
        df_tag, transformations = _parse(spec)
        info = info or load_dataflow(tx, df_tag)
        if info is None:
            info = self._create_dataflow(tx, df_tag, spec)
        else:
            tx.execute("UPDATE dataflow SET specification = ?, updated_at = ? WHERE id = ?",
                       [json.dumps(spec), now(), info.id])
        for dt_tag, _, programs in transformations:
            if dt_tag.lower() not in info.transformations:
                dt_id = self.ids.take(tx, "sys", "data_transformation")
                tx.execute("INSERT INTO data_transformation (id, df_id, tag) VALUES (?, ?, ?)", [dt_id, info.id, dt_tag])
                info.transformations[dt_tag.lower()] = (dt_id, dt_tag)
                for program in programs:
                    if isinstance(program, dict):
                        tx.execute("INSERT INTO program (id, dt_id, name, path) VALUES (?, ?, ?, ?)",
                                   [self.ids.take(tx, "sys", "program"), dt_id, program.get("name"), program.get("path")])
        touched = {}
        for dt_tag, sets, _ in transformations:
            dt_id = info.transformations[dt_tag.lower()][0]
            for data_set in sets:
                set_info = self._ensure_set(tx, info, data_set)
                self._add_attributes(tx, set_info, data_set["attributes"])
                self._add_links(tx, info, set_info, dt_id, data_set)
                touched[set_info.tag.lower()] = set_info
        for set_info in touched.values():
            self._ensure_table(tx, info, set_info)
        return info

    def _create_dataflow(self, tx, df_tag, spec):
        schema = check_schema_name(sql_name(df_tag, "dataflow tag"), df_tag)
        clash = tx.fetch("SELECT COUNT(*) FROM sys.schemas WHERE name = ?", [schema])[0][0]
        if clash:
            raise InvalidInput(f"dataflow tag {df_tag!r} names an existing database schema; choose another tag")
        df_id = self.ids.take(tx, "sys", "dataflow")
        tx.execute("INSERT INTO dataflow (id, tag, schema_name, specification, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", [df_id, df_tag, schema, json.dumps(spec), now(), now()])
        tx.execute(f"CREATE SCHEMA {quote(schema)}")
        return DataflowInfo(df_id, df_tag, schema)

    def _ensure_set(self, tx, info, data_set):
        key = data_set["tag"].lower()
        if key not in info.sets:
            ds_id = self.ids.take(tx, "sys", "data_set")
            table = sql_name(data_set["tag"], "set tag")
            tx.execute("INSERT INTO data_set (id, df_id, tag, table_name) VALUES (?, ?, ?, ?)",
                       [ds_id, info.id, data_set["tag"], table])
            info.sets[key] = SetInfo(ds_id, data_set["tag"], table)
        return info.sets[key]

    def _add_attributes(self, tx, set_info, attributes):
        self._check_order(set_info, attributes)
        known = {a.column: a for a in set_info.attributes}
        for name, kind in attributes:
            column = name.lower()
            if column == "id" or column.endswith("_task_id"):
                raise InvalidInput(f"attribute {name!r} of set {set_info.tag!r} clashes with a column DfAnalyzer "
                                   "adds itself (id, <transformation>_task_id); rename it")
            if column in known:
                if known[column].type != kind:
                    raise InvalidInput(f"attribute {name!r} of set {set_info.tag!r} is stored as {known[column].type}; "
                                       f"it cannot become {kind}. Use a new attribute name")
                continue
            tx.execute("INSERT INTO attribute (id, ds_id, name, column_name, type, ordinal) VALUES (?, ?, ?, ?, ?, ?)",
                       [self.ids.take(tx, "sys", "attribute"), set_info.id, name, column, kind, len(set_info.attributes)])
            attribute = AttributeInfo(name, column, kind)
            set_info.attributes.append(attribute)
            known[column] = attribute

    @staticmethod
    def _check_order(set_info, attributes):
        """Elements are positional in the stored attribute order, so a specification may extend a
        set only at its end: a reordered or inserted attribute would shift values into the wrong
        columns without anyone noticing."""
        stored = [a.column for a in set_info.attributes]
        listed = [name.lower() for name, _ in attributes]
        positions = [stored.index(column) for column in listed if column in stored]
        first_new = next((i for i, column in enumerate(listed) if column not in stored), len(listed))
        known_after_new = any(column in stored for column in listed[first_new:])
        if positions != sorted(positions) or known_after_new:
            raise InvalidInput(
                f"set {set_info.tag!r} lists its attributes as ({', '.join(listed)}) but stores them as "
                f"({', '.join(stored)}); elements are matched by position, so keep the stored order and add new "
                "attributes after the existing ones")

    def _add_links(self, tx, info, set_info, dt_id, data_set):
        links = []
        if data_set["type"] == "OUTPUT":
            links.append((dt_id, None))
        else:
            producer = None
            if data_set["dependency"]:
                key = data_set["dependency"].lower()
                if key not in info.transformations:
                    raise InvalidInput(f"set {set_info.tag!r} depends on transformation {data_set['dependency']!r}, "
                                       "which this dataflow does not define")
                producer = info.transformations[key][0]
            links.append((producer, dt_id))
        for previous_dt, next_dt in links:
            if (previous_dt is None or previous_dt in set_info.producers) and (next_dt is None or next_dt in set_info.consumers):
                continue
            tx.execute("INSERT INTO data_dependency (id, df_id, ds_id, previous_dt_id, next_dt_id) VALUES (?, ?, ?, ?, ?)",
                       [self.ids.take(tx, "sys", "data_dependency"), info.id, set_info.id, previous_dt, next_dt])
            if previous_dt is not None:
                set_info.producers.add(previous_dt)
            if next_dt is not None:
                set_info.consumers.add(next_dt)

    def _ensure_table(self, tx, info, set_info):
        wanted = [("id", "BIGINT")]
        for dt_id in sorted(set_info.linked_transformations()):
            wanted.append((set_info.task_column(info.transformation_tag(dt_id)), "BIGINT"))
        wanted += [(a.column, column_type(a.type)) for a in set_info.attributes]
        existing = tx.fetch(
            "SELECT c.name FROM sys.columns c JOIN sys.tables t ON c.table_id = t.id "
            "JOIN sys.schemas s ON t.schema_id = s.id WHERE s.name = ? AND t.name = ?",
            [info.schema, set_info.table],
        )
        table = qualified(info.schema, set_info.table)
        if not existing:
            columns = ", ".join(f"{quote(name)} {kind}" for name, kind in wanted)
            # No PRIMARY KEY: monetdbe's bulk append refuses tables with key constraints. Row ids
            # come from the single writer's IdAllocator, which keeps them unique.
            tx.execute(f"CREATE TABLE {table} ({columns})")
            return
        have = {row[0] for row in existing}
        for name, kind in wanted:
            if name not in have:
                tx.execute(f"ALTER TABLE {table} ADD COLUMN {quote(name)} {kind}")
