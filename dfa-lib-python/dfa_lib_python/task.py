"""A task: one execution of a transformation, with the data it consumed and produced."""
from dfa_lib_python._tags import checked_tag, enum_value
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.dependency import Dependency
from dfa_lib_python import mismatch
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.file import File
from dfa_lib_python.performance import Performance, utc_now_text
from dfa_lib_python.registry import registry
from dfa_lib_python.task_status import KEPT_AT_END, TaskStatus


class Task:
    """One execution of a transformation. `begin()`, `save()` and `end()` queue a task message
    with the data sets added since the previous one and return at once (tens of microseconds);
    a background thread delivers it.

    Data sets added with `add_dataset` accumulate until the next `begin`/`save`/`end`, which sends
    them and clears them, so every element is stored exactly once whether a script adds several
    data sets before one send or adds one and saves every epoch.

    Args:
        id: task id, unique within the execution (an int or str).
        dataflow_tag: tag of the dataflow.
        exec_tag: execution tag (Keras-Prov style). The original style `Task(id, dataflow_tag,
            transformation_tag)` leaves it out; the task then belongs to the run of the latest
            Dataflow object of that tag in this process (one run per process otherwise).
        transformation_tag: tag of the transformation this task executes.
        sub_id: sub-id of the task (e.g. a fold or a trial).
        dependency: a Task, a list of Tasks, or a Dependency this task depends on.
        workspace, resource, output, error: free text stored with the task.

    Example:
        t1 = Task(1, "mydf", "ExtractRatio")
        t1.add_dataset(DataSet("iExtractRatio", [Element(["a.csv", 0.5])]))
        t1.begin()
        t1.add_dataset(DataSet("oExtractRatio", [Element([0.5])]))
        t1.end()
        t2 = Task(2, "mydf", "ComputeRatio", dependency=t1)
    """

    def __init__(self, id, dataflow_tag, exec_tag=None, transformation_tag=None, sub_id="", dependency=None,
                 workspace="", resource="", output="", error=""):
        if transformation_tag is None:
            if exec_tag is None:
                raise SpecificationError("Task needs a transformation tag: Task(id, dataflow_tag, transformation_tag) "
                                         "or Task(id, dataflow_tag, exec_tag, transformation_tag)")
            transformation_tag, exec_tag = exec_tag, None
        if id is None or str(id) == "":
            raise SpecificationError("Task needs an id, e.g. Task(1, ...)")
        self._tag = str(id)
        self._dataflow_tag = checked_tag(dataflow_tag, "dataflow tag").lower()
        self._transformation_tag = checked_tag(transformation_tag, "transformation tag").lower()
        if exec_tag is None:
            self._execution = registry.current_execution(self._dataflow_tag)
        else:
            self._execution = registry.execution(self._dataflow_tag, exec_tag)
        self._sub_id = "" if sub_id is None else str(sub_id)
        self._dependency = None
        if dependency is not None:
            self.add_dependency(dependency)
        self.workspace = workspace
        self.resource = resource
        self.output = output
        self.error = error
        self._status = TaskStatus.READY
        self._sets = []
        self._files = []
        self._performances = []
        self.start_time = None
        self.end_time = None

    # ----------------------------------------------------------------- identity
    @property
    def id(self):
        return self._tag

    @property
    def tag(self):
        return self._tag

    @property
    def dataflow_tag(self):
        return self._dataflow_tag

    @property
    def transformation_tag(self):
        return self._transformation_tag

    @property
    def exec_tag(self):
        return self._execution.tag

    @property
    def execution(self):
        return self._execution

    @property
    def sub_id(self):
        return self._sub_id

    @property
    def status(self):
        return self._status

    # ----------------------------------------------------------------- data
    def _checked(self, dataset):
        """The specification of `dataset` as it can be stored (see `mismatch`), or None when
        nothing of it can."""
        if not isinstance(dataset, DataSet):
            raise SpecificationError(f"task {self._tag}: expected a DataSet, got {dataset!r}")
        dataflow = registry.dataflow(self._dataflow_tag)
        if dataflow is None:
            return dataset.get_specification()  # declared by another program: the service checks it
        names = dataflow.set_attribute_names(dataset.tag)
        if names is None:
            mismatch.undeclared_set(dataset, self, dataflow.set_tags())
            return None
        if all(len(element) == len(names) for element in dataset.elements):
            return dataset.get_specification()
        return {"tag": dataset.tag.lower(), "elements": mismatch.fitted_elements(dataset, names, self)}

    def add_dataset(self, dataset):
        """Adds the elements of one set; they are sent by the next begin/save/end. An element whose
        length differs from its set's attributes, or a set the dataflow does not declare, is a
        warning and is padded or set aside (DFA_STRICT=1: ElementLengthError/SpecificationError)."""
        checked = self._checked(dataset)
        if checked is not None:
            self._sets.append(checked)

    def set_datasets(self, datasets):
        """Replaces the data sets waiting to be sent."""
        self._sets = [checked for checked in map(self._checked, datasets) if checked is not None]

    def add_file(self, file):
        if not isinstance(file, File):
            raise SpecificationError(f"task {self._tag}: expected a File, got {file!r}")
        self._files.append(file.get_specification())

    def add_dependency(self, dependency):
        """Adds tasks this one depends on: a Task, a list of Tasks, or a Dependency."""
        if isinstance(dependency, Task):
            dependency = Dependency([dependency.transformation_tag], [dependency.id])
        elif isinstance(dependency, (list, tuple)) and all(isinstance(d, Task) for d in dependency):
            dependency = Dependency([d.transformation_tag for d in dependency], [d.id for d in dependency])
        elif not isinstance(dependency, Dependency):
            raise SpecificationError(f"task {self._tag}: a dependency is a Task, a list of Tasks or a Dependency, "
                                     f"got {dependency!r}")
        self._dependency = dependency if self._dependency is None else self._dependency.merged(dependency)

    @property
    def dependency(self):
        return self._dependency

    def set_status(self, status):
        self._status = TaskStatus(enum_value(status, TaskStatus, f"status of task {self._tag}"))

    # ----------------------------------------------------------------- sending
    def get_specification(self):
        spec = {
            "id": self._tag,
            "sub_id": self._sub_id,
            "dataflow": self._dataflow_tag,
            "exec": self._execution.tag,
            "transformation": self._transformation_tag,
            "status": self._status.value,
            "sets": self._sets,
            "dependency": self._dependency.get_specification() if self._dependency else {"tags": [], "ids": []},
            "performances": self._performances,
            "workspace": self.workspace or "",
            "resource": self.resource or "",
            "output": self.output or "",
            "error": self.error or "",
        }
        if self._files:
            spec["files"] = self._files
        return spec

    def _send(self):
        spec = self.get_specification()
        self._sets, self._performances, self._files = [], [], []
        dataflow = registry.dataflow(self._dataflow_tag)
        if dataflow is not None:
            dataflow.save_if_unsent(self._transformation_tag, [data_set["tag"] for data_set in spec["sets"]])
        client = registry.client()
        client.ensure_execution(self._execution)
        client.send("task", spec)

    def begin(self):
        """Marks the task RUNNING, records its start time and queues it with its data sets."""
        self._status = TaskStatus.RUNNING
        self.start_time = utc_now_text()
        # A start without an end dates the task on the service; the performance row comes with end().
        self._performances.append(Performance(self.start_time, None).get_specification())
        self._send()

    def save(self):
        """Queues the task's current status and the data sets added since the last send."""
        self._send()

    def end(self):
        """Marks the task FINISHED (unless set to FAILED, ABORTED, STOPPED or PRUNED), records its start and
        end times and queues it with its data sets."""
        if self._status not in KEPT_AT_END:
            self._status = TaskStatus.FINISHED
        self.end_time = utc_now_text()
        self._performances.append(Performance(self.start_time or self.end_time, self.end_time).get_specification())
        self._send()

    def __repr__(self):
        return f"Task({self._tag!r}, {self._dataflow_tag!r}, {self.exec_tag!r}, {self._transformation_tag!r})"
