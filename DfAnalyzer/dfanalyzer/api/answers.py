"""Response models of the reading and ingestion routes: what the OpenAPI document promises and
schemathesis checks. Routes build their answers as dicts; these only describe them."""
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HealthAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    version: str
    backend: str
    worker_restarts: int = 0


class StoredAnswer(BaseModel):
    stored: str
    tag: str | None = None
    task_id: int | None = None


class QueryAnswer(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class DataflowSummary(BaseModel):
    tag: str
    schema_name: str
    created_at: str | None
    updated_at: str | None
    executions: int


class ExecutionSummary(BaseModel):
    execution: str
    dataflow: str
    start_time: str | None
    end_time: str | None
    tasks: int
    status: str = Field(..., description="RUNNING, LOST, FINISHED, FAILED, ABORTED, STOPPED or PRUNED (runs.status)")
    last_heard: str | None = Field(None, description="when its listening training process was last heard of (UTC)")


class RunSummary(ExecutionSummary):
    metrics: dict[str, Any]


class AttributeDescription(BaseModel):
    name: str
    column: str
    type: str


class SetDescription(BaseModel):
    tag: str
    table: str
    attributes: list[AttributeDescription]
    produced_by: list[str]
    consumed_by: list[str]


class TransformationDescription(BaseModel):
    tag: str
    input_sets: list[str]
    output_sets: list[str]


class DataflowSpecification(BaseModel):
    tag: str
    schema_name: str = Field(alias="schema")
    transformations: list[TransformationDescription]
    sets: list[SetDescription]


class ExecutionDetail(BaseModel):
    execution: str
    dataflow: str
    status: str
    last_heard: str | None = None
    agents: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
