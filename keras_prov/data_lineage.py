"""Which data a fit or an evaluate used: one identity per input array or stream, hashed off the
training thread.

Identities (column `digest_kind` of the iData / iTestData rows; `argument` names the input: x, y,
validation_x, x[name], ...):

- `content`: an in-memory array (numpy, a backend tensor, a pandas object converted with
  `to_numpy()`) up to `FULL_HASH_LIMIT` bytes: `sha256` is
  `hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()`, which anyone can recompute.
  A pandas frame with non-numeric columns is hashed with `pandas.util.hash_pandas_object`
  (index included) instead, and its `kind` says `DataFrame(hash_pandas_object)`.
- `sampled`: a larger array: the SHA-256 of `"keras_prov-sampled-v1\\0<shape> <dtype>\\0"`
  followed by `SAMPLE_BLOCKS` blocks of `SAMPLE_BLOCK_BYTES` bytes taken at evenly spaced offsets
  of its C-ordered bytes (first and last block included). Two arrays that differ only between
  the blocks get the same sampled identity; the row says `sampled` so it is never mistaken for a
  content digest.
- `partial`: a stream (`tf.data.Dataset`, `keras.utils.PyDataset`, a generator or any iterable):
  the SHA-256 of its kind, its element spec, its cardinality and the bytes of its first
  `STREAM_BATCHES` batches (read from a fresh iterator of a `tf.data.Dataset`, by index from a
  PyDataset; a generator cannot be read twice, so none of its batches are). A pipeline that
  shuffles without a seed gives another identity on each run.

What is read when: on the training thread, `DataLineage.start` only takes references to the inputs
(no copy). Hashing starts at once on keras_prov's lineage thread. An array changed in place after
`fit` returns must not be what is hashed, so the end of fit waits for the hashing of in-memory
arrays still running (it is only ever still running for fits shorter than the hashing: about a
tenth of a second per 100 MB); streams are not waited for. Keras never changes its inputs, so
arrays changed *during* fit are the program's own doing (from another thread) and not guarded.
"""
import concurrent.futures
import hashlib
import inspect
import logging
import os
import threading
import time

import numpy

logger = logging.getLogger("keras_prov")

FULL_HASH_LIMIT = int(float(os.environ.get("KERAS_PROV_DATA_FULL_HASH_MB", "256")) * (1 << 20))
SAMPLE_BLOCKS = 256
SAMPLE_BLOCK_BYTES = 64 * 1024
STREAM_BATCHES = 2
HASH_CHUNK = 16 << 20  # hashlib releases the GIL while it digests each chunk

COLUMNS = [("argument", "TEXT"), ("kind", "TEXT"), ("digest_kind", "TEXT"), ("sha256", "TEXT"), ("shape", "TEXT"),
           ("dtype", "TEXT"), ("samples", "NUMERIC"), ("size_bytes", "NUMERIC"), ("element_spec", "TEXT"),
           ("cardinality", "NUMERIC"), ("batches_hashed", "NUMERIC"), ("validation_split", "NUMERIC"),
           ("hash_seconds", "NUMERIC")]

_executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="keras_prov-lineage")


def fit_inputs(arguments):
    """[(role, object)] of a fit's data arguments: x, y, sample_weight and validation_data, a
    dict or list of arrays giving one role per array (`x[image]`, `x[1]`)."""
    inputs = []
    for name in ("x", "y", "sample_weight"):
        inputs += _roles(name, arguments.get(name))
    validation = arguments.get("validation_data")
    if isinstance(validation, (tuple, list)) and 1 < len(validation) <= 3:
        for name, value in zip(("validation_x", "validation_y", "validation_sample_weight"), validation):
            inputs += _roles(name, value)
    else:
        inputs += _roles("validation", validation)
    return inputs


def evaluate_inputs(arguments):
    inputs = []
    for name in ("x", "y", "sample_weight"):
        inputs += _roles(name, arguments.get(name))
    return inputs


def _roles(name, value):
    if value is None:
        return []
    if isinstance(value, dict):
        return [(f"{name}[{key}]", item) for key, item in value.items() if item is not None]
    if isinstance(value, (list, tuple)) and value and all(_is_array(item) for item in value):
        return [(f"{name}[{index}]", item) for index, item in enumerate(value)]
    return [(name, value)]


