"""Error types of DfAnalyzer. Each message says what was wrong and how to fix it."""


class DfaError(Exception):
    """Base class; `status_code` is the HTTP status the API answers with."""

    status_code = 500


class InvalidInput(DfaError):
    """The request was understood but its content is wrong (HTTP 422)."""

    status_code = 422


class NotFound(DfaError):
    """A named dataflow, execution, transformation, set or task does not exist (HTTP 404)."""

    status_code = 404


class Conflict(DfaError):
    """The request would replace something stored; nothing stored is ever overwritten (HTTP 409)."""

    status_code = 409


class QueryRejected(DfaError):
    """A user query is not allowed or MonetDB refused it (HTTP 400)."""

    status_code = 400


class StoreUnavailable(DfaError):
    """The storage backend cannot be opened or reached (HTTP 503)."""

    status_code = 503


class ConfigurationError(DfaError):
    """The service was started with settings it refuses (e.g. open to the network without a token)."""
