"""Who and what ran an execution: W3C PROV agents."""
import functools
import getpass
import os
import platform
import socket
import sys

from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.paths import shown_path

AGENT_KINDS = ("person", "software", "machine")


class Agent:
    """A PROV agent of an execution: the person who ran it, software it used, the machine.

    Args:
        kind: "person", "software" or "machine".
        name: e.g. "alice", "keras", "host1".
        properties: JSON-able dict, e.g. {"version": "3.15.1"}.

    Example:
        Agent("software", "keras", {"version": keras.__version__})
    """

    def __init__(self, kind, name, properties=None):
        if kind not in AGENT_KINDS:
            raise SpecificationError(f"agent kind must be one of {AGENT_KINDS}, got {kind!r}")
        if not isinstance(name, str) or not name:
            raise SpecificationError(f"agent name must be a non-empty string, got {name!r}")
        self.kind = kind
        self.name = name
        self.properties = dict(properties or {})

    def get_specification(self):
        return {"kind": self.kind, "name": self.name, "properties": dict(self.properties)}

    def __repr__(self):
        return f"Agent({self.kind!r}, {self.name!r}, {self.properties!r})"


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def _environment_agents():
    from dfa_lib_python.version import __version__

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    python = Agent("software", "python", {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": shown_path(sys.executable),
        "script": shown_path(sys.argv[0]) if sys.argv and sys.argv[0] else "",
        "pid": os.getpid(),
    })
    library = Agent("software", "dfa_lib_python", {"version": __version__})
    machine = Agent("machine", socket.gethostname() or "localhost", {
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(),
        "architecture": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
    })
    return [Agent("person", user, {}), python, library, machine]


def default_agents():
    """Fresh copies of this environment's agents: the user, Python, dfa_lib_python, the machine."""
    return [Agent(agent.kind, agent.name, agent.properties) for agent in _environment_agents()]
