"""The OpenAPI document as the service really answers: every operation lists the error statuses it
can return, all with the same body (`{"detail": ...}`), and not FastAPI's validation-only schema.

Error statuses come from what the route does, read from the route itself: names it looks up
(path parameters, `dataflow`/`exec` filters) can be unknown (404), queries can be refused (400),
every operation but /health needs the token when one is configured (401), and any may find the
store unreachable (503). Routes declare any other status (409, 415 ...) with `responses=`.
"""
from fastapi.openapi.utils import get_openapi

from dfanalyzer.api.responses import DESCRIPTIONS

ERROR_SCHEMA = {
    "title": "ErrorAnswer", "type": "object", "required": ["detail"],
    "properties": {"detail": {"description": "what was wrong and how to fix it: a text, {error, message_id} "
                                             "for ingestion, or a list of validation errors"}},
}
LOOKUP_PARAMETERS = {"dataflow", "exec", "execution"}
OPEN_PATHS = {"/health"}


def install(app):
    """Makes `app.openapi()` answer the document described in the module docstring."""

    def openapi():
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {})["ErrorAnswer"] = ERROR_SCHEMA
            for path, operations in document.get("paths", {}).items():
                for operation in operations.values():
                    _document_errors(path, operation)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi


def _document_errors(path, operation):
    parameters = operation.get("parameters", [])
    statuses = {422, 503}
    if path not in OPEN_PATHS:
        statuses.add(401)
    if any(p["in"] == "path" or p["name"] in LOOKUP_PARAMETERS for p in parameters) or path.startswith("/pde/"):
        statuses.add(404)
    if "query" in path or "requestBody" in operation:  # refused queries; bodies that are not JSON
        statuses.add(400)
    responses = operation.setdefault("responses", {})
    for status in statuses | {int(s) for s in responses if s.isdigit() and int(s) >= 400}:
        responses[str(status)] = {
            "description": responses.get(str(status), {}).get("description") or DESCRIPTIONS.get(status, "error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}},
        }
