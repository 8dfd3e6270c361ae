"""What the OpenAPI document says about error answers, so that it lists every status a route
returns with the body it has."""
from typing import Any

from pydantic import BaseModel

DESCRIPTIONS = {
    400: "the query is not allowed or MonetDB refused it",
    401: "a token is required: send Authorization: Bearer <token>",
    403: "the read-only token may not do this (ingest, upload, steer): use the service's --token",
    404: "the named dataflow, execution, model or task does not exist",
    409: "the request conflicts with what is stored: a model upload with other bytes, or steering a run that "
         "is not RUNNING or does not listen",
    413: "the request is too large",
    415: "the request body has the wrong content type",
    422: "the request is malformed or one of its values is invalid",
    503: "the store cannot be reached",
    507: "the disk of the data (or models) directory is nearly full: nothing was stored; send again after "
         "Retry-After seconds (writing resumes by itself once space is freed)",
}


class ErrorAnswer(BaseModel):
    """The body of every error answer: `detail` says what was wrong and how to fix it (a text, or
    for ingestion {error, message_id}, or FastAPI's list of validation errors)."""

    detail: Any


def error_responses(*statuses):
    """The `responses=` entry of a route for the error statuses it can answer."""
    return {status: {"model": ErrorAnswer, "description": DESCRIPTIONS[status]} for status in statuses}
