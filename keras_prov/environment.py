"""Who and what ran a training execution: the PROV agents recorded with it."""
import getpass
import os
import platform
import socket
import sys

import keras
import numpy

from dfa_lib_python.paths import shown_path


class Environment:
    """The person, the software and the machine of this process, as PROV agents.

    Read once per process (it does not change while it runs) and sent with every execution
    as `[{"kind": "person"|"software"|"machine", "name": ..., "properties": {...}}]`. Paths are
    recorded as `dfa_lib_python.paths.shown_path` writes them (relative to the project or home).

    Example:
        >>> [agent["kind"] for agent in Environment.current().agents()]
        ['person', 'software', 'software', 'software', 'software', 'machine']
    """

    _current = None

    def __init__(self):
        self.user = _user()
        self.hostname = socket.gethostname()

    @classmethod
    def current(cls):
        if cls._current is None:
            cls._current = cls()
        return cls._current

    def add_to(self, execution):
        """Adds these agents to a dfa_lib_python Execution (merging with the ones it has)."""
        for agent in self.agents():
            execution.add_agent(agent["kind"], agent["name"], **agent["properties"])

    def agents(self):
        backend = keras.backend.backend()
        software = [
            {"kind": "software", "name": "python",
             "properties": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                            "executable": shown_path(sys.executable)}},
            {"kind": "software", "name": "keras", "properties": {"version": keras.__version__, "backend": backend}},
            {"kind": "software", "name": "numpy", "properties": {"version": numpy.__version__}},
        ]
        backend_version = _backend_version(backend)
        if backend_version:
            software.append({"kind": "software", "name": backend_version[0],
                             "properties": {"version": backend_version[1]}})
        try:
            import keras_prov
            software.append({"kind": "software", "name": "keras_prov", "properties": {"version": keras_prov.__version__}})
        except (ImportError, AttributeError):
            pass
        machine = {"kind": "machine", "name": self.hostname, "properties": {
            "os": platform.system(), "os_release": platform.release(), "platform": platform.platform(),
            "architecture": platform.machine(), "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
            "gpus": _gpus(backend),
        }}
        person = {"kind": "person", "name": self.user, "properties": {}}
        return [person] + software + [machine]


def _user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return os.environ.get("USER", "unknown")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _backend_version(backend):
    module_name = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(backend)
    module = sys.modules.get(module_name) if module_name else None
    if module is None:
        return None
    return module_name, getattr(module, "__version__", None)


def _gpus(backend):
    """Names of the GPUs the backend sees; asking never initialises a backend that is not loaded."""
    try:
        if backend == "tensorflow" and "tensorflow" in sys.modules:
            return [device.name for device in sys.modules["tensorflow"].config.list_physical_devices("GPU")]
        if backend == "torch" and "torch" in sys.modules:
            torch = sys.modules["torch"]
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if backend == "jax" and "jax" in sys.modules:
            return [str(device) for device in sys.modules["jax"].devices() if device.platform == "gpu"]
    except (RuntimeError, AttributeError):
        return []
    return []
