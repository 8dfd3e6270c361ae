"""A PROV document seen as nodes and labelled edges, ready to fold and draw."""
import dataclasses

from prov.constants import PROV_ACTIVITY, PROV_AGENT, PROV_ASSOCIATION, PROV_ENTITY, PROV_N_MAP, PROV_TYPE


@dataclasses.dataclass
class Node:
    id: str  # the record's identifier, as text
    kind: str  # "entity" | "activity" | "agent"
    record: object  # the prov record
    types: tuple  # prov:type values, as text

    def attribute(self, local_name):
        """The first value of the attribute whose local part is `local_name`, or None."""
        for name, value in self.record.attributes:
            if getattr(name, "localpart", None) == local_name:
                return value
        return None


@dataclasses.dataclass
class Edge:
    source: str
    target: str
    label: str


KINDS = {PROV_ENTITY: "entity", PROV_ACTIVITY: "activity", PROV_AGENT: "agent"}


class ProvView:
    """The elements of a ProvDocument as `Node`s (document order) and its relations as `Edge`s
    from the relation's subject to its object, labelled with the PROV-N name (`used`,
    `wasGeneratedBy`, ...). A `wasAssociatedWith` with a plan also gives an edge labelled
    `hadPlan` from the activity to the plan.

    Example:
        view = ProvView(document)
        activities = [node for node in view.nodes if node.kind == "activity"]
    """

    def __init__(self, document):
        self.nodes = []
        self.edges = []
        by_id = {}
        for record in document.get_records():
            if record.is_element():
                kind = KINDS.get(record.get_type())
                if kind is None or str(record.identifier) in by_id:
                    continue
                types = tuple(str(value) for value in record.get_attribute(PROV_TYPE))
                node = Node(id=str(record.identifier), kind=kind, record=record, types=tuple(sorted(types)))
                by_id[node.id] = node
                self.nodes.append(node)
        for record in document.get_records():
            if not record.is_relation():
                continue
            formal = [value for _name, value in record.formal_attributes]
            if len(formal) < 2 or formal[0] is None or formal[1] is None:
                continue
            label = PROV_N_MAP.get(record.get_type(), str(record.get_type()))
            self.edges.append(Edge(str(formal[0]), str(formal[1]), label))
            if record.get_type() == PROV_ASSOCIATION and len(formal) > 2 and formal[2] is not None:
                plan_edge = Edge(str(formal[0]), str(formal[2]), "hadPlan")
                if plan_edge not in self.edges:
                    self.edges.append(plan_edge)
        # An identifier used in a relation without its own record still gets drawn.
        for edge in self.edges:
            for identifier, kind in self._implied(edge):
                if identifier not in by_id:
                    node = Node(id=identifier, kind=kind, record=None, types=())
                    by_id[identifier] = node
                    self.nodes.append(node)
        self.by_id = by_id

    @staticmethod
    def _implied(edge):
        subject_kinds = {"used": ("activity", "entity"), "wasGeneratedBy": ("entity", "activity"),
                         "wasAssociatedWith": ("activity", "agent"), "wasInformedBy": ("activity", "activity"),
                         "wasDerivedFrom": ("entity", "entity"), "actedOnBehalfOf": ("agent", "agent"),
                         "wasAttributedTo": ("entity", "agent"), "hadPlan": ("activity", "entity")}
        kinds = subject_kinds.get(edge.label, ("entity", "entity"))
        return [(edge.source, kinds[0]), (edge.target, kinds[1])]
