"""Steering a running training: POST /api/v1/executions/{exec}/steering asks, GET .../steering
shows the steering log, and the run's training process fetches (GET .../steering/next) and reports
(POST .../steering/{id}/outcome) what it did."""
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dfanalyzer import reading, steering_actions
from dfanalyzer.api.auth import may_write
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.api.responses import error_responses
from dfanalyzer.errors import Conflict, DfaError
from dfanalyzer.runs import status as run_status

router = APIRouter(prefix="/api/v1/executions", tags=["steering"], default_response_class=SafeJSONResponse)


class Forbidden(DfaError):
    status_code = 403


class SteeringRequest(BaseModel):
    action: str = Field(..., description="stop (after this epoch), stop_now (at the next batch), "
                                         "set_learning_rate (from the next epoch) or note",
                        json_schema_extra={"enum": list(steering_actions.ACTIONS)})  # checked with its message
    value: float | None = Field(None, description="the new learning rate, for set_learning_rate")
    note: str | None = Field(None, description="why; required for the action 'note'")
    actor: str | None = Field(None, description="who asks, when the service's token does not name its holder "
                                                "(--token NAME:SECRET wins)")


class SteeringOutcome(BaseModel):
    state: str = Field(..., description="applied or refused",
                       json_schema_extra={"enum": list(steering_actions.OUTCOMES)})
    epoch: float | None = None
    old_value: float | None = None
    new_value: float | None = None
    task: str | None = Field(None, description="identifier of the task that records the change")
    message: str | None = None


def _listeners(request):
    return request.app.state.listeners


def _require_write(request, what):
    if not may_write(request):
        raise Forbidden(f"the read-only token may not {what}; use the service's --token")


def _execution_id(request, store, execution, dataflow):
    return _listeners(request).execution_id(
        execution, dataflow, lambda: reading.find_execution(store, execution, dataflow)[0])


def _steerable(request, store, execution, dataflow, action):
    """The run's id, or Conflict saying why it cannot be steered now."""
    exec_id = reading.find_execution(store, execution, dataflow)[0]
    heard, schedule = _listeners(request).listening(exec_id)
    status, _ = run_status.of_execution(store, exec_id)
    if status == run_status.LOST:
        raise Conflict(f"run {execution!r} is LOST: its training process was last heard of at {heard:%Y-%m-%d %H:%M:%S} "
                       "UTC and cannot act on a steering action")
    if status != run_status.RUNNING:
        raise Conflict(f"run {execution!r} is {status}: only a RUNNING run can be steered")
    if heard is None:
        raise Conflict(f"run {execution!r} is RUNNING but its training process does not listen for steering "
                       "actions (recorded with DFA_URL=embedded:..., with KERAS_PROV_STEERING=0, or by a client "
                       "without steering); record to a DfAnalyzer service to steer it")
    if action == steering_actions.SET_LEARNING_RATE and schedule:
        raise Conflict(f"run {execution!r} follows the learning-rate schedule {schedule}: the schedule sets the rate "
                       "at every step, so a rate set by hand would not hold; stop the run and start it with another "
                       "schedule instead")
    return exec_id


class SteeringAction(BaseModel):
    execution: str | None = None
    id: int
    action: str
    value: float | None
    note: str | None
    actor: str
    requested_at: str
    state: str = Field(..., description="requested, delivered, applied or refused")
    delivered_at: str | None
    applied_at: str | None
    applied_epoch: float | None
    old_value: float | None
    new_value: float | None
    task_identifier: str | None = Field(..., description="the task that recorded the change (TrainingModel for a "
                                                         "stop, Adaptation for a learning rate)")
    message: str | None


class SteeringLog(BaseModel):
    execution: str
    status: str
    listening: bool
    last_heard: str | None
    learning_rate_schedule: str | None
    can_steer: bool = Field(..., description="whether the caller's token may steer")
    actions: list[SteeringAction]


class PendingActions(BaseModel):
    actions: list[SteeringAction]
    hold: float = Field(..., description="seconds the service holds a request when no action waits")


@router.post("/{execution}/steering", status_code=202, response_model=SteeringAction,
             responses=error_responses(403, 404, 409, 422))
