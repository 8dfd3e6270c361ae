"""A worker gives back the memory its queries' intermediate results freed (dfanalyzer.freed_memory):
with glibc's adjusting mmap threshold, blocks of 1 MB freed between live small ones stay in the
process once a larger block was freed; with the threshold the worker fixes, they go back.

Each case runs in a fresh interpreter, as the worker does (the threshold is per process).
"""
import os
import subprocess
import sys
import textwrap

import pytest

BLOCKS = 64  # of 1 MB

PROGRAM = textwrap.dedent("""
    import ctypes, os, sys
    from dfanalyzer.freed_memory import give_freed_memory_back

    KEPT = 70 << 10  # too large for glibc's bins of small sizes: it lies right after its 1 MB block

    def anonymous_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) / 1024

    print("threshold", give_freed_memory_back(), flush=True)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]

    def touched(size):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        return block

    libc.free(touched(8 << 20))  # as a large intermediate result would: glibc's threshold rises to 8 MB
    before = anonymous_mb()
    blocks, kept = [], []
    for _ in range(int(sys.argv[1])):  # 1 MB results, each followed by a smaller value that lives on
        blocks.append(touched(1 << 20))
        kept.append(touched(KEPT))
    for block in blocks:
        libc.free(block)
    print("kept", round(anonymous_mb() - before, 1), flush=True)
""")


def _kept_mb(environment):
    run = subprocess.run([sys.executable, "-c", PROGRAM, str(BLOCKS)], capture_output=True, text=True, timeout=60,
                         env=environment)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    return lines["threshold"], float(lines["kept"])


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("DFA_MALLOC_MMAP_THRESHOLD", raising=False)
    return os.environ


def test_freed_intermediate_results_go_back_to_the_system_unless_turned_off(environment):
    if not sys.platform.startswith("linux"):
        pytest.skip("the threshold is glibc's; RssAnon is Linux's")
    threshold, kept = _kept_mb(dict(environment))
    assert threshold == str(128 * 1024)
    assert kept < BLOCKS / 5, f"{kept} MB of {BLOCKS} MB freed stayed in the process"  # 4.4 MB live (KEPT)

    # Turned off (DFA_MALLOC_MMAP_THRESHOLD=0): glibc's adjusting threshold keeps them, the growth the
    # worker had with the data its requests read.
    threshold, kept = _kept_mb(dict(environment, DFA_MALLOC_MMAP_THRESHOLD="0"))
    assert threshold == "None"
    assert kept > BLOCKS / 2, f"only {kept} MB of {BLOCKS} MB stayed: this test no longer shows the difference"

    # Another size, and glibc's own variable wins over ours.
    assert _kept_mb(dict(environment, DFA_MALLOC_MMAP_THRESHOLD="256KB"))[0] == str(256 * 1024)
    assert _kept_mb(dict(environment, MALLOC_MMAP_THRESHOLD_="131072", DFA_MALLOC_MMAP_THRESHOLD="1MB"))[0] == "None"


def test_a_threshold_that_is_not_a_size_is_refused_saying_so():
    from dfanalyzer.errors import ConfigurationError
    from dfanalyzer.freed_memory import threshold_from

    with pytest.raises(ConfigurationError, match="DFA_MALLOC_MMAP_THRESHOLD"):
        threshold_from({"DFA_MALLOC_MMAP_THRESHOLD": "lots"})
    assert threshold_from({"DFA_MALLOC_MMAP_THRESHOLD": "1GB"}) == 32 * 1024 * 1024  # glibc's ceiling
