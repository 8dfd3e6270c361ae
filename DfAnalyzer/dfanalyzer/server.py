"""The worker process: opens the store, serves the API on the socket the supervisor listens on,
closes the store on SIGTERM.

Run by dfanalyzer.supervisor as `python -m dfanalyzer.server --fd N ...`, never by hand.
"""
import argparse
import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time

import uvicorn

from dfanalyzer.api.app import create_app
from dfanalyzer.config import Settings
from dfanalyzer.errors import DfaError, DiskFull
from dfanalyzer.freed_memory import give_freed_memory_back
from dfanalyzer.recycling import Recycling
from dfanalyzer.store import open_store
from dfanalyzer.supervisor import DISK_FULL_EXIT, RECYCLE_DRAIN_SECONDS, STARTUP_FAILURE_EXIT, STOP_SECONDS

log = logging.getLogger(__name__)

GRACEFUL_SECONDS = 2  # requests in flight get this long after SIGTERM
CLOSE_SECONDS = STOP_SECONDS - GRACEFUL_SECONDS - 2  # then the store gets this long to close
PR_SET_PDEATHSIG = 1
HARD_LIMIT_GRACE_SECONDS = 30
WATCHDOG_EXIT = 70
CLOSE_NOTICE_SECONDS = 1
UNREAD_REQUEST_SECONDS = 5


def _die_with_supervisor():
    """A worker whose supervisor was killed (SIGKILL) must not live on holding the port and the
    data directory: Linux sends it SIGKILL when its parent dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the supervisor's stop still ends the worker
    if os.getppid() == 1:
        os._exit(1)  # the supervisor was already gone


def _watch_queries(store, query_timeout):
    """The engine checks its time limit between operators only, so one operator can run on far
    past it (a huge join). A query still running long after its limit ends this worker; the
    supervisor starts a fresh one within seconds and clients replay what was not acknowledged."""
    hard_limit = 2 * query_timeout + HARD_LIMIT_GRACE_SECONDS
    while True:
        time.sleep(1)
        running = store.longest_query_seconds()
        if running > hard_limit:
            log.error("a user query has run %.0fs, past its limit of %ds and the engine does not stop it; "
                      "restarting the worker", running, query_timeout)
            logging.shutdown()
            os._exit(WATCHDOG_EXIT)


def serve(settings, fd, query_timeout, restarts):
    """Serves until SIGTERM; returns once the store is closed (or could not be in time)."""
    try:
        give_freed_memory_back()
        store = open_store(data_dir=settings.data_dir, monetdb_url=settings.monetdb_url, query_timeout=query_timeout,
                           monetdb_reader_url=settings.monetdb_reader_url, wait_for_server=True,
                           min_free=settings.min_free)
    except DfaError as error:
        try:
            print(f"dfanalyzer start: {error}", file=sys.stderr, flush=True)
        except OSError:
            pass  # the log's disk is full too
        return DISK_FULL_EXIT if isinstance(error, DiskFull) else STARTUP_FAILURE_EXIT
    app = create_app(store, settings)
    app.state.worker_restarts = restarts
    # What exists now (modules, the app, the store) lives as long as the process. Frozen, it is
    # left out of the cyclic garbage collector's passes, which a batch's parsed JSON triggers
    # every few hundred objects: parsing a 500-message batch took 1.8 ms instead of 0.6 ms.
    gc.freeze()
    if query_timeout:
        threading.Thread(target=_watch_queries, args=(store, query_timeout), daemon=True,
                         name="query-watchdog").start()
    if settings.max_requests or settings.max_rss:
        app = Recycling(app, settings.max_requests, settings.max_rss)
    config = uvicorn.Config(app, log_level="warning", access_log=False, backlog=2048,
                            timeout_graceful_shutdown=GRACEFUL_SECONDS)
    server = uvicorn.Server(config)
    # uvicorn handles SIGTERM, shuts down, then raises the signal again for the handler it found:
    # with the default one the process would die there, before the store below is closed.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    signal.signal(signal.SIGHUP, lambda signum, frame: _drain(server, app))
    try:
        server.run(sockets=[socket.socket(fileno=fd)])
    finally:
        if not store.close(timeout=CLOSE_SECONDS):
            log.warning("a query was still running at stop; the worker exits without closing the engine "
                        "(committed data is in MonetDB's write-ahead log)")
    return 0


def _drain(server, app):
    """The supervisor has a successor ready. Stop accepting; for CLOSE_NOTICE_SECONDS every answer says
    `Connection: close`, so that clients sending on their kept-alive connections learn it from an
    answer instead of finding the connection closed under a request; then let the requests in
    flight finish (longer than at a stop: nobody is waiting for this process to
    end), and close the store."""
    app.draining = True
    server.config.timeout_graceful_shutdown = (RECYCLE_DRAIN_SECONDS - CLOSE_SECONDS - CLOSE_NOTICE_SECONDS
                                               - UNREAD_REQUEST_SECONDS - 1)
    if not getattr(server, "servers", None):  # not serving yet: nothing to hand over gently
        server.should_exit = True
        return
    asyncio.run_coroutine_threadsafe(_stop_accepting_then_exit(server), server.servers[0].get_loop())


async def _stop_accepting_then_exit(server):
    # Connections not accepted yet wait in the backlog for the successor. Accepting stops first and
    # the servers close a moment later: asyncio sets up a connection it accepted in a later loop
    # turn, and a server closed meanwhile refuses the set-up and leaves the connection open and
    # unserved until this process exits, which resets it under its request.
    loop = asyncio.get_running_loop()
    for listener in server.servers:
        for sock in listener.sockets:
            loop.remove_reader(sock.fileno())
    await asyncio.sleep(0.1)
    for listener in server.servers:
        listener.close()
    await asyncio.sleep(CLOSE_NOTICE_SECONDS)
    # uvicorn's shutdown closes every connection with no request under way. One accepted just before
    # the listener closed, whose request this loop has not read yet (a loaded machine), would be
    # reset under that request: such connections get UNREAD_REQUEST_SECONDS for it to be read.
    deadline = time.monotonic() + UNREAD_REQUEST_SECONDS
    while time.monotonic() < deadline and any(
            getattr(connection, "cycle", True) is None for connection in server.server_state.connections):
        await asyncio.sleep(0.05)
    server.should_exit = True


def _wait_for_turn(handover):
    """A successor (supervisor._recycle): say it is ready, then wait until the worker it replaces
    has closed the store. False when the supervisor gave up on it (the pipe closed)."""
    go_fd, ready_fd = (int(fd) for fd in handover.split(","))
    os.write(ready_fd, b"r")
    os.close(ready_fd)
    try:
        return os.read(go_fd, 1) == b"g"
    finally:
        os.close(go_fd)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dfanalyzer.server")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--query-timeout", type=int, required=True)
    parser.add_argument("--restarts", type=int, default=0)
    parser.add_argument("--handover", help="GO_FD,READY_FD: start as the successor of a recycled worker")
    args = parser.parse_args(argv)
    _die_with_supervisor()
    if args.handover and not _wait_for_turn(args.handover):
        os._exit(0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_sources(host=args.host, port=args.port, data_dir=args.data_dir)
    code = serve(settings, args.fd, args.query_timeout, args.restarts)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads still inside the engine (a query past its time) would keep a normal exit waiting.
    os._exit(code)


if __name__ == "__main__":
    main()
