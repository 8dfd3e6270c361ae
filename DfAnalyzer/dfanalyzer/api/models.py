"""Trained models: upload (keras_prov does it at the end of fit), list, describe, download.

Stored models are never overwritten: the same bytes uploaded again for the same task and file name
answer the stored model (same id); other bytes under that name get 409 Conflict.
"""
import tempfile

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dfanalyzer.api.deps import get_settings, get_store
from dfanalyzer.api.download_name import content_disposition
from dfanalyzer.api.responses import error_responses
from dfanalyzer.errors import DfaError
from dfanalyzer.identifiers import MAX_LENGTH, TAG_PATTERN
from dfanalyzer.model_store import FILE_NAME, FORMAT, ModelStore

router = APIRouter(prefix="/api/v1", tags=["models"])

MAX_ID = 2 ** 63 - 1  # model ids are BIGINT
UPLOAD_MEDIA_TYPE = "application/octet-stream"
UPLOAD_TASK_ID = r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,254}$"  # a folder name: TASK_ID without '.' and '..'


class UnsupportedMediaType(DfaError):
    """An upload that is not application/octet-stream (HTTP 415). Browsers send text/plain and
    form posts across origins without asking first; refusing them keeps other sites out."""

    status_code = 415


class ModelDescription(BaseModel):
    id: int
    task_id: int | None
    exec_id: int
    path: str
    format: str
    size_bytes: int | None
    sha256: str | None
    created_at: str | None
    exec: str | None = None
    dataflow: str | None = None
    task: str | None = None
    file_name: str | None = None
    url: str


class ModelList(BaseModel):
    models: list[ModelDescription]


def _models(store, settings):
    return ModelStore(store, settings.models_dir, min_free=settings.min_free)


def _model_id():
    return Path(..., ge=1, le=MAX_ID, description="id from GET /api/v1/models")


@router.post("/models", status_code=201, response_model=ModelDescription,
             responses=error_responses(404, 409, 415, 422, 507),
             openapi_extra={"requestBody": {"required": True, "content": {
                 UPLOAD_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_model(request: Request,
                       dataflow: str = Query(..., pattern=f"^{TAG_PATTERN.pattern}$", max_length=MAX_LENGTH,
                                             description="dataflow tag of the training task"),
                       exec: str = Query(..., pattern=f"^{TAG_PATTERN.pattern}$", max_length=MAX_LENGTH,
                                         description="execution tag"),
                       task: str = Query(..., pattern=UPLOAD_TASK_ID, description="id of the training task (the "
                                         "client's id): letters, digits, '_', '-', '.', not starting with '.'"),
                       file_name: str = Query(..., pattern=FILE_NAME.pattern, description="e.g. model.keras"),
                       format: str = Query(..., pattern=FORMAT.pattern, description="e.g. keras or weights.h5"),
                       sha256: str | None = Query(None, description="expected digest; refused when the bytes differ"),
                       store=Depends(get_store), settings=Depends(get_settings)):
    """Stores the request body (application/octet-stream) as a model file of the training task
    and records it in `model_file`. Answers its description with `id` and download `url`.
    The same bytes again answer the stored model; other bytes under the same name get 409."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != UPLOAD_MEDIA_TYPE:
        raise UnsupportedMediaType(f"a model upload must be sent as Content-Type: {UPLOAD_MEDIA_TYPE}, "
                                   f"not {media_type or 'no content type'}")
    # Models can be large: the body goes to a temporary file (in memory up to 16 MB), not a list.
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as body:
        async for chunk in request.stream():
            body.write(chunk)
        body.seek(0)
        models = _models(store, settings)
        described = await run_in_threadpool(models.put, dataflow, exec, task, file_name, format, body, sha256)
    described["url"] = f"/api/v1/models/{described['id']}/file"
    return described


@router.get("/models", response_model=ModelList)
def list_models(dataflow: str | None = None, exec: str | None = None,
                store=Depends(get_store), settings=Depends(get_settings)):
    """Stored models, newest first; filter by `dataflow` and/or `exec`."""
    described = _models(store, settings).list(dataflow, exec)
    for model in described:
        model["url"] = f"/api/v1/models/{model['id']}/file"
    return {"models": described}


@router.get("/models/{model_id}", response_model=ModelDescription, responses=error_responses(404, 422))
def describe_model(model_id: int = _model_id(), store=Depends(get_store), settings=Depends(get_settings)):
    """One stored model: task, execution, path inside the model store, format, size, sha256."""
    described = _models(store, settings).get(model_id)
    described.pop("file")
    described["url"] = f"/api/v1/models/{model_id}/file"
    return described


@router.get("/models/{model_id}/file", response_class=FileResponse, responses={
    200: {"content": {UPLOAD_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
          "description": "the model file"}, **error_responses(404, 422)})
def download_model(model_id: int = _model_id(), store=Depends(get_store), settings=Depends(get_settings)):
    """The model file itself."""
    described = _models(store, settings).get(model_id)
    return FileResponse(described["file"], media_type=UPLOAD_MEDIA_TYPE,
                        headers={"X-Model-SHA256": described["sha256"] or "",
                                 "Content-Disposition": content_disposition(described["file_name"], "attachment")})
