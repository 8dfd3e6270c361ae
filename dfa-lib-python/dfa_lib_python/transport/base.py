"""The interface every transport implements, and the outcomes of sending a batch."""
import abc


class Unavailable(Exception):
    """The service cannot take the batch now (unreachable, 5xx, store busy): keep it and retry.

    Attributes:
        too_big: the batch itself may be the problem (timed out, 413): retry with fewer messages.
        server_error: the service answered 5xx; if it keeps doing so for one batch while it is
            healthy, a message of the batch may be what fails it (the sender bisects the batch).
        retry_after: seconds the service asked to wait before trying again (its Retry-After
            header), or None.
    """

    def __init__(self, reason, too_big=False, server_error=False, retry_after=None):
        super().__init__(reason)
        self.too_big = too_big
        self.server_error = server_error
        self.retry_after = retry_after


class Rejected(Exception):
    """The service refused one message of the batch as bad data and stored nothing of the batch.

    Attributes:
        message_id: id of the offending message.
        reason: the service's explanation.
    """

    def __init__(self, message_id, reason):
        super().__init__(f"message {message_id} rejected: {reason}")
        self.message_id = message_id
        self.reason = reason


class BadRequest(Exception):
    """The service refused the batch without naming a message (malformed request, 4xx)."""

    def __init__(self, status, reason):
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


class Transport(abc.ABC):
    """Sends batches of messages and answers read-only queries.

    `send(lines)` gets the messages as encoded JSON lines (bytes) in order and returns only when
    all of them are stored; it raises Unavailable, Rejected or BadRequest otherwise.
    """

    url = ""

    @abc.abstractmethod
    def send(self, lines):
        """Stores the messages or raises (see the class docstring)."""

    @abc.abstractmethod
    def query(self, sql, limit):
        """(columns, rows) of a read-only SQL query."""

    def healthy(self):
        """Whether the service answers its health check; False when it cannot tell."""
        return False

    def close(self):
        pass
