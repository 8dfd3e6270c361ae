"""POST /api/v1/ingest: batches of messages, committed before the answer, each id once."""
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from dfanalyzer.api.deps import get_ingestor

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


@router.post("/ingest", response_model=IngestAnswer)
def ingest(batch: IngestBatch, ingestor=Depends(get_ingestor)):
    """Stores the batch, each id once, in transactions of a fraction of a second (other clients'
    writes go in between). A bad message gets 422 naming its id: the messages before it may be
    stored, none after it; the batch re-sent without it stores the rest, each id once."""
    result = ingestor.ingest_batch([message.model_dump() for message in batch.messages])
    return IngestAnswer(acknowledged=result.acknowledged, duplicates=result.duplicates)
