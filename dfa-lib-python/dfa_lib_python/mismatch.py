"""What happens to data that does not fit the dataflow: a warning and the data kept, not an exception.

Scripts written for the original libraries send elements whose length differs from their set, or
data sets of sets the dataflow never declared. Provenance must not stop such a script: each kind
of mismatch is a warning once per set (ElementMismatchWarning, naming the set, what it expects and
what it received), and the data is recorded as far as it can be (missing trailing values NULL) or
set aside in the spool's rejected.jsonl (`python -m dfa_lib_python rejected` shows it).
`DFA_STRICT=1` raises ElementLengthError / SpecificationError at the call instead.
"""
import json
import os
import threading
import warnings

from dfa_lib_python.errors import ElementLengthError, SpecificationError

_warned = set()
_lock = threading.Lock()


class ElementMismatchWarning(UserWarning):
    """An element or data set did not fit the dataflow; it was padded or set aside (see mismatch)."""


def strict():
    return os.environ.get("DFA_STRICT", "").strip().lower() in ("1", "true", "yes")


def fitted_elements(dataset, names, task):
    """The element values of `dataset` (a DataSet of a set with attributes `names`) that can be
    stored: short elements padded with None; long ones set aside. Raises in strict mode."""
    fitted, set_aside = [], []
    for position, element in enumerate(dataset.elements):
        values = element.get_specification()
        if len(values) == len(names):
            fitted.append(values)
            continue
        message = (f"element {position} of data set {dataset.tag!r} (task {task.id}) has {len(values)} value(s) "
                   f"{values!r}, but set {dataset.tag!r} of dataflow {task.dataflow_tag!r} has {len(names)} "
                   f"attribute(s) {names}: give one value per attribute, in that order")
        if strict():
            raise ElementLengthError(message)
        if len(values) < len(names):
            fitted.append(values + [None] * (len(names) - len(values)))
            _warn_once(("short", task.dataflow_tag, dataset.tag.lower()),
                       f"{message}. Missing trailing values are stored as NULL (warned once per set; "
                       "DFA_STRICT=1 raises instead).")
        else:
            set_aside.append(values)
            _warn_once(("long", task.dataflow_tag, dataset.tag.lower()),
                       f"{message}. Elements with too many values are set aside in the spool's rejected.jsonl "
                       "(warned once per set; DFA_STRICT=1 raises instead).")
    if set_aside:
        _set_aside(task, dataset.tag, set_aside, f"element length differs from the {len(names)} attribute(s) "
                                                 f"{names} of set {dataset.tag!r}")
    return fitted


def undeclared_set(dataset, task, declared):
    """A data set of a set the dataflow does not declare: set aside (or raised in strict mode)."""
    message = (f"task {task.id} adds a data set {dataset.tag!r}, but dataflow {task.dataflow_tag!r} declares no such "
               f"set (its sets: {sorted(declared)}); declare it in a Transformation before the task uses it")
    if strict():
        raise SpecificationError(message)
    _warn_once(("undeclared", task.dataflow_tag, dataset.tag.lower()),
               f"{message}. Its elements are set aside in the spool's rejected.jsonl (warned once per set; "
               "DFA_STRICT=1 raises instead).")
    _set_aside(task, dataset.tag, [e.get_specification() for e in dataset.elements],
               f"set {dataset.tag!r} is not declared by dataflow {task.dataflow_tag!r}")


def _warn_once(key, message):
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, ElementMismatchWarning, stacklevel=4)


def _set_aside(task, set_tag, elements, reason):
    from dfa_lib_python.registry import registry

    client = registry.client()
    record = {"kind": "elements", "dataflow": task.dataflow_tag, "exec": task.exec_tag, "task": task.id,
              "transformation": task.transformation_tag, "set": set_tag.lower(), "elements": elements}
    client.rejected.add(json.dumps(record, default=str), reason, client.url)