async def steer(execution: str, body: SteeringRequest, request: Request, dataflow: str | None = None,
                store=Depends(get_store)):
    """Asks the run's training process to stop (after this epoch), stop_now (at the next batch),
    set_learning_rate (from the next epoch) or just record a note; 202 with the action's id.
    409 when the run is not RUNNING or its process does not listen; the process learns of the
    action within about a second and reports what it did (GET .../steering shows it)."""
    _require_write(request, "steer runs")
    fields = body.model_fields_set
    raw_value = body.value if "value" in fields else None
    action, value, note, actor = steering_actions.checked_request(
        body.action, raw_value, body.note, getattr(request.state, "actor", None) or body.actor)

    def ask():
        exec_id = _steerable(request, store, execution, dataflow, action)
        return exec_id, steering_actions.request(store, exec_id, action, value, note, actor)

    exec_id, record = await run_in_threadpool(ask)
    _listeners(request).notify(exec_id)
    return SafeJSONResponse({"execution": execution, **record}, status_code=202)


@router.get("/{execution}/steering", response_model=SteeringLog, responses=error_responses(404, 422))
def steering_log(execution: str, request: Request, dataflow: str | None = None, store=Depends(get_store)):
    """The run's status, whether its training process listens (and when it was last heard of),
    and every steering action asked of it with what became of it."""
    exec_id = reading.find_execution(store, execution, dataflow)[0]
    heard, schedule = _listeners(request).listening(exec_id)
    status, _ = run_status.of_execution(store, exec_id)
    return SafeJSONResponse({
        "execution": execution, "status": status, "listening": heard is not None and status == run_status.RUNNING,
        "last_heard": heard, "learning_rate_schedule": schedule, "can_steer": may_write(request),
        "actions": steering_actions.log(store, [exec_id])[exec_id],
    })


@router.get("/{execution}/steering/next", response_model=PendingActions, responses=error_responses(403, 404, 422))
async def next_actions(execution: str, request: Request, dataflow: str | None = None,
                       after: int = Query(0, ge=0, le=2 ** 63 - 1, description="the highest action id already received"),
                       schedule: str | None = Query(None, description="the optimizer's learning-rate schedule"),
                       store=Depends(get_store)):
    """For the run's training process: the actions not applied yet with an id above `after`, at
    once if there are, else when one is asked for, or an empty list after `hold` seconds. Each
    request tells the service that the process lives."""
    _require_write(request, "fetch steering actions")
    listeners = _listeners(request)
    exec_id = await run_in_threadpool(_execution_id, request, store, execution, dataflow)
    listeners.heard_from(exec_id, schedule)
    event = listeners.event(exec_id)
    try:
        actions = await run_in_threadpool(steering_actions.pending, store, exec_id, after)
        if not actions and await run_in_threadpool(_running, store, exec_id):
            await listeners.wait(event, listeners.hold)
            if await request.is_disconnected():
                return SafeJSONResponse({"actions": [], "hold": listeners.hold})
            actions = await run_in_threadpool(steering_actions.pending, store, exec_id, after)
    finally:
        listeners.release(exec_id, event)
    if actions:
        await run_in_threadpool(steering_actions.mark_delivered, store,
                                [a["id"] for a in actions if a["state"] == "requested"])
    return SafeJSONResponse({"actions": actions, "hold": listeners.hold})


def _running(store, exec_id):
    """Whether a request for actions is worth holding: not for a run that has ended."""
    return run_status.of_execution(store, exec_id)[0] in (run_status.RUNNING, run_status.LOST)


@router.post("/{execution}/steering/{action_id}/outcome", response_model=SteeringAction,
             responses=error_responses(403, 404, 422))
def action_outcome(execution: str, action_id: Annotated[int, Path(ge=0, le=2 ** 63 - 1)], body: SteeringOutcome, request: Request,
                   dataflow: str | None = None, store=Depends(get_store)):
    """For the run's training process: what it did with an action (applied at which epoch, with
    the old and new value and the task recording it; or refused, and why)."""
    _require_write(request, "report steering outcomes")
    exec_id = _execution_id(request, store, execution, dataflow)
    return SafeJSONResponse(steering_actions.record_outcome(store, exec_id, action_id, body.model_dump()))
