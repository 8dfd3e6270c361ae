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


class UnrepresentableValue(DfaError):
    """A stored value the requested format cannot hold, e.g. a time after the year 9999 in a PROV
    document (HTTP 400); the message names it."""

    status_code = 400


class QueryCancelled(DfaError):
    """A user query stopped because the client that asked for it went away."""

    status_code = 499  # the client closed the request; nobody reads the answer


class StoreUnavailable(DfaError):
    """The storage backend cannot be opened or reached (HTTP 503); clients retry after
    `retry_after` seconds (the Retry-After header)."""

    status_code = 503
    retry_after = 5


class DirectoryInUse(StoreUnavailable):
    """Another process has the embedded data directory open; `holder` says which ("process N")."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


class WriteConflict(StoreUnavailable):
    """Another service sharing the MonetDB database kept winning the write; the service retried
    and gave up for now (HTTP 503, nothing was stored)."""

    retry_after = 1


class DiskFull(StoreUnavailable):
    """The disk of a directory the service writes to is nearly full (HTTP 507 with Retry-After):
    nothing of the request was stored, and writing resumes by itself once space is freed."""

    status_code = 507
    retry_after = 10

    def __init__(self, message, directory=None, free_bytes=None):
        super().__init__(message)
        self.directory = directory
        self.free_bytes = free_bytes


class ConfigurationError(DfaError):
    """The service was started with settings it refuses (e.g. open to the network without a token)."""
