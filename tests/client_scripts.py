"""Instrumented scripts shared by the dfa_lib_python tests, written as users write them."""
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation


def original_script(dataflow_tag, files=("a", "b")):
    """The shape of the original library's example: two transformations, the second consuming the
    first one's output through a re-typed Set, and a task that depends on the first task."""
    df = Dataflow(dataflow_tag)
    tf1 = Transformation("ExtractRatio")
    tf1_input = Set("iExtractRatio", SetType.INPUT,
                    [Attribute("NAME", AttributeType.TEXT), Attribute("FILE", AttributeType.FILE)])
    tf1_output = Set("oExtractRatio", SetType.OUTPUT,
                     [Attribute("NAME", AttributeType.TEXT), Attribute("RATIO", AttributeType.NUMERIC)])
    tf1.set_sets([tf1_input, tf1_output])
    df.add_transformation(tf1)
    tf2 = Transformation("ComputeRatio")
    tf1_output.set_type(SetType.INPUT)
    tf1_output.dependency = tf1._tag
    tf2_output = Set("oComputeRatio", SetType.OUTPUT,
                     [Attribute("NAME", AttributeType.TEXT), Attribute("RESULT", AttributeType.NUMERIC)])
    tf2.set_sets([tf1_output, tf2_output])
    df.add_transformation(tf2)
    df.save()

    ratios = {name: (index + 1) / 4 for index, name in enumerate(files)}
    t1 = Task(1, dataflow_tag, "ExtractRatio")
    t1.add_dataset(DataSet("iExtractRatio", [Element([name, f"/data/{name}.csv"]) for name in files]))
    t1.begin()
    t1.add_dataset(DataSet("oExtractRatio", [Element([name, ratios[name]]) for name in files]))
    t1.end()

    t2 = Task(2, dataflow_tag, "ComputeRatio", dependency=t1)
    t2.add_dataset(DataSet("oExtractRatio", [Element([name, ratios[name]]) for name in files]))
    t2.begin()
    t2.add_dataset(DataSet("oComputeRatio", [Element([name, ratios[name] * 10]) for name in files]))
    t2.end()
    return df


def expected_ratio_rows(files=("a", "b")):
    """Rows of <tag>.oextractratio the original script stores, without the task columns."""
    return [[name, (index + 1) / 4] for index, name in enumerate(files)]


def training_epoch(task, epoch):
    """One Keras-Prov-style epoch: add the epoch's metrics, save."""
    task.add_dataset(DataSet("oTrainingModel", [Element(["t", "0.01", 1.0 / (epoch + 1), 0.5, None, None, epoch])]))
    task.save()
