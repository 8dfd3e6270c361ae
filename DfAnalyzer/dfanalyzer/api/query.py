"""POST /api/v1/query: read-only SQL while data arrives."""
import csv
import io
from functools import partial

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dfanalyzer.api.answers import QueryAnswer
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse, json_value
from dfanalyzer.errors import QueryRejected
from dfanalyzer.query_guard import UnknownTable, check_read_only, select_list
from dfanalyzer.api.user_queries import QUERY_THREADS, run_while_connected
from dfanalyzer.query_hints import quoting_hint

router = APIRouter(prefix="/api/v1", tags=["query"])


class QueryRequest(BaseModel):
    sql: str = Field(..., min_length=1, pattern=r"\S", description="one SELECT or WITH statement")
    limit: int = Field(1000, ge=1, le=10_000_000, description="at most this many rows are returned")


def limited_forms(sql, limit):
    """`sql` with its rows limited inside the engine, so that a huge result is never built: as a
    derived table; else (two result columns share a name, which a derived table cannot hold)
    with LIMIT appended; else (the query has its own LIMIT) as written."""
    yield f"SELECT * FROM ({sql}\n) AS user_query LIMIT {int(limit)}", "Duplicate column names"
    yield f"{sql}\nLIMIT {int(limit)}", "syntax error"
    yield sql, None


def run_limited(store, sql, limit):
    """(columns, rows) of `sql`, at most `limit` rows, read in a transaction rolled back."""
    try:
        for form, refusal_to_try_next in limited_forms(sql, limit):
            try:
                return store.read(form, limit=limit, isolated=True)
            except QueryRejected as error:
                if refusal_to_try_next is None or refusal_to_try_next not in str(error):
                    raise
    except QueryRejected as error:
        raise QueryRejected(str(error) + quoting_hint(store, sql)) from None


@router.post("/query", response_class=SafeJSONResponse, response_model=QueryAnswer,
             responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def query(request: Request, body: QueryRequest, format: str = Query("json", pattern="^(json|csv)$"),
                store=Depends(get_store)):
    """Runs the query; answers {"columns": [...], "rows": [[...]], "truncated": bool} or CSV.

    The query stops after the service's --query-timeout, and when the client disconnects.
    """
    try:
        sql = check_read_only(body.sql)
    except UnknownTable as error:  # e.g. keras-alexnet-df.otrain read as keras - alexnet - ...
        hint = await anyio.to_thread.run_sync(quoting_hint, store, body.sql, limiter=QUERY_THREADS)
        raise UnknownTable(str(error) + hint) from None
    answered, result = await run_while_connected(request, store, partial(run_limited, store, sql, body.limit + 1))
    if not answered:
        return Response(status_code=499)
    columns, rows = result
    columns = named_columns(sql, columns)
    truncated = len(rows) > body.limit
    rows = rows[: body.limit]
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
