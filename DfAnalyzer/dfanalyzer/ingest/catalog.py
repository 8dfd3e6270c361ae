"""The catalog of one dataflow as the ingestion needs it: transformations, sets, attributes."""
from dataclasses import dataclass, field


@dataclass
class AttributeInfo:
    name: str
    column: str
    type: str


@dataclass
class SetInfo:
    id: int
    tag: str
    table: str
    attributes: list = field(default_factory=list)
    producers: set = field(default_factory=set)  # transformation ids writing the set (OUTPUT)
    consumers: set = field(default_factory=set)  # transformation ids reading the set (INPUT)

    def task_column(self, transformation_tag):
        return transformation_tag.lower() + "_task_id"

    def linked_transformations(self):
        return self.producers | self.consumers


@dataclass
class DataflowInfo:
    id: int
    tag: str
    schema: str
    transformations: dict = field(default_factory=dict)  # lower tag -> (id, tag)
    sets: dict = field(default_factory=dict)  # lower tag -> SetInfo

    def transformation_tag(self, transformation_id):
        for dt_id, tag in self.transformations.values():
            if dt_id == transformation_id:
                return tag
        raise KeyError(transformation_id)


def load_dataflow(tx, tag):
    """The DataflowInfo of `tag` (case-insensitive) from the catalog, or None."""
    rows = tx.fetch("SELECT id, tag, schema_name FROM dataflow WHERE LOWER(tag) = ?", [tag.lower()])
    if not rows:
        return None
    df_id, df_tag, schema = rows[0]
    info = DataflowInfo(df_id, df_tag, schema)
    for dt_id, dt_tag in tx.fetch("SELECT id, tag FROM data_transformation WHERE df_id = ? ORDER BY id", [df_id]):
        info.transformations[dt_tag.lower()] = (dt_id, dt_tag)
    for ds_id, ds_tag, table in tx.fetch("SELECT id, tag, table_name FROM data_set WHERE df_id = ? ORDER BY id", [df_id]):
        info.sets[ds_tag.lower()] = SetInfo(ds_id, ds_tag, table)
    by_id = {s.id: s for s in info.sets.values()}
    for ds_id, name, column, kind in tx.fetch(
        "SELECT a.ds_id, a.name, a.column_name, a.type FROM attribute a JOIN data_set s ON a.ds_id = s.id "
        "WHERE s.df_id = ? ORDER BY a.ds_id, a.ordinal", [df_id]
    ):
        by_id[ds_id].attributes.append(AttributeInfo(name, column, kind))
    for ds_id, previous_dt, next_dt in tx.fetch(
        "SELECT ds_id, previous_dt_id, next_dt_id FROM data_dependency WHERE df_id = ?", [df_id]
    ):
        if previous_dt is not None:
            by_id[ds_id].producers.add(previous_dt)
        if next_dt is not None:
            by_id[ds_id].consumers.add(next_dt)
    return info
