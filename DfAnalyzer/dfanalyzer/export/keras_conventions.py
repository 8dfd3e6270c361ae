"""Derivations that only make sense for the sets keras_prov records."""

HYPERPARAMETER_SET = "iTrainingModel"
TRAINED_MODEL_SET = "oTrainedModel"
ADAPTATION = "Adaptation"
ADAPTATION_INPUT_SET = "iAdaptation"
ADAPTATION_OUTPUT_SET = "oAdaptation"


class KerasConventions:
    """Adds to a document built from a keras_prov dataflow what generic rows cannot say.

    Applied only when the sets exist (tags compared case-insensitively), so other dataflows are
    exported generically:
    - a trained model (a `model_file` entity, or an `oTrainedModel` row) `wasDerivedFrom` the
      hyperparameter rows (`iTrainingModel`) its training task used; an `oTrainedModel` row and a
      stored model file with the same sha256 are `alternateOf` each other;
    - the rate recorded by each learning-rate adaptation (its `oAdaptation` rows, else its
      `iAdaptation` rows) `wasDerivedFrom` the rate before it: the previous adaptation of the same
      execution, or the hyperparameters for the first one; `oAdaptation` rows also derive from the
      `iAdaptation` rows of the same task.

    Example:
        DocumentBuilder(conventions=[KerasConventions()]).build(snapshot)
    """

    def apply(self, context):
        snapshot = context.snapshot
        hyperparameters = snapshot.set_by_tag(HYPERPARAMETER_SET)
        self._trained_models(context, hyperparameters)
        self._adaptations(context, hyperparameters)

    # -- helpers over the snapshot ------------------------------------------------------------

    @staticmethod
    def _rows_of(context, data_set, task_id, role):
        """Entity ids of the rows of `data_set` that task `task_id` produced ("out") or used ("in")."""
        if data_set is None:
            return []
        dt_ids = data_set.producers if role == "out" else data_set.consumers
        return [context.row_ids[(data_set.id, row.id)]
                for row in context.snapshot.rows.get(data_set.id, [])
                if any(row.task_ids.get(dt_id) == task_id for dt_id in dt_ids)
                and (data_set.id, row.id) in context.row_ids]

    def _hyperparameters_of_execution(self, context, hyperparameters, exec_id):
        task_ids = [task.id for task in context.snapshot.tasks if task.exec_id == exec_id]
        found = []
        for task_id in task_ids:
            for entity in self._rows_of(context, hyperparameters, task_id, "in"):
                if entity not in found:
                    found.append(entity)
        return found

    # -- the two conventions ------------------------------------------------------------------

    def _trained_models(self, context, hyperparameters):
        if hyperparameters is None:
            return
        document = context.document
        for model_file in context.snapshot.model_files:
            if model_file.task_id in context.task_ids:
                sources = self._rows_of(context, hyperparameters, model_file.task_id, "in")
                activity = context.task_ids[model_file.task_id]
            else:
                sources = self._hyperparameters_of_execution(context, hyperparameters, model_file.exec_id)
                activity = None
            for source in sources:
                document.wasDerivedFrom(context.model_ids[model_file.id], source, activity)
        trained = context.snapshot.set_by_tag(TRAINED_MODEL_SET)
        if trained is None:
            return
        for task in context.snapshot.tasks:
            models = self._rows_of(context, trained, task.id, "out")
            if not models:
                continue
            sources = self._rows_of(context, hyperparameters, task.id, "in")
            for model in models:
                for source in sources:
                    document.wasDerivedFrom(model, source, context.task_ids[task.id])
        self._same_files(context, trained)

    @staticmethod
    def _same_files(context, trained):
        """An oTrainedModel row and a stored model file with the same sha256 describe one file."""
        files = {}
        for model_file in context.snapshot.model_files:
            if model_file.sha256:
                files.setdefault((model_file.exec_id, model_file.sha256.lower()), []).append(model_file)
        if not files:
            return
        exec_of_task = {task.id: task.exec_id for task in context.snapshot.tasks}
        for row in context.snapshot.rows.get(trained.id, []):
            digest = row.values.get("sha256")
            if not isinstance(digest, str):
                continue
            executions = {exec_of_task.get(task_id) for task_id in row.task_ids.values()}
            for exec_id in sorted(execution for execution in executions if execution is not None):
                for model_file in files.get((exec_id, digest.lower()), []):
                    context.document.alternateOf(context.row_ids[(trained.id, row.id)],
                                                 context.model_ids[model_file.id])

    def _adaptations(self, context, hyperparameters):
        snapshot = context.snapshot
        adaptation_input = snapshot.set_by_tag(ADAPTATION_INPUT_SET)
        adaptation_output = snapshot.set_by_tag(ADAPTATION_OUTPUT_SET)
        if adaptation_input is None and adaptation_output is None:
            return
        adaptation_ids = {dt.id for dt in snapshot.transformations if dt.tag.lower() == ADAPTATION.lower()}
        document = context.document
        for execution in snapshot.executions:
            tasks = [task for task in snapshot.tasks
                     if task.exec_id == execution.id and task.dt_id in adaptation_ids]
            # Adaptations happen one after the other; ties in time keep the order they arrived in.
            tasks.sort(key=lambda task: (task.start_time is None,
                                         task.start_time.timestamp() if task.start_time else 0, task.id))
            previous = self._hyperparameters_of_execution(context, hyperparameters, execution.id) \
                if hyperparameters is not None else []
            for task in tasks:
                activity = context.task_ids[task.id]
                inputs = self._rows_of(context, adaptation_input, task.id, "in")
                outputs = self._rows_of(context, adaptation_output, task.id, "out")
                for output in outputs:
                    for source in inputs:
                        document.wasDerivedFrom(output, source, activity)
                rates = outputs or inputs
                for rate in rates:
                    for source in previous:
                        document.wasDerivedFrom(rate, source, activity)
                if rates:
                    previous = rates
