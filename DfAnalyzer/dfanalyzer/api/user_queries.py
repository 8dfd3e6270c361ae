"""Runs a request's user queries (SQL that users write or build) while watching its client: a
client that disconnects gets its queries stopped instead of leaving them to run to their limit."""
import asyncio

import anyio

# User queries wait for a thread of their own: however many are slow, the threads that serve
# ingestion and the other pages stay free.
QUERY_THREADS = anyio.CapacityLimiter(8)


async def run_while_connected(request, store, work):
    """`work()` (blocking; it runs the queries) on a user-query thread, inside one of the
    store's QueryScopes. Returns (True, its result), or (False, None) when the client
    disconnected first: the scope's queries are then stopped."""
    scope = store.user_query_scope()

    def in_scope():
        with scope:
            return work()

    running = asyncio.ensure_future(anyio.to_thread.run_sync(in_scope, limiter=QUERY_THREADS))
    client_left = asyncio.ensure_future(disconnection(request))
    try:
        await asyncio.wait([running, client_left], return_when=asyncio.FIRST_COMPLETED)
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
        return False, None
    return True, running.result()


async def disconnection(request):
    """Returns when the client has disconnected. The body is read already, so the next message
    is the disconnect. (`request.is_disconnected()` never says so behind the app's HTTP
    middlewares: its immediately-cancelled receive cannot pass through their task groups.)"""
    while (await request.receive())["type"] != "http.disconnect":
        pass
