"""Storing execution messages: the agents (user, software, machine) of one run."""
import json

from dfanalyzer.errors import InvalidInput
from dfanalyzer.identifiers import check_label

AGENT_KINDS = ("person", "software", "machine")


def save_agents(tx, ids, exec_id, agents, where):
    """Adds the agents not stored yet for the execution (same kind and name = same agent)."""
    if not isinstance(agents, list):
        raise InvalidInput(f"{where}: 'agents' must be a list of {{kind, name, properties}}")
    for agent in agents:
        if not isinstance(agent, dict) or agent.get("kind") not in AGENT_KINDS or not agent.get("name"):
            raise InvalidInput(f"{where}: agent {agent!r} needs a 'name' and a 'kind' among {', '.join(AGENT_KINDS)}")
        check_label(agent["name"], f"{where}: agent name")
        properties = agent.get("properties") or {}
        if not isinstance(properties, dict):
            raise InvalidInput(f"{where}: properties of agent {agent['name']!r} must be an object")
        stored = tx.fetch("SELECT id, properties FROM agent WHERE exec_id = ? AND kind = ? AND name = ?",
                          [exec_id, agent["kind"], str(agent["name"])])
        if stored:
            merged = {**json.loads(stored[0][1] or "{}"), **properties}
            tx.execute("UPDATE agent SET properties = ? WHERE id = ?", [json.dumps(merged, sort_keys=True), stored[0][0]])
            continue
        tx.execute("INSERT INTO agent (id, exec_id, kind, name, properties) VALUES (?, ?, ?, ?, ?)",
                   [ids.take(tx, "sys", "agent"), exec_id, agent["kind"], str(agent["name"]),
                    json.dumps(properties, sort_keys=True, default=str)])
