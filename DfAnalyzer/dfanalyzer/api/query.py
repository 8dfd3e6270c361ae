"""POST /api/v1/query: read-only SQL while data arrives."""
import csv
import io

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dfanalyzer.api.answers import QueryAnswer
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse, json_value
from dfanalyzer.errors import QueryRejected
from dfanalyzer.query_guard import UnknownTable, check_read_only, select_list
from dfanalyzer.query_hints import quoting_hint

router = APIRouter(prefix="/api/v1", tags=["query"])


class QueryRequest(BaseModel):
    sql: str = Field(..., description="one SELECT or WITH statement")
    limit: int = Field(1000, ge=1, le=10_000_000, description="at most this many rows are returned")


@router.post("/query", response_class=SafeJSONResponse, response_model=QueryAnswer,
             responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def query(request: QueryRequest, format: str = Query("json", pattern="^(json|csv)$"), store=Depends(get_store)):
    """Runs the query; answers {"columns": [...], "rows": [[...]], "truncated": bool} or CSV."""
    try:
        sql = check_read_only(request.sql)
    except UnknownTable as error:  # e.g. keras-alexnet-df.otrain read as keras - alexnet - ...
        raise UnknownTable(str(error) + quoting_hint(store, request.sql)) from None
    try:
        columns, rows = store.read(sql, limit=request.limit + 1, isolated=True)
    except QueryRejected as error:
        raise QueryRejected(str(error) + quoting_hint(store, sql)) from None
    columns = named_columns(sql, columns)
    truncated = len(rows) > request.limit
    rows = rows[: request.limit]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([["" if v is None else json_value(v) for v in row] for row in rows])
        return Response(buffer.getvalue(), media_type="text/csv")
    return SafeJSONResponse({"columns": columns, "rows": rows, "truncated": truncated})


def named_columns(sql, columns):
    """MonetDB names unnamed expressions %1, %2: they get the expression's text instead."""
    if not any(column.startswith("%") for column in columns):
        return columns
    texts = select_list(sql)
    if texts is None or len(texts) != len(columns):
        return columns
    return [text if column.startswith("%") else column for column, text in zip(columns, texts)]
