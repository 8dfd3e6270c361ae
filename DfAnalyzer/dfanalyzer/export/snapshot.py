"""What the exporters and renderers read from the store, as plain records."""
import dataclasses
import datetime

from dfanalyzer.errors import UnrepresentableValue


def utc(value):
    """Stored timestamps are naive UTC; PROV wants them with their offset. A time outside the
    years 1-9999 is read as its text (see `store/engine.py`), which a PROV document (xsd:dateTime
    through Python's datetime) cannot hold: that export is refused, naming the time."""
    if isinstance(value, str):
        raise UnrepresentableValue(f"a stored time, {value}, is outside the years 1 to 9999 that PROV documents "
                                   "and graphs can hold; correct it in the database (its runs table and SQL "
                                   "show it as text)")
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


@dataclasses.dataclass
class Attribute:
    name: str
    column_name: str
    type: str


@dataclasses.dataclass
class DataSet:
    id: int
    tag: str
    table_name: str
    attributes: list
    producers: list  # data_transformation ids that write the set (OUTPUT)
    consumers: list  # data_transformation ids that read the set (INPUT)


@dataclasses.dataclass
class Transformation:
    id: int
    tag: str


@dataclasses.dataclass
class Execution:
    id: int
    tag: str
    start_time: object
    end_time: object
    status: object
    last_heard: object = None  # when a listening training process was last heard of


@dataclasses.dataclass
class Agent:
    id: int
    exec_id: int
    kind: str
    name: str
    properties: dict


@dataclasses.dataclass
class Task:
    id: int
    exec_id: int
    dt_id: int
    identifier: str
    sub_id: object
    status: object
    start_time: object
    end_time: object
    workspace: object
    resource: object
    output_msg: object
    error_msg: object
    depends_on: list = dataclasses.field(default_factory=list)  # task ids


@dataclasses.dataclass
class Row:
    """One stored element of a set: its values by attribute name and the tasks linked to it."""
    set_id: int
    id: int
    values: dict
    task_ids: dict  # data_transformation id -> task id


@dataclasses.dataclass
class ModelFile:
    id: int
    task_id: object
    exec_id: int
    path: str
    format: str
    size_bytes: object
    sha256: object
    created_at: object


@dataclasses.dataclass
class Snapshot:
    """The provenance of one execution, or of a dataflow with all its executions, as read from the
    store at one moment. Lists are in id order, so building from a snapshot is deterministic.

    Args:
        dataflow: dict with id, tag, schema_name, specification (JSON text).
        transformations, sets: the dataflow specification as stored in the catalog.
        executions, agents, tasks, rows, model_files: the stored provenance; `rows` maps a set id
            to its rows.
        steering: the steering actions asked of the executions (dicts, `steering_actions.COLUMNS`
            and exec_id).
    """
    dataflow: dict
    transformations: list
    sets: list
    executions: list = dataclasses.field(default_factory=list)
    agents: list = dataclasses.field(default_factory=list)
    tasks: list = dataclasses.field(default_factory=list)
    rows: dict = dataclasses.field(default_factory=dict)
    model_files: list = dataclasses.field(default_factory=list)
    steering: list = dataclasses.field(default_factory=list)  # steering_action records with exec_id

    def transformation(self, dt_id):
        return next((dt for dt in self.transformations if dt.id == dt_id), None)

    def set_by_tag(self, tag):
        """The set whose tag matches case-insensitively, or None."""
        return next((ds for ds in self.sets if ds.tag.lower() == tag.lower()), None)
