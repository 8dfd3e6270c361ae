"""Training on several devices or processes: which process records, and what the run says about it.

Keras trains on several devices through `tf.distribute` strategies (TensorFlow backend) or
`keras.distribution` (JAX backend); a PyTorch loop through `torch.distributed`. One run is one
execution, recorded by one process: the chief (TensorFlow's "chief" task, or worker 0 when the
cluster has none; process 0 for JAX and PyTorch). The other processes record nothing, so no
epoch is ever stored twice; what they ran on is in the chief's row (the devices of every worker).
If a worker dies, the chief's training fails (TensorFlow's MultiWorkerMirroredStrategy raises
UnavailableError naming the worker once its heartbeats stop, about 10 s later, or when a collective
operation times out) and the run ends FAILED with that error.

Nothing here imports a framework: it only looks at the ones the program has loaded.
"""
import json
import os
import sys


def records_here(model=None):
    """False on a process of a multi-process training that is not its chief."""
    role = _tensorflow_role(model)
    if role is not None:
        return role
    for index in (_jax_process_index(), _torch_rank()):
        if index is not None:
            return index == 0
    return True


def describe(model=None, batch_size=None):
    """{column: value} for iTrainingModel when training spans several devices or processes, else {}:
    distribution_strategy, num_replicas, num_workers, global_batch_size and devices.

    Args:
        model: the Keras model being trained (its TensorFlow strategy), or None.
        batch_size: the batch size one process gives `fit` or batches its dataset with; the
            global batch size is this times the processes that feed their own batches (JAX,
            PyTorch); tf.distribute splits the batch it is given, which is then the global one.
    """
    for read in (_tensorflow_strategy, _keras_distribution, _torch_process_group):
        found = read(model)
        if found:
            name, replicas, workers, devices, per_process_batches = found
            global_batch = None
            if batch_size is not None:
                global_batch = int(batch_size) * (workers if per_process_batches else 1)
            return {"distribution_strategy": name, "num_replicas": replicas, "num_workers": workers,
                    "global_batch_size": global_batch, "devices": ", ".join(devices)}
    return {}


def describe_fit(model, fit_arguments):
    """`describe` for one `fit`, its batch size read from the fit's arguments or its dataset."""
    if not _several_devices_possible():
        return {}
    return describe(model, _batch_size(fit_arguments))


def _batch_size(fit_arguments):
    batch_size = fit_arguments.get("batch_size")
    if batch_size is not None:
        return batch_size
    x = fit_arguments.get("x")
    if hasattr(x, "shape"):
        return 32  # Keras's default for arrays
    batch_size = getattr(x, "_batch_size", None)  # a batched tf.data.Dataset
    try:
        return int(batch_size) if batch_size is not None else None
    except (TypeError, ValueError):
        return None


def _several_devices_possible():
    """Cheap test first: only TensorFlow strategies, Keras distributions and torch.distributed count."""
    return any(name in sys.modules for name in ("tensorflow", "jax", "torch"))


def _tensorflow_strategy(model):
    strategy = _strategy(model)
    if strategy is None:
        return None
    devices = [str(device) for device in getattr(strategy.extended, "worker_devices", ())]
    workers = 1
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.task_type is not None:
        spec = resolver.cluster_spec().as_dict()
        tasks = [(job, index, address) for job in ("chief", "worker") for index, address in _tasks(spec.get(job))]
        workers = max(1, len(tasks))
        if workers > 1:
            devices = [f"/job:{job}/task:{index} ({address})" for job, index, address in tasks]
    return _public_name(type(strategy)), int(strategy.num_replicas_in_sync), workers, devices, False


def _public_name(strategy_class):
    """The name users write (MultiWorkerMirroredStrategy), not the class's (CollectiveAllReduceStrategy)."""
    exported = strategy_class.__dict__.get("_tf_api_names") or ()
    return exported[-1].rsplit(".", 1)[-1] if exported else strategy_class.__name__


def _tasks(addresses):
    if isinstance(addresses, dict):
        return sorted(addresses.items())
    return list(enumerate(addresses or ()))


def _strategy(model):
    """The tf.distribute strategy a model trains with, None for the default (one device)."""
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is None or _keras_backend() != "tensorflow":
        return None
    strategy = getattr(model, "distribute_strategy", None) if model is not None else None
    if strategy is None:
        strategy = tensorflow.distribute.get_strategy()
    if type(strategy).__name__.startswith("_Default"):
        return None
    return strategy


def _tensorflow_role(model):
    """True/False for a process of a TensorFlow multi-worker strategy (or TF_CONFIG cluster), else None."""
    strategy = _strategy(model)
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is not None and resolver.task_type is not None:
        jobs = resolver.cluster_spec().jobs
        return _is_chief(resolver.task_type, resolver.task_id, jobs)
    config = os.environ.get("TF_CONFIG")
    if not config:
        return None
    try:
        config = json.loads(config)
        task = config.get("task") or {}
        return _is_chief(task.get("type"), task.get("index", 0), list(config.get("cluster") or {}))
    except (ValueError, AttributeError, TypeError):
        return None


def _is_chief(task_type, task_id, jobs):
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and int(task_id or 0) == 0 and "chief" not in jobs


def _keras_distribution(model):
    if _keras_backend() != "jax" or "keras" not in sys.modules:
        return None
    distribution = sys.modules["keras"].distribution.distribution()
    processes = _jax_process_count()
    if distribution is None:
        if processes > 1:
            return "jax_multi_process", processes, processes, [], True
        return None
    mesh = distribution.device_mesh
    devices = [str(device) for device in mesh.devices.flatten()]
    try:
        replicas = int(distribution.num_model_replicas)
    except NotImplementedError:
        replicas = len(devices)
    return type(distribution).__name__, replicas, max(processes, int(distribution.num_processes)), devices, True


def _torch_process_group(model):
    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return None
    size = torch.distributed.get_world_size()
    return f"torch.distributed ({torch.distributed.get_backend()})", size, size, [], True


def _keras_backend():
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else None


def _jax_process_index():
    jax = sys.modules.get("jax")
    if jax is None or _jax_process_count() <= 1:
        return None
    return jax.process_index()


def _jax_process_count():
    jax = sys.modules.get("jax")
    if jax is None or _keras_backend() != "jax":
        return 1
    return jax.process_count()


def _torch_rank():
    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return None
    return torch.distributed.get_rank()
