"""Which recorded model a fit starts from: the digest of the weights a fit starts with and ends with.

A fit records in `oModelWeights` the SHA-256 of the weights it started from
(`initial_weights_sha256`) and of those it trained (`trained_weights_sha256`), both computed as

    hashlib.sha256(b"".join(numpy.ascontiguousarray(w).tobytes() for w in model.get_weights()))

A fit whose initial digest equals another run's trained digest started from that run's model:
DfAnalyzer reads it as `wasDerivedFrom` (the run page, the PROV documents). This holds however
the weights came back: `keras.saving.load_model` on a file from the model store or one the
program saved itself, `model.load_weights(...)`, `model.set_weights(...)`, a second `fit` of the
same model, a tuner resuming a trial from its checkpoint. The bytes hashed are the weights'
values only (not the file, whose zip timestamps differ between two saves of the same model).

On the training thread the weights are copied (`model.get_weights()`: one copy of the model's
parameters at the start and at the end of fit, next to the `model.save` of the end); hashing runs
on keras_prov's lineage thread.
"""
import hashlib

import numpy

COLUMNS = [("initial_weights_sha256", "TEXT"), ("trained_weights_sha256", "TEXT"), ("weights_count", "NUMERIC"),
           ("weights_bytes", "NUMERIC")]


def weights_copy(model):
    """The model's weights as numpy arrays (a copy), or None when it has none yet (not built)."""
    weights = model.get_weights()
    return weights or None


def weights_digest(weights):
    """(hex digest, number of arrays, bytes) of a `weights_copy`."""
    digest = hashlib.sha256()
    size = 0
    for array in weights:
        data = numpy.ascontiguousarray(array)
        digest.update(data.reshape(-1).view(numpy.uint8) if data.size else b"")
        size += data.nbytes
    return digest.hexdigest(), len(weights), size
