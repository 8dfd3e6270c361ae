"""The Keras-Prov paper's two analyses, written for a dataflow that has what they need:

1. the loss now of the model whose dense block has growth rate K and L layers (a user's own
   DenseBlock transformation whose input set `iDenseBlock` holds k and l, depending on training);
2. the loss of each of the first four epochs of the latest training.

They are offered in the SQL console as ready examples; identifiers come from the stored
specification and are quoted.
"""
from dfanalyzer.identifiers import qualified, quote


def _set(specification, tag):
    return next((s for s in specification["sets"] if s["tag"].lower() == tag), None)


def _columns(data_set):
    return {a["column"] for a in data_set["attributes"]} if data_set else set()


def _table(specification, data_set):
    return qualified(specification["schema"], data_set["table"].split(".", 1)[1])


def candidate_dataflows(store):
    """Tags of the dataflows with an oTrainingModel set, the only ones the analyses can answer
    (one catalog query, however many dataflows are stored)."""
    _, rows = store.read("SELECT DISTINCT d.tag FROM dataflow d JOIN data_set s ON s.df_id = d.id "
                         "WHERE LOWER(s.tag) = 'otrainingmodel' ORDER BY d.tag")
    return [row[0] for row in rows]


def analyses(store, specification):
    """[{"name", "sql", "example": True}] of the analyses this dataflow can answer."""
    training = _set(specification, "otrainingmodel")
    if not training or not {"epoch", "loss"} <= _columns(training):
        return []
    losses = [c for c in ("loss", "val_loss") if c in _columns(training)]
    loss_columns = ", ".join(f"o.{quote(c)}" for c in losses)
    training_table = _table(specification, training)
    latest_training = (f"o.{quote('trainingmodel_task_id')} = "
                       f"(SELECT MAX({quote('trainingmodel_task_id')}) FROM {training_table})")
    found = []
    block = _set(specification, "idenseblock")
    if block and {"k", "l"} <= _columns(block):
        block_table = _table(specification, block)
        _, rows = store.read(f"SELECT {quote('k')}, {quote('l')} FROM {block_table} ORDER BY id DESC", limit=1)
        k, l = rows[0] if rows and None not in rows[0] else (24, 4)
        found.append({
            "name": f"Paper analysis 1: loss now of the dense block with K={k:g} and L={l:g} ({specification['tag']})",
            "sql": (f"SELECT b.{quote('k')}, b.{quote('l')}, o.{quote('epoch')}, {loss_columns}\n"
                    f"FROM {training_table} o\n"
                    f"JOIN task_dependency d ON d.depends_on_task_id = o.{quote('trainingmodel_task_id')}\n"
                    f"JOIN {block_table} b ON b.{quote('denseblock_task_id')} = d.task_id\n"
                    f"WHERE b.{quote('k')} = {k:g} AND b.{quote('l')} = {l:g}\n"
                    f"ORDER BY o.{quote('trainingmodel_task_id')} DESC, o.{quote('epoch')} DESC\nLIMIT 1"),
            "example": True})
    found.append({
        "name": f"Paper analysis 2: loss of the first four epochs ({specification['tag']})",
        "sql": (f"SELECT o.{quote('epoch')}, {loss_columns}\nFROM {training_table} o\n"
                f"WHERE {latest_training} AND o.{quote('epoch')} <= 4\nORDER BY o.{quote('epoch')}"),
        "example": True})
    return found
