"""The entities keras_prov's lineage sets stand for, named by digest so that every document names
them alike.

Applied when the sets exist (`iData`, `iTestData`, `iCodeEnvironment`, `oModelWeights`):
- each data row is an `alternateOf` the data entity `kprov:data/sha256-<hex>` (prov:type
  kprov:Data, the full hex digest, digest_kind, kind, shape, dtype), which the task `used`: the
  same data in two runs, in two documents, is the same entity;
- the code row: the task `used` `kprov:script/sha256-<hex>` (or the notebook cell's), carrying
  the path, the git commit, branch and dirty flag and the diff's digest, and
  `kprov:packages/sha256-<hex>`;
- the weights row: the task generated `kprov:model-weights/sha256-<trained>` (alternateOf the
  stored model files of the task); when its initial digest is the trained digest of a recorded
  run (any dataflow, looked up in the store), the task `used` `kprov:model-weights/sha256-<initial>`,
  which names that run (source_dataflow, source_execution, source_task), and the trained weights
  `wasDerivedFrom` it;
- with DLProv data steps (`iDataSteps` / `iTestDataSteps`, from `provenance(data_steps=...)`), each
  data entity `wasDerivedFrom` the rows the step produced (x/y of a fit from `oTrainSet`,
  validation data from `oValSet`, evaluation data from `oTestSet`; every output when the step has
  none of them, e.g. LoadData, ApplyFilter), named as in the DLProv dataflow's own documents.
"""
from dfanalyzer.export.namespace import local_name, term

DATA_SETS = (("iData", "iDataSteps", "training"), ("iTestData", "iTestDataSteps", "evaluation"))
CODE_SET = "iCodeEnvironment"
WEIGHTS_SET = "oModelWeights"
CODE_ATTRIBUTES = ("script_path", "notebook", "git_commit", "git_branch", "git_dirty", "git_diff_sha256",
                   "command_line", "python_version")


