"""Re-running a write transaction that lost to another writer of the same MonetDB database.

MonetDB's concurrency control is optimistic: of two transactions writing the same rows, the
second is aborted. Services sharing a database re-run the whole transaction (its Python body,
which may have read ids the winner has since taken), after a short random pause so that two
losers do not collide again.
"""
import logging
import random
import time

from dfanalyzer.errors import WriteConflict

log = logging.getLogger(__name__)

ATTEMPTS = 30
FIRST_PAUSE_SECONDS = 0.01
LONGEST_PAUSE_SECONDS = 0.5


def retrying(work, attempts=ATTEMPTS):
    """Runs `work()` and returns its result, running it again while it raises WriteConflict,
    `attempts` times at most, pausing a random time (exponential backoff, full jitter) between.
    The last WriteConflict is raised when every attempt lost (HTTP 503 with Retry-After)."""
    for attempt in range(attempts - 1):
        try:
            return work()
        except WriteConflict as conflict:
            pause = random.uniform(0, min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** attempt))
            log.debug("write conflict (%s), attempt %d, again in %.3fs", conflict, attempt + 1, pause)
            time.sleep(pause)
    return work()
