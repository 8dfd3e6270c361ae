"""POST /api/v1/query: read-only SQL while data arrives."""
import asyncio
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
from dfanalyzer.query_hints import quoting_hint

router = APIRouter(prefix="/api/v1", tags=["query"])

# User queries wait for a thread of their own: however many are slow, the threads that serve
# ingestion and the other pages stay free.
QUERY_THREADS = anyio.CapacityLimiter(8)


class QueryRequest(BaseModel):
    sql: str = Field(..., description="one SELECT or WITH statement")
    limit: int = Field(1000, ge=1, le=10_000_000, description="at most this many rows are returned")


def limited_forms(sql, limit):
    """`sql` with its rows limited inside the engine, so that a huge result is never built: as a
    derived table; else (two result columns share a name, which a derived table cannot hold)
    with LIMIT appended; else (the query has its own LIMIT) as written."""
    yield f"SELECT * FROM ({sql}\n) AS user_query LIMIT {int(limit)}", "Duplicate column names"
    yield f"{sql}\nLIMIT {int(limit)}", "syntax error"
    yield sql, None


def run_limited(store, sql, limit, scope=None):
    """(columns, rows) of `sql`, at most `limit` rows, read in a transaction rolled back; inside
    `scope` (a QueryScope), which another thread may cancel."""
    with scope or store.user_query_scope():
        return _run_limited_forms(store, sql, limit)


def _run_limited_forms(store, sql, limit):
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
    scope = store.user_query_scope()
    work = asyncio.ensure_future(anyio.to_thread.run_sync(
        partial(run_limited, store, sql, body.limit + 1, scope), limiter=QUERY_THREADS))
    client_left = asyncio.ensure_future(disconnection(request))
    try:
        await asyncio.wait([work, client_left], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the service is stopping: its shutdown waits for the thread
        scope.cancel()
        raise
    finally:
        client_left.cancel()
    if not work.done():
        # The store stops the statement (within one engine step) and the thread ends with it.
        scope.cancel()
        work.add_done_callback(lambda done: done.cancelled() or done.exception())
        work.cancel()
        return Response(status_code=499)
    columns, rows = work.result()
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


async def disconnection(request):
    """Returns when the client has disconnected. The body is read already, so the next message
    is the disconnect. (`request.is_disconnected()` never says so behind the app's HTTP
    middlewares: its immediately-cancelled receive cannot pass through their task groups.)"""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def named_columns(sql, columns):
    """MonetDB names unnamed expressions %1, %2: they get the expression's text instead."""
    if not any(column.startswith("%") for column in columns):
        return columns
    texts = select_list(sql)
    if texts is None or len(texts) != len(columns):
        return columns
    return [text if column.startswith("%") else column for column, text in zip(columns, texts)]
