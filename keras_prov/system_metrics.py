"""Process and machine load while a fit runs, sampled on a background thread.

Every `every` seconds (`provenance(system_metrics_every=10)`, the default; 0 turns it off) one
`oSystemMetrics` row (columns `lineage_sets.SYSTEM_COLUMNS`): timestamp, elapsed_time (seconds since the fit began), epoch (the epoch
running, from 1), process_cpu_percent (this process, 100 = one core), cpu_percent (the machine,
all cores), process_rss_bytes, memory_percent and memory_used_bytes (the machine), and, when
`nvidia-ml-py` finds GPUs, gpu_count, gpu_utilization_percent (mean over them) and
gpu_memory_used_bytes (sum). A last row is taken when the fit ends.

`psutil` and `nvidia-ml-py` are optional: without psutil nothing is sampled, without a GPU the
GPU columns stay NULL; neither is an error. The training thread only starts and stops the
sampler and tells it the epoch.
"""
import logging
import threading
import time

from keras_prov.execution_recorder import utc_text

logger = logging.getLogger("keras_prov")

_gpus = None  # the NVML device handles, looked up once per process ([] when there are none)


class SystemSampler:
    """Samples every `every` seconds until `stop()`, handing each row to `send(row)`.

    Args:
        every: seconds between samples (> 0).
        send: called on the sampler thread with each row (a dict of `COLUMNS`).

    Example:
        >>> sampler = SystemSampler.start(10, lambda row: print(row["cpu_percent"]))
        >>> sampler.stop()    # None when psutil is not installed
    """

    def __init__(self, every, send, psutil):
        self.every = float(every)
        self.send = send
        self.psutil = psutil
        self.process = psutil.Process()
        self.epoch = None
        self.started = time.time()
        self._stopped = threading.Event()
        self._last = None
        self._thread = threading.Thread(target=self._run, name="keras_prov-system", daemon=True)

    @classmethod
    def start(cls, every, send):
        if not every or every <= 0:
            return None
        try:
            import psutil
        except ImportError:
            return None
        sampler = cls(every, send, psutil)
        sampler._thread.start()
        return sampler

    def stop(self):
        """Stops sampling after one last row (when a second has passed since the previous one)."""
        self._stopped.set()
        self._thread.join(timeout=5)

    def _prime(self):
        # cpu_percent(None) measures since the previous call of the same thread: the first call only
        # starts the count.
        self.process.cpu_percent(None)
        self.psutil.cpu_percent(None)

    def _run(self):
        self._prime()
        while not self._stopped.wait(self.every):
            self._sample()
        if self._last is None or time.time() - self._last >= 1.0:
            self._sample()

    def _sample(self):
        try:
            row = self._row()
        except Exception as error:  # noqa: BLE001 - a failing probe must never reach training
            logger.info("keras_prov could not sample the system load: %s", error)
            return
        self._last = time.time()
        self.send(row)

    def _row(self):
        psutil = self.psutil
        now = time.time()
        memory = psutil.virtual_memory()
        row = {"timestamp": utc_text(now), "elapsed_time": round(now - self.started, 3), "epoch": self.epoch,
               "process_cpu_percent": self.process.cpu_percent(None), "cpu_percent": psutil.cpu_percent(None),
               "process_rss_bytes": self.process.memory_info().rss, "memory_percent": memory.percent,
               "memory_used_bytes": memory.total - memory.available}
        row.update(_gpu_load())
        return row


def _gpu_load():
    """gpu_count, gpu_utilization_percent and gpu_memory_used_bytes; {} without NVIDIA GPUs."""
    global _gpus
    if _gpus is None:
        _gpus = []
        try:
            import pynvml

            pynvml.nvmlInit()
            _gpus = [pynvml.nvmlDeviceGetHandleByIndex(index) for index in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # noqa: BLE001 - no nvidia-ml-py, no driver, no GPU: no GPU columns
            _gpus = []
    if not _gpus:
        return {}
    import pynvml

    utilization = [pynvml.nvmlDeviceGetUtilizationRates(handle).gpu for handle in _gpus]
    memory = [pynvml.nvmlDeviceGetMemoryInfo(handle).used for handle in _gpus]
    return {"gpu_count": len(_gpus), "gpu_utilization_percent": sum(utilization) / len(utilization),
            "gpu_memory_used_bytes": sum(memory)}
