"""Runs a request's user queries (SQL that users write or build) while watching its client and
the clock: a client that disconnects gets its queries stopped instead of leaving them to run to
their limit, and a client whose query runs past the limit is answered at the limit, whether or
not the engine has stopped the query yet."""
import asyncio

import anyio

from dfanalyzer.errors import QueryRejected

# User queries wait for a thread of their own: however many are slow, the threads that serve
# ingestion and the other pages stay free.
QUERY_THREADS = anyio.CapacityLimiter(8)
# How long after the time limit a request is answered when its query has not stopped: the store
# stops a query at its limit and answers a 400 itself (within a second); this is for a query in
# one long engine step, which neither MonetDB's time limit nor a cancel interrupts.
ANSWER_GRACE_SECONDS = 1.5


class QueryOverran(QueryRejected):
    """A user query still ran after its time limit and its grace (HTTP 400)."""


async def run_while_connected(request, store, work):
    """`work()` (blocking; it runs the queries) on a user-query thread, inside one of the
    store's QueryScopes. Returns (True, its result), or (False, None) when the client
    disconnected first: the scope's queries are then stopped. Raises QueryOverran when the
    work runs past the store's query time limit and ANSWER_GRACE_SECONDS."""
    scope = store.user_query_scope()

    def in_scope():
        with scope:
            return work()

    running = asyncio.ensure_future(anyio.to_thread.run_sync(in_scope, limiter=QUERY_THREADS))
    client_left = asyncio.ensure_future(disconnection(request))
    answer_within = store.query_timeout + ANSWER_GRACE_SECONDS if store.query_timeout else None
    try:
        await asyncio.wait([running, client_left], timeout=answer_within, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the service is stopping: its shutdown waits for the thread
        scope.cancel()
        raise
    finally:
        client_left.cancel()
    if not running.done():
        # The store stops the statement (within one engine step) and the thread ends with it.
        scope.cancel()
        running.add_done_callback(lambda done: done.cancelled() or done.exception())
        running.cancel()
        if client_left.done() and not client_left.cancelled():
            return False, None
        raise QueryOverran(
            f"the query was stopped after the service's limit of {store.query_timeout}s (`dfanalyzer start "
            "--query-timeout`); one step of it was still running (e.g. building long text or a huge join for "
            "every row), which the engine ends at its next step. Make it cheaper, e.g. filter before joining")
    return True, running.result()


async def disconnection(request):
    """Returns when the client has disconnected. The body is read already, so the next message
    is the disconnect. (`request.is_disconnected()` never says so behind the app's HTTP
    middlewares: its immediately-cancelled receive cannot pass through their task groups.)"""
    while (await request.receive())["type"] != "http.disconnect":
        pass
