"""Memory a worker frees goes back to the system: glibc's malloc keeps a fixed mmap threshold.

Why: glibc serves an allocation of at least its mmap threshold (128 KB at start) with its own
memory map, given back to the system when freed, and a smaller one from its heaps (arenas), which
keep freed memory for later. Each time a mapped block is freed, glibc raises the threshold to that
block's size (up to 32 MB), so the engine's intermediate results (a column's worth of a join, a
GROUP BY, a scan: each as large as the rows it reads) soon come from the arenas and stay in the
worker after their query ends. The worker's memory then grows with the data the requests read,
not with the requests: bench/soak.py measured about 16 MB of anonymous memory per 100,000 mixed
requests as the database grew (fresh services on the data at the soak's start and end), and
+1.7 MB against +8.0 MB over 2,000 requests on a database grown by 40,000 messages with a fixed
threshold. Setting the threshold once (glibc's `mallopt(M_MMAP_THRESHOLD)`, as its
`MALLOC_MMAP_THRESHOLD_` variable would) stops that adjustment.
"""
import ctypes
import ctypes.util
import logging
import os

from dfanalyzer.disk_space import parse_size

log = logging.getLogger(__name__)

VARIABLE = "DFA_MALLOC_MMAP_THRESHOLD"
DEFAULT_THRESHOLD = 128 * 1024  # glibc's own starting value
GLIBC_VARIABLE = "MALLOC_MMAP_THRESHOLD_"
M_MMAP_THRESHOLD = -3  # malloc.h
MAX_THRESHOLD = 32 * 1024 * 1024  # glibc refuses larger values on 64-bit systems


def threshold_from(environ=os.environ):
    """Bytes of the mmap threshold to set: $DFA_MALLOC_MMAP_THRESHOLD (e.g. "256KB"; "0" leaves
    glibc's adjusting threshold alone), else 128 KB; None when glibc's own MALLOC_MMAP_THRESHOLD_
    already decided."""
    if GLIBC_VARIABLE in environ:
        return None
    configured = environ.get(VARIABLE, "").strip()
    threshold = parse_size(configured, VARIABLE) if configured else DEFAULT_THRESHOLD
    return min(threshold, MAX_THRESHOLD)


def give_freed_memory_back(environ=os.environ):
    """Fixes glibc's mmap threshold for this process (see the module's docstring); returns the
    threshold set, or None when nothing was set (turned off, set by MALLOC_MMAP_THRESHOLD_, or a C
    library without mallopt: memory is then as glibc's default makes it)."""
    threshold = threshold_from(environ)
    if not threshold:
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    if mallopt(M_MMAP_THRESHOLD, threshold) != 1:
        log.warning("the C library refused mallopt(M_MMAP_THRESHOLD, %d); the worker's memory may grow "
                    "with the data its requests read", threshold)
        return None
    return threshold
