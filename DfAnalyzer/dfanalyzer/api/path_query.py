"""Path queries: POST /api/v1/dataflows/{tag}/path-query (JSON fields) and the original
DfAnalyzer's POST /query_interface/{df_tag}/{df_version} (program text). Both answer the generated
SQL and its rows, run through the read-only guard like /api/v1/query."""
import json
import urllib.parse
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dfanalyzer import reading
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.api.user_queries import run_while_connected
from dfanalyzer.errors import InvalidInput
from dfanalyzer.path_query import PathQuery, build_path_sql, parse_program
from dfanalyzer.query_guard import check_read_only

router = APIRouter(tags=["path queries"], default_response_class=SafeJSONResponse)

DEFAULT_LIMIT = 1000


class PathQueryAnswer(BaseModel):
    sql: str = Field(..., description="the statement that ran, values as ? placeholders")
    params: list[Any] = Field(..., description="the values bound to the placeholders, in order")
    console_sql: str = Field(..., description="the same statement with the values written in, for the SQL console")
    paths: list[list[str]] = Field(..., description="each path kept, as its set tags from source to target")
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class PathQueryRequest(BaseModel):
    source: list[str] = Field(..., min_length=1, description="set tags the paths start from")
    target: list[str] = Field(..., min_length=1, description="set tags the paths end at")
    mapping: str = Field("physical", pattern="^(physical|logical|hybrid)$",
                         description="join on <transformation>_task_id, on same-named attributes, or both")
    projection: list[str] = Field([], description="set.attribute to return; none means every join attribute")
    selection: list[str] = Field([], description="conditions such as oTrain.loss < 0.5, ANDed")
    include: list[str] = Field([], description="keep only paths through all of these sets")
    exclude: list[str] = Field([], description="drop paths through any of these sets")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=10_000_000)


def run_path_query(store, dataflow_tag, query, limit):
    """{"sql", "params", "console_sql", "paths", "columns", "rows", "truncated"} of a PathQuery."""
    built = build_path_sql(reading.dataflow_specification(store, dataflow_tag), query)
    sql = check_read_only(built.sql)
    columns, rows = store.read(sql, built.params, limit=limit + 1, isolated=True)
    return {"sql": built.sql, "params": built.params, "console_sql": built.console_sql, "paths": built.paths,
            "columns": columns, "rows": rows[:limit], "truncated": len(rows) > limit}


async def _answer(request, store, dataflow_tag, query, limit):
    """The path query's answer; 499 when the client left first (its query is then stopped)."""
    answered, result = await run_while_connected(request, store, partial(run_path_query, store, dataflow_tag, query,
                                                                          limit))
    return SafeJSONResponse(result) if answered else Response(status_code=499)


@router.post("/api/v1/dataflows/{tag}/path-query", response_model=PathQueryAnswer)
async def path_query(tag: str, body: PathQueryRequest, request: Request, store=Depends(get_store)):
    fields = body.model_dump()
    limit = fields.pop("limit")
    return await _answer(request, store, tag, PathQuery(**fields), limit)


@router.post("/query_interface/{df_tag}/{df_version}", response_model=PathQueryAnswer)
async def query_interface(df_tag: str, df_version: str, request: Request,
                          limit: int = Query(DEFAULT_LIMIT, ge=1, le=10_000_000),
                          store=Depends(get_store)):
    """The original Query Interface. The body is the program text (text/plain), JSON
    {"program": "..."}, or the original clients' form `message=<program>`
    (application/x-www-form-urlencoded, as jQuery's `$.ajax({data: {message: program}})` sends it).
    DfAnalyzer keeps one specification per dataflow, extended in place, so `df_version` is accepted
    for compatibility and not used to pick one."""
    body = (await request.body()).decode("utf-8", errors="replace")
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            document = json.loads(body)
        except ValueError as error:
            raise InvalidInput(f"the JSON body is not valid ({error}); send {{\"program\": \"mapping(...) ...\"}}")
        body = document.get("program") if isinstance(document, dict) else None
    elif "x-www-form-urlencoded" in content_type:
        body = form_program(body)
    query = parse_program(body)
    return await _answer(request, store, df_tag, query, limit)


def form_program(body):
    """The program of a form-encoded body: its `message` field, URL-decoded ('+' is a space)."""
    fields = urllib.parse.parse_qs(body, keep_blank_values=True)
    if "message" not in fields:
        raise InvalidInput("the form has no 'message' field; send message=<the URL-encoded program>, "
                           "as the original Query Interface does")
    return fields["message"][0]
