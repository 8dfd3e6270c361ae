"""Steering actions in a PROV document: who asked a running training to change, what, when and
why, and the task that records the change."""
from prov.constants import PROV

from dfanalyzer.export.namespace import local_name, term

NUMBERS = (("value", "value"), ("applied_epoch", "appliedEpoch"), ("old_value", "oldValue"),
           ("new_value", "newValue"))
TEXTS = (("action", "action"), ("state", "state"), ("note", "note"), ("message", "message"))


class SteeringRecords:
    """Adds each steering action of the snapshot's executions (`snapshot.steering`):

    - an activity `steering/<dataflow>/<exec>/<id>` of type `kprov:SteeringAction`, from the
      request to the process's report, with the action, value, note, state, the epoch it was
      applied at and the old and new value;
    - `wasAssociatedWith` the person who asked (the execution's person agent of that name, or a
      new `prov:Person`), and `wasInformedBy` the execution it steered;
    - the task that records the change (an Adaptation with cause `user`, or the TrainingModel task
      that ended STOPPED) `wasInformedBy` the steering activity.

    Example:
        DocumentBuilder(conventions=[KerasConventions(), SteeringRecords()]).build(snapshot)
    """

    def apply(self, context):
        snapshot = context.snapshot
        for action in getattr(snapshot, "steering", []):
            execution = context.execution(action["exec_id"])
            self._action(context, execution, action)

    def _action(self, context, execution, action):
        document = context.document
        label = f"{action['action']} by {action['actor']}"
        attributes = {"prov:type": context.qualified("SteeringAction"), "prov:label": label}
        for key, name in TEXTS:
            if action.get(key) not in (None, ""):
                attributes[term(name)] = str(action[key])
        for key, name in NUMBERS:
            if action.get(key) is not None:
                attributes[term(name)] = float(action[key])
        activity = document.activity(local_name("steering", context.dataflow_tag, execution.tag, action["id"]),
                                     action.get("requested_at"), action.get("applied_at"), attributes)
        person_id = local_name("agent", context.dataflow_tag, execution.tag, "person", action["actor"])
        if not document.get_record(person_id):
            document.agent(person_id, {"prov:type": PROV["Person"], "prov:label": action["actor"]})
        document.wasAssociatedWith(activity, person_id)
        document.wasInformedBy(activity, context.execution_ids[execution.id])
        task = next((t for t in context.snapshot.tasks
                     if t.exec_id == execution.id and t.identifier == action.get("task_identifier")), None)
        if task is not None and task.id in context.task_ids:
            document.wasInformedBy(context.task_ids[task.id], activity)
