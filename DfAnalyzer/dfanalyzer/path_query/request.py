"""What a path query asks for, independent of how it arrived (JSON fields or program text)."""
from dataclasses import dataclass, field

MAPPINGS = ("physical", "logical", "hybrid")


@dataclass
class PathQuery:
    """A path query over one dataflow.

    Args:
        source: set tags the paths start from.
        target: set tags the paths end at.
        mapping: "physical" joins consecutive sets on `<transformation>_task_id`, "logical" on
            attributes of the same name, "hybrid" on both.
        projection: "set.attribute" references to return; empty means every join attribute.
        selection: conditions "set.attribute <op> value", ANDed; values are bound, never pasted.
        include: set tags a path must pass through to be kept.
        exclude: set tags a path must not pass through.
    """

    source: list
    target: list
    mapping: str = "physical"
    projection: list = field(default_factory=list)
    selection: list = field(default_factory=list)
    include: list = field(default_factory=list)
    exclude: list = field(default_factory=list)