class LineageConventions:
    """Args:
        store: the store the snapshot was read from, to find the run a model derives from (None:
            derivations across runs are left out)."""

    def __init__(self, store=None):
        self.store = store

    def apply(self, context):
        snapshot = context.snapshot
        for tag, steps_tag, use in DATA_SETS:
            steps = self._steps_by_task(context, snapshot.set_by_tag(steps_tag))
            self._rows(context, snapshot.set_by_tag(tag),
                       lambda c, row, entity, tasks, steps=steps, use=use: self._data(c, row, entity, tasks, steps, use))
        self._rows(context, snapshot.set_by_tag(CODE_SET), self._code)
        self._rows(context, snapshot.set_by_tag(WEIGHTS_SET), self._weights)

    def _rows(self, context, data_set, link):
        if data_set is None:
            return
        for row in context.snapshot.rows.get(data_set.id, []):
            entity = context.row_ids.get((data_set.id, row.id))
            tasks = [context.task_ids[task_id] for task_id in row.task_ids.values() if task_id in context.task_ids]
            if entity is not None:
                link(context, row, entity, tasks)

    @staticmethod
    def _entity(context, identifier, attributes):
        found = context.document.get_record(identifier)
        return found[0] if found else context.document.entity(
            identifier, {key: value for key, value in attributes.items() if value is not None})

    def _steps_by_task(self, context, data_set):
        """{task activity: [DLProv step outputs]} of the snapshot's data-steps rows."""
        found = {}
        if data_set is None or self.store is None:
            return found
        from dfanalyzer.runs.lineage import RunLineage

        reader = RunLineage(self.store)
        for row in context.snapshot.rows.get(data_set.id, []):
            outputs = reader.step_outputs(row.values)
            for task_id in row.task_ids.values():
                if task_id in context.task_ids:
                    found.setdefault(context.task_ids[task_id], []).extend(outputs)
        return found

    def _data(self, context, row, row_entity, tasks, steps, use):
        digest = row.values.get("sha256")
        if not digest:
            return
        values = row.values
        label = " ".join(str(values[name]) for name in ("kind", "shape", "dtype") if values.get(name))
        data = self._entity(context, local_name("data", f"sha256-{digest}"), {
            "prov:type": context.qualified("Data"), "prov:label": label or digest,
            term("sha256"): digest, term("digest_kind"): values.get("digest_kind"), term("kind"): values.get("kind"),
            term("shape"): values.get("shape"), term("dtype"): values.get("dtype"),
            term("element_spec"): values.get("element_spec")})
        context.document.alternateOf(row_entity, data)
        for task in tasks:
            context.document.used(task, data, other_attributes={"prov:role": values.get("argument") or "data"})
            for output in _matching_outputs(steps.get(task, []), use, values.get("argument") or ""):
                source = self._entity(context, local_name("data", output["dataflow"], output["set"], output["row"]), {
                    "prov:type": context.qualified("set/" + output["set"]), "prov:label": f"{output['set']} {output['row']}",
                    term("dataflow"): output["dataflow"]})
                context.document.wasDerivedFrom(data, source)

    def _code(self, context, row, row_entity, tasks):
        values = row.values
        digest = values.get("script_sha256") or values.get("cell_sha256")
        if digest:
            code = self._entity(context, local_name("script", f"sha256-{digest}"), {
                "prov:type": context.qualified("Script" if values.get("script_sha256") else "NotebookCell"),
                "prov:label": values.get("script_path") or values.get("notebook") or digest,
                term("sha256"): digest, **{term(name): values.get(name) for name in CODE_ATTRIBUTES}})
            context.document.alternateOf(row_entity, code)
            for task in tasks:
                context.document.used(task, code)
        if values.get("packages_sha256"):
            packages = self._entity(context, local_name("packages", f"sha256-{values['packages_sha256']}"), {
                "prov:type": context.qualified("PythonPackages"), term("sha256"): values["packages_sha256"],
                term("count"): values.get("packages_count")})
            for task in tasks:
                context.document.used(task, packages)

    def _weights(self, context, row, row_entity, tasks):
        trained, initial = row.values.get("trained_weights_sha256"), row.values.get("initial_weights_sha256")
        if not trained:
            return
        weights = self._entity(context, local_name("model-weights", f"sha256-{trained}"), {
            "prov:type": context.qualified("ModelWeights"), term("sha256"): trained})
        context.document.alternateOf(row_entity, weights)
        own_tasks = set(row.task_ids.values())
        for model_file in context.snapshot.model_files:
            if model_file.task_id in own_tasks and model_file.id in context.model_ids:
                context.document.alternateOf(context.model_ids[model_file.id], weights)
        sources = self._sources(initial, context) if initial and initial != trained else []
        if not sources:
            return
        source = sources[-1]
        origin = self._entity(context, local_name("model-weights", f"sha256-{initial}"), {
            "prov:type": context.qualified("ModelWeights"), term("sha256"): initial,
            term("source_dataflow"): source["dataflow"], term("source_execution"): source["execution"],
            term("source_task"): source["task"]})
        for task in tasks:
            context.document.used(task, origin)
            context.document.wasDerivedFrom(weights, origin, task)

    def _sources(self, digest, context):
        if self.store is None:
            return []
        from dfanalyzer.runs.lineage import WEIGHTS, RunLineage

        return RunLineage(self.store).runs_with(WEIGHTS, "trained_weights_sha256", digest)


def _matching_outputs(outputs, use, argument):
    """The step outputs an input comes from (see the module's docstring)."""
    from dfanalyzer.runs.lineage import STEP_OUTPUTS

    base = argument.split("[")[0].split("_")[0]
    wanted = STEP_OUTPUTS.get(use, {}).get(base)
    matching = [output for output in outputs if output["set"].lower() == wanted]
    known = set(STEP_OUTPUTS["training"].values()) | set(STEP_OUTPUTS["evaluation"].values())
    if matching:
        return matching
    return [output for output in outputs if output["set"].lower() not in known]
