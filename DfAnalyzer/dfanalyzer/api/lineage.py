"""What went into a run (keras_prov's data, code and environment lineage), where its model came
from, and its per-step and system series:

GET /api/v1/executions/{exec}/lineage, /steps, /system; GET /api/v1/data/{sha256}/runs;
GET /api/v1/dataflows/{dataflow}/texts/{sha256} (a script, notebook cell, git diff or package
list, stored once per digest)."""
import re

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from dfanalyzer.api.deps import get_store
from dfanalyzer.api.download_name import content_disposition
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.errors import InvalidInput, NotFound
from dfanalyzer.runs.lineage import MAX_POINTS, RunLineage, RunSeries, checked_digest

router = APIRouter(prefix="/api/v1", tags=["lineage"], default_response_class=SafeJSONResponse)

# Documented in the OpenAPI document and checked by the routes, whose answers name the form wanted.
DIGEST_PATTERN = "^[0-9a-fA-F]{64}$"
EPOCH_FORM = r"last|[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?"
POINTS_RANGE = {"minimum": 2, "maximum": MAX_POINTS}


def _digest():
    return Path(..., description="SHA-256 digest, 64 hexadecimal characters",
                json_schema_extra={"pattern": DIGEST_PATTERN})


TEXT_FILE_NAMES = {"script": "script.py", "cell": "cell.py", "git_diff": "git.diff", "packages": "requirements.txt"}


@router.get("/executions/{execution}/lineage")
def lineage(execution: str, dataflow: str | None = None, store=Depends(get_store)):
    """The run's data (one row per input array or stream, with its digest), code and environment,
    stored texts, weights digests, and the runs its model derives from or was continued by."""
    return SafeJSONResponse(RunLineage(store).read(execution, dataflow))


@router.get("/executions/{execution}/steps")
def steps(execution: str, dataflow: str | None = None,
          points: int = Query(1000, description=f"at most about this many points per metric (2..{MAX_POINTS})",
                              json_schema_extra=POINTS_RANGE),
          epoch: str | None = Query(None, description="an epoch number, or `last`: the steps of that epoch of "
                                                       "the latest fit (default: every step, by global step)",
                                    json_schema_extra={"pattern": f"^({EPOCH_FORM})$"}),
          store=Depends(get_store)):
    """Per metric, [[step, value], ...] from oStepMetrics (`provenance(log_every_n_steps=N)`)."""
    if epoch is not None and not re.fullmatch(EPOCH_FORM, epoch):
        raise InvalidInput(f"epoch must be a number or 'last', got {epoch!r}")
    if epoch is not None and epoch != "last":
        epoch = float(epoch)
    return SafeJSONResponse(RunSeries(store, execution, dataflow, "steps").curves(points, epoch))


@router.get("/executions/{execution}/system")
def system(execution: str, dataflow: str | None = None,
           points: int = Query(1000, description=f"at most about this many points per metric (2..{MAX_POINTS})",
                               json_schema_extra=POINTS_RANGE),
           store=Depends(get_store)):
    """Per metric, [[timestamp, value], ...] from oSystemMetrics, and when each epoch began."""
    return SafeJSONResponse(RunSeries(store, execution, dataflow, "system").curves(points))


@router.get("/data/{sha256}/runs")
def runs_using_data(sha256: str = _digest(), store=Depends(get_store)):
    """Every run (in every dataflow) whose fit or evaluate used the data with this digest."""
    return SafeJSONResponse(RunLineage(store).runs_using_data(sha256))


@router.get("/dataflows/{dataflow}/texts/{sha256}", response_class=PlainTextResponse)
def source_text(dataflow: str, sha256: str = _digest(), store=Depends(get_store)):
    """A stored script, notebook cell, git diff or package list, as text."""
    found = RunLineage(store).text(dataflow, checked_digest(sha256))
    if found is None:
        raise NotFound(f"dataflow {dataflow!r} holds no text with digest {sha256}")
    kind, text = found
    name = f"{sha256[:12]}-{TEXT_FILE_NAMES.get(kind, 'text.txt')}"
    return PlainTextResponse(text or "", headers={"Content-Disposition": content_disposition(name)})
