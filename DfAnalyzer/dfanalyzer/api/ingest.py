"""POST /api/v1/ingest: batches of messages, committed before the answer, each id once."""
import json
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from dfanalyzer.api.deps import get_ingestor
from dfanalyzer.api.responses import error_responses
from dfanalyzer.errors import InvalidInput

router = APIRouter(prefix="/api/v1", tags=["ingestion"])


class IngestMessage(BaseModel):
    id: str = Field(..., min_length=1, max_length=128, description="unique message id; a re-sent id is stored once")
    kind: Literal["dataflow", "execution", "task"]
    body: dict[str, Any] = Field(..., description="dataflow specification, execution agents or task message")


class IngestBatch(BaseModel):
    messages: list[IngestMessage]


class IngestAnswer(BaseModel):
    acknowledged: list[str]
    duplicates: list[str]


# The body is documented by IngestBatch but checked by the Ingestor, which checks the same things:
# validating each message through pydantic cost more than storing it.
_BODY_SCHEMA = IngestBatch.model_json_schema()
_BODY_SCHEMA["properties"]["messages"]["items"] = _BODY_SCHEMA.pop("$defs")["IngestMessage"]
_BODY_DOCUMENTATION = {"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}}


@router.post("/ingest", response_model=IngestAnswer, openapi_extra=_BODY_DOCUMENTATION,
             responses=error_responses(507))
async def ingest(request: Request, ingestor=Depends(get_ingestor)):
    """Stores the batch, each id once, in transactions of a fraction of a second (other clients'
    writes go in between). A bad message gets 422 naming its id: the messages before it may be
    stored, none after it; the batch re-sent without it stores the rest, each id once. A nearly
    full disk gets 507 with Retry-After (nothing of the batch stored): send it again later."""
    # Refused before parsing when the disk is already short. Not by the batch's size: a batch
    # larger than the margin would be refused for ever; its parts are checked as they are written.
    ingestor.check_space()
    batch = _parsed(await request.body())
    if not isinstance(batch, dict) or not isinstance(batch.get("messages"), list):
        raise InvalidInput('the body must be {"messages": [{id, kind, body}, ...]}')
    result = await run_in_threadpool(ingestor.ingest_batch, batch["messages"])
    # Written directly: checking 500 ids against IngestAnswer again costs more than writing them.
    return Response(orjson.dumps({"acknowledged": result.acknowledged, "duplicates": result.duplicates}),
                    media_type="application/json")


def _parsed(body):
    """The JSON body, by orjson (several times faster on a batch); what orjson refuses but Python's
    json module reads (NaN and Infinity, which Python clients send for such metrics, integers
    beyond 64 bits, lone surrogates) is read by the json module."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidInput(f"the body is not JSON ({error}); send {{\"messages\": [{{id, kind, body}}, ...]}}") from None
