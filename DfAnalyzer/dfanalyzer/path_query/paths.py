"""Every path between two sets of a dataflow specification.

A path alternates sets and transformations: set -> transformation that consumes it -> set that
transformation produces -> ... It is returned as [(set, transformation, next set), ...] steps, or
[] for the path of a set to itself.
"""
from dfanalyzer.errors import InvalidInput

MAX_PATHS = 1000


def _successors(specification):
    """{set tag: [(transformation tag, set tag it produces)]}, lower-cased tags."""
    produced = {}
    for data_set in specification["sets"]:
        for transformation in data_set["produced_by"]:
            produced.setdefault(transformation.lower(), []).append(data_set["tag"].lower())
    return {
        data_set["tag"].lower(): [(t.lower(), produced_set)
                                  for t in data_set["consumed_by"] for produced_set in produced.get(t.lower(), [])]
        for data_set in specification["sets"]
    }


def enumerate_paths(specification, source, target):
    """All simple paths from set `source` to set `target` (lower-cased tags)."""
    successors = _successors(specification)
    found = []

    def walk(current, visited, steps):
        if current == target:
            found.append(list(steps))
            return
        for transformation, following in successors.get(current, []):
            if following in visited:
                continue
            if len(found) >= MAX_PATHS:
                raise InvalidInput(f"more than {MAX_PATHS} paths lead from {source!r} to {target!r}; "
                                   "narrow them with include(...) or exclude(...)")
            steps.append((current, transformation, following))
            walk(following, visited | {following}, steps)
            steps.pop()

    walk(source, {source}, [])
    return found


def sets_of(path, start):
    """The sets a path passes through, in order, starting with `start`."""
    return [start] + [step[2] for step in path]


def select_paths(specification, sources, targets, include=(), exclude=()):
    """[(start set, path)] for every source and target, keeping paths through all `include` sets
    and none of the `exclude` ones. Raises InvalidInput when none is left."""
    kept = []
    for source in sources:
        for target in targets:
            for path in enumerate_paths(specification, source, target):
                passed = set(sets_of(path, source))
                if all(s in passed for s in include) and not any(s in passed for s in exclude):
                    kept.append((source, path))
    if not kept:
        wanted = f"from {', '.join(sources)} to {', '.join(targets)}"
        if include or exclude:
            wanted += (f" through {', '.join(include) or 'any set'}"
                       f" avoiding {', '.join(exclude) or 'no set'}")
        raise InvalidInput(f"no path of the dataflow leads {wanted}; the Dataflow Viewer "
                           "(/dataflows/<tag>) draws which sets each transformation reads and writes")
    return kept
