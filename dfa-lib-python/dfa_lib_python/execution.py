"""One run of a dataflow and the agents involved."""
import datetime
import uuid

from dfa_lib_python._tags import checked_tag
from dfa_lib_python.agent import Agent, default_agents
from dfa_lib_python.errors import SpecificationError
from dfa_lib_python.performance import utc_now_text


def new_exec_tag(dataflow_tag):
    """An execution tag unique to this run: `<dataflow>-<UTC time>-<random>`."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{dataflow_tag}-{stamp}-{uuid.uuid4().hex[:6]}"


def _checked_exec_tag(tag):
    tag = str(tag)
    if not tag or len(tag) > 255:
        raise SpecificationError(f"an execution tag is 1 to 255 characters, got {tag[:40]!r}")
    return tag


class Execution:
    """A run of a dataflow (its `exec` tag) and its PROV agents.

    By default the agents are the user (person), Python and dfa_lib_python (software) and the
    machine with its OS and CPU. Libraries add their own, e.g. Keras and TensorFlow versions. The
    execution is sent once, just before its first task; add agents before that.

    Args:
        dataflow_tag: tag of the dataflow.
        tag: execution tag; a new unique one when None.
        agents: list of Agent; the environment's default agents when None.

    Example:
        df = Dataflow("mnist")
        df.execution.add_software("keras", version=keras.__version__)
        df.execution.set_property("tensorflow", version=tf.__version__)
    """

    def __init__(self, dataflow_tag, tag=None, agents=None):
        self.dataflow_tag = checked_tag(dataflow_tag, "dataflow tag").lower()
        self.tag = _checked_exec_tag(tag) if tag is not None else new_exec_tag(self.dataflow_tag)
        self.agents = list(agents) if agents is not None else default_agents()
        self.start_time = utc_now_text()

    def add_agent(self, kind, name, **properties):
        """Adds an agent, or merges `properties` into the agent of the same kind and name."""
        for agent in self.agents:
            if agent.kind == kind and agent.name == name:
                agent.properties.update(properties)
                return agent
        agent = Agent(kind, name, properties)
        self.agents.append(agent)
        return agent

    def add_software(self, name, version=None, **properties):
        """Adds a software agent, e.g. `add_software("keras", version="3.15.1")`."""
        if version is not None:
            properties["version"] = str(version)
        return self.add_agent("software", name, **properties)

    def set_property(self, name, **properties):
        """Adds properties to the software agent `name` (created if missing)."""
        return self.add_agent("software", name, **properties)

    def agent(self, kind, name=None):
        """The first agent of `kind` (and `name` when given), or None."""
        for agent in self.agents:
            if agent.kind == kind and (name is None or agent.name == name):
                return agent
        return None

    def copy_for(self, tag):
        """The same agents for another execution tag of the same dataflow."""
        return Execution(self.dataflow_tag, tag, [Agent(a.kind, a.name, a.properties) for a in self.agents])

    def get_specification(self):
        return {"dataflow": self.dataflow_tag, "exec": self.tag, "startTime": self.start_time,
                "agents": [agent.get_specification() for agent in self.agents]}

    def save(self):
        """Sends the execution now (again, if its agents changed after the first task)."""
        from dfa_lib_python.registry import registry

        registry.client().send("execution", self.get_specification())

    def __repr__(self):
        return f"Execution({self.dataflow_tag!r}, {self.tag!r})"
