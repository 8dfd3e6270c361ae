"""GET /api/v1/schema: the tables and columns a query can name, for the SQL console's completion
and schema browser."""
import re

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from dfanalyzer import reading
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.store.base import catalog_statements

router = APIRouter(prefix="/api/v1", tags=["query"], default_response_class=SafeJSONResponse)

_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)


class ColumnDescription(BaseModel):
    name: str
    type: str


class DataflowTables(BaseModel):
    schema_name: str
    tables: dict[str, list[ColumnDescription]]


class SchemaAnswer(BaseModel):
    catalog: dict[str, list[str]]
    dataflows: dict[str, DataflowTables]


def catalog_tables():
    return [match.group(1) for match in map(_TABLE.match, catalog_statements()) if match]


@router.get("/schema", response_model=SchemaAnswer)
def schema(dataflow: str = Query(None, description="only this dataflow's set tables"), store=Depends(get_store)):
    """{"catalog": {table: [columns]}, "dataflows": {tag: {"schema_name", "tables": {table: [{name, type}]}}}}."""
    catalog = {table: store.table_columns("sys", table) for table in catalog_tables()}
    tags = [dataflow] if dataflow else [d["tag"] for d in reading.list_dataflows(store)]
    dataflows = {}
    for tag in tags:
        specification = reading.dataflow_specification(store, tag)
        tables = {}
        for data_set in specification["sets"]:
            table = data_set["table"].split(".", 1)[1]
            types = {a["column"]: a["type"] for a in data_set["attributes"]}
            tables[table] = [{"name": column, "type": types.get(column, "BIGINT")}
                             for column in store.table_columns(specification["schema"], table)]
        dataflows[specification["tag"]] = {"schema_name": specification["schema"], "tables": tables}
    return SafeJSONResponse({"catalog": catalog, "dataflows": dataflows})
