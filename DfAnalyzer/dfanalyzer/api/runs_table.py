"""GET /api/v1/runs/table: the runs page's data (paged, sorted, filtered, chosen columns) or CSV."""
import csv
import io

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from dfanalyzer import reading
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse, json_value
from dfanalyzer.errors import NotFound
from dfanalyzer.runs.runs_table import METRIC_MODES, RunsTable
from dfanalyzer.runs.table_view import MAX_PAGE, RANGE_FORM, TableView, ValueChoice, ValueRange

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


def _items_matching(pattern):
    """Documents the items of a repeated parameter; TableView checks them, naming the form it wants."""
    return {"items": {"type": "string", "pattern": pattern}}


def default_dataflow(store):
    """The dataflow of the newest execution, else the newest dataflow."""
    _, rows = store.read("SELECT d.tag FROM dataflow_execution e JOIN dataflow d ON e.df_id = d.id ORDER BY e.id DESC",
                         limit=1)
    if not rows:
        _, rows = store.read("SELECT tag FROM dataflow ORDER BY id DESC", limit=1)
    if not rows:
        raise NotFound("no dataflow is stored yet: train a model with keras_prov (or post a specification "
                       "to /pde/dataflow/json) and reload")
    return rows[0][0]


@router.get("/table", responses={200: {"content": {"application/json": {"schema": {"type": "object"}},
                                                  "text/csv": {"schema": {"type": "string"}}}}})
def runs_table(dataflow: str | None = Query(None, description="dataflow tag (default: the one of the newest run)"),
               mode: str = Query("last", description="metrics as last | best | epoch (value at `epoch`)",
                                 json_schema_extra={"enum": list(METRIC_MODES)}),
               epoch: float | None = Query(None, description="the epoch of mode=epoch"),
               q: str = Query("", description="text that the run, status or a text column contains"),
               range: list[str] = Query([], description="KEY:LOW:HIGH, repeatable; an empty bound is open",
                                        json_schema_extra=_items_matching(f"^{RANGE_FORM}$")),
               in_: list[str] = Query([], alias="in", json_schema_extra=_items_matching("^[^=]+="),
                                      description="KEY=VALUE, repeatable; the values given for "
                                      "one key are alternatives (e.g. in=hp:optimizer_name=adam&in=hp:optimizer_name=sgd)"),
               sort: str = Query("start", description="column key"),
               desc: bool = Query(True, description="descending order"),
               offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=MAX_PAGE, description="rows per page"),
               cols: str | None = Query(None, description="comma-separated column keys (default: a selection)"),
               diff: bool = Query(False, description="hide the columns equal in every matching run"),
               format: str = Query("json", pattern="^(json|csv)$"),
               store=Depends(get_store)):
    """One row per execution of the dataflow, newest first; `all_columns` lists every column."""
    tag = dataflow or default_dataflow(store)
    table = RunsTable(store, tag).build(mode=mode, epoch=epoch)
    view = TableView(text=q, ranges=[ValueRange.parse(text) for text in range], choices=ValueChoice.parse_all(in_),
                     sort=sort, descending=desc,
                     offset=offset, limit=MAX_PAGE if format == "csv" else limit,
                     columns=[key for key in cols.split(",") if key] if cols else None, differences_only=diff)
    page = view.apply(table)
    if format == "csv":
        return _csv(page, tag)
    page["dataflows"] = [d["tag"] for d in reading.list_dataflows(store)]
    page["mode"], page["epoch"] = mode, epoch
    return SafeJSONResponse(page)


def _csv(page, tag):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = [column["key"] for column in page["columns"]]
    writer.writerow([column["label"] for column in page["columns"]])
    for row in page["rows"]:
        writer.writerow(["" if row.get(key) is None else json_value(row.get(key)) for key in keys])
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{tag}-runs.csv"'})