class DataLineage:
    """The identities of one call's inputs, being computed on the lineage thread.

    Args:
        inputs: [(role, object)] (see `fit_inputs`).
        validation_split: fit's `validation_split` (recorded on the x and y rows: the fraction of
            their last samples Keras keeps for validation).

    Example:
        >>> lineage = DataLineage.start(fit_inputs({"x": x, "y": y}))   # training thread
        >>> lineage.rows(timeout=60)[0]["sha256"]                         # anywhere
    """

    def __init__(self, inputs, validation_split=None):
        self.inputs = list(inputs)
        self.validation_split = validation_split or None
        self._arrays = []
        self._streams = []
        self._taken = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, inputs, validation_split=None, when_done=None):
        """Starts hashing; `when_done(lineage)` is called on the lineage thread once every identity is known."""
        lineage = cls(inputs, validation_split)
        for role, value in lineage.inputs:
            target = lineage._arrays if _is_array(value) or _is_pandas(value) else lineage._streams
            target.append(_executor.submit(_identity, role, value))
        if when_done is not None:
            _executor.submit(when_done, lineage)  # one worker: runs after the hashing above
        return lineage

    def wait_for_arrays(self, timeout=None):
        """Waits until the in-memory arrays are hashed (see the module's docstring for why)."""
        concurrent.futures.wait(self._arrays, timeout=timeout)

    def rows(self, timeout=None):
        """One row per input (see `COLUMNS`), once they are all known; an input that could not be
        identified (or not in time) gets a row saying so."""
        rows = []
        futures = self._arrays + self._streams
        concurrent.futures.wait(futures, timeout=timeout)
        for (role, value), future in zip(self._ordered_inputs(), futures):
            if future.done() and future.exception() is None:
                row = future.result()
            else:
                row = {"argument": role, "kind": _kind(value), "digest_kind": "unknown"}
                if future.done():
                    logger.warning("keras_prov could not identify the %s data: %s", role, future.exception())
            if role.split("[")[0] in ("x", "y", "sample_weight") and self.validation_split:
                row["validation_split"] = float(self.validation_split)
            rows.append(row)
        return rows

    def take_rows(self, timeout=None):
        """The rows the first time it is called, None afterwards (several paths may send them)."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
        return self.rows(timeout)

    def _ordered_inputs(self):
        arrays = [(r, v) for r, v in self.inputs if _is_array(v) or _is_pandas(v)]
        return arrays + [(r, v) for r, v in self.inputs if not (_is_array(v) or _is_pandas(v))]


def _is_array(value):
    return isinstance(value, numpy.ndarray) or (
        hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__array__") and not _is_pandas(value))


def _is_pandas(value):
    return type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "to_numpy")


def _kind(value):
    klass = type(value)
    module = klass.__module__.split(".")[0]
    return klass.__name__ if module in ("builtins", "numpy") else f"{module}.{klass.__name__}"


def _identity(role, value):
    started = time.perf_counter()
    if _is_pandas(value):
        row = _pandas_identity(value)
    elif _is_array(value):
        row = array_identity(numpy.asarray(value))
    else:
        row = stream_identity(value)
    row.update(argument=role, hash_seconds=round(time.perf_counter() - started, 6))
    row.setdefault("kind", _kind(value))
    return row


def array_identity(array):
    """{kind, digest_kind, sha256, shape, dtype, samples, size_bytes} of an in-memory array."""
    array = numpy.asarray(array)
    row = {"kind": "ndarray", "shape": _shape_text(array.shape), "dtype": str(array.dtype),
           "samples": int(array.shape[0]) if array.ndim else 1, "size_bytes": int(array.nbytes)}
    if array.dtype.hasobject:
        digest = hashlib.sha256(repr(array.tolist()).encode())
        row.update(digest_kind="content(repr)", sha256=digest.hexdigest())
        return row
    contiguous = numpy.ascontiguousarray(array)
    data = contiguous.reshape(-1).view(numpy.uint8) if contiguous.size else numpy.zeros(0, numpy.uint8)
    if data.size <= FULL_HASH_LIMIT:
        digest = hashlib.sha256()
        for start in range(0, data.size, HASH_CHUNK):
            digest.update(data[start:start + HASH_CHUNK])
        row.update(digest_kind="content", sha256=digest.hexdigest())
    else:
        row.update(digest_kind="sampled", sha256=sampled_digest(data, array.shape, array.dtype))
    return row


def sampled_digest(data, shape, dtype):
    """The sampled identity of the C-ordered bytes `data` (a uint8 array) of an array of `shape`/`dtype`."""
    digest = hashlib.sha256(f"keras_prov-sampled-v1\0{_shape_text(shape)} {dtype}\0".encode())
    last = max(data.size - SAMPLE_BLOCK_BYTES, 0)
    for index in range(SAMPLE_BLOCKS):
        offset = last * index // (SAMPLE_BLOCKS - 1)
        digest.update(data[offset:offset + SAMPLE_BLOCK_BYTES])
    return digest.hexdigest()


def _pandas_identity(frame):
    try:
        values = frame.to_numpy()
    except (TypeError, ValueError):
        values = None
    if values is not None and not values.dtype.hasobject:
        row = array_identity(values)
        row["kind"] = _kind(frame)
        return row
    import pandas

    hashed = pandas.util.hash_pandas_object(frame, index=True).to_numpy()
    row = {"kind": f"{_kind(frame)}(hash_pandas_object)", "digest_kind": "content",
           "sha256": hashlib.sha256(numpy.ascontiguousarray(hashed).tobytes()).hexdigest(),
           "shape": _shape_text(frame.shape), "dtype": ",".join(sorted({str(t) for t in getattr(frame, "dtypes", [frame.dtype])})),
           "samples": int(frame.shape[0]), "size_bytes": int(numpy.sum(frame.memory_usage(deep=False)))}
    return row


def stream_identity(stream):
    """{kind, digest_kind: "partial", sha256, element_spec, cardinality, batches_hashed} of a stream."""
    kind = _kind(stream)
    spec, cardinality, batches = None, None, []
    if hasattr(stream, "element_spec") and hasattr(stream, "take"):  # tf.data.Dataset
        spec = str(stream.element_spec)
        cardinality = _tf_cardinality(stream)
        for element in stream.take(STREAM_BATCHES):
            batches.append(_flat_arrays(element))
    elif _is_py_dataset(stream):
        try:
            cardinality = len(stream)
        except (TypeError, NotImplementedError):
            cardinality = None
        for index in range(min(STREAM_BATCHES, cardinality or 0)):
            batches.append(_flat_arrays(stream[index]))
        if batches:
            spec = ", ".join(f"{a.shape[1:]} {a.dtype}" for a in batches[0])
    elif inspect.isgenerator(stream):
        spec = f"generator {stream.gi_code.co_qualname if hasattr(stream.gi_code, 'co_qualname') else stream.__name__}"
    else:
        try:
            cardinality = len(stream)
        except TypeError:
            cardinality = None
    digest = hashlib.sha256(f"keras_prov-stream-v1\0{kind}\0{spec}\0{cardinality}\0".encode())
    samples = 0
    for arrays in batches:
        for array in arrays:
            digest.update(f"{_shape_text(array.shape)} {array.dtype}\0".encode())
            digest.update(numpy.ascontiguousarray(array).reshape(-1).view(numpy.uint8))
        samples += int(arrays[0].shape[0]) if arrays and arrays[0].ndim else 0
    return {"kind": kind, "digest_kind": "partial", "sha256": digest.hexdigest(), "element_spec": spec,
            "cardinality": cardinality, "batches_hashed": len(batches)}


def _tf_cardinality(dataset):
    try:
        value = int(dataset.cardinality())
    except (TypeError, ValueError, AttributeError):
        return None
    return value if value >= 0 else value  # -1 infinite, -2 unknown (tf.data.INFINITE/UNKNOWN_CARDINALITY)


def _is_py_dataset(value):
    return any(klass.__name__ == "PyDataset" for klass in type(value).__mro__) and hasattr(value, "__getitem__")


def _flat_arrays(element):
    """The arrays of one batch (a tensor, a tuple/dict nest of them), as numpy, in a fixed order."""
    if isinstance(element, dict):
        items = [element[key] for key in sorted(element, key=str)]
    elif isinstance(element, (tuple, list)):
        items = list(element)
    else:
        return [numpy.asarray(element)]
    arrays = []
    for item in items:
        arrays += _flat_arrays(item) if isinstance(item, (dict, tuple, list)) else [numpy.asarray(item)]
    return arrays


def _shape_text(shape):
    return "(" + ", ".join(str(dimension) for dimension in shape) + ")"
