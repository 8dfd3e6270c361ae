"""Trained models: upload (keras_prov does it at the end of fit), list, describe, download."""
import tempfile

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from dfanalyzer.api.deps import get_settings, get_store
from dfanalyzer.model_store import ModelStore

router = APIRouter(prefix="/api/v1", tags=["models"])


def _models(store, settings):
    return ModelStore(store, settings.models_dir)


@router.post("/models", status_code=201)
async def upload_model(request: Request,
                       dataflow: str = Query(..., description="dataflow tag of the training task"),
                       exec: str = Query(..., description="execution tag"),
                       task: str = Query(..., description="id of the training task (the client's id)"),
                       file_name: str = Query(..., description="e.g. model.keras"),
                       format: str = Query(..., description="e.g. keras or weights.h5"),
                       sha256: str | None = Query(None, description="expected digest; refused when the bytes differ"),
                       store=Depends(get_store), settings=Depends(get_settings)):
    """Stores the request body (application/octet-stream) as a model file of the training task
    and records it in `model_file`. Answers its description with `id` and download `url`."""
    # Models can be large: the body goes to a temporary file (in memory up to 16 MB), not a list.
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as body:
        async for chunk in request.stream():
            body.write(chunk)
        body.seek(0)
        models = _models(store, settings)
        described = await run_in_threadpool(models.put, dataflow, exec, task, file_name, format, body, sha256)
    described["url"] = f"/api/v1/models/{described['id']}/file"
    return described


@router.get("/models")
def list_models(dataflow: str | None = None, exec: str | None = None,
                store=Depends(get_store), settings=Depends(get_settings)):
    """Stored models, newest first; filter by `dataflow` and/or `exec`."""
    described = _models(store, settings).list(dataflow, exec)
    for model in described:
        model["url"] = f"/api/v1/models/{model['id']}/file"
    return {"models": described}


@router.get("/models/{model_id}")
def describe_model(model_id: int, store=Depends(get_store), settings=Depends(get_settings)):
    """One stored model: task, execution, path, format, size, sha256."""
    described = _models(store, settings).get(model_id)
    described.pop("file")
    described["url"] = f"/api/v1/models/{model_id}/file"
    return described


@router.get("/models/{model_id}/file")
def download_model(model_id: int, store=Depends(get_store), settings=Depends(get_settings)):
    """The model file itself."""
    described = _models(store, settings).get(model_id)
    return FileResponse(described["file"], filename=described["file_name"], media_type="application/octet-stream",
                        headers={"X-Model-SHA256": described["sha256"] or ""})
