"""Runs shaped like keras_prov's, stored through the real ingest API, for the web tests and bench/web.py."""
import datetime
import uuid

import requests

HYPERPARAMETERS = [("optimizer_name", "TEXT"), ("learning_rate", "NUMERIC"), ("batch_size", "NUMERIC"),
                   ("epochs", "NUMERIC"), ("dropout", "NUMERIC")]
LAYERS = [("layer_index", "NUMERIC"), ("name", "TEXT"), ("class_name", "TEXT"), ("units", "NUMERIC")]
EPOCHS = [("epoch", "NUMERIC"), ("timestamp", "TEXT"), ("elapsed_time", "NUMERIC"), ("learning_rate", "NUMERIC"),
          ("loss", "NUMERIC"), ("accuracy", "NUMERIC"), ("val_loss", "NUMERIC"), ("val_accuracy", "NUMERIC")]
ADAPTATIONS = [("adaptation_id", "TEXT"), ("epoch", "NUMERIC"), ("old_learning_rate", "NUMERIC"),
               ("new_learning_rate", "NUMERIC"), ("cause", "TEXT"), ("timestamp", "TEXT")]
TESTS = [("timestamp", "TEXT"), ("elapsed_time", "NUMERIC"), ("loss", "NUMERIC"), ("accuracy", "NUMERIC")]


def _set(tag, kind, columns, dependency=None):
    data_set = {"tag": tag, "type": kind, "attributes": [{"name": n, "type": t} for n, t in columns]}
    if dependency:
        data_set["dependency"] = dependency
    return data_set


def specification(dataflow):
    return {"tag": dataflow, "transformations": [
        {"tag": "TrainingModel", "sets": [_set("iTrainingModel", "INPUT", HYPERPARAMETERS),
                                          _set("iLayers", "INPUT", LAYERS),
                                          _set("oTrainingModel", "OUTPUT", EPOCHS)]},
        {"tag": "Adaptation", "sets": [_set("oAdaptation", "OUTPUT", ADAPTATIONS)]},
        {"tag": "TestingModel", "sets": [_set("oTestingModel", "OUTPUT", TESTS)]},
    ]}


def curve(epoch, learning_rate, seed=0.0):
    """Plausible metrics of an epoch: loss falls, accuracy rises, both faster with a larger rate."""
    speed = 1 + 30 * learning_rate + seed
    loss = 2.0 / (1 + speed * epoch / 4)
    return {"loss": loss, "accuracy": 1 - loss / 2.2, "val_loss": loss * 1.1, "val_accuracy": 1 - loss / 2.0}


class RunSeeder:
    """Posts keras_prov-shaped runs to a DfAnalyzer through /api/v1/ingest.

    Args:
        url: the service's URL.
        dataflow: dataflow tag of the runs.
        token: the service's access token, if it was started with one.

    Example:
        seeder = RunSeeder(service.url, "web")
        seeder.run("r1", {"optimizer_name": "adam", "learning_rate": 0.01, ...}, epochs=5)
    """

    def __init__(self, url, dataflow, token=None):
        self.url = url
        self.dataflow = dataflow
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.task_ids = 0
        self.post([{"kind": "dataflow", "body": specification(dataflow)}])

    def post(self, messages):
        for message in messages:
            message.setdefault("id", str(uuid.uuid4()))
        response = self.session.post(self.url + "/api/v1/ingest", json={"messages": messages}, timeout=120)
        response.raise_for_status()

    def task(self, exec_tag, transformation, status, sets, task_id=None, dependency=None, start=None, end=None):
        if task_id is None:
            self.task_ids += 1
            task_id = str(self.task_ids)
        body = {"id": task_id, "dataflow": self.dataflow, "exec": exec_tag, "transformation": transformation,
                "status": status, "sets": [{"tag": tag, "elements": rows} for tag, rows in sets]}
        if dependency:
            body["dependency"] = {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": dependency}]}
        if start:
            body["performances"] = [{"startTime": start, **({"endTime": end} if end else {})}]
        return {"kind": "task", "body": body}, task_id

    def run(self, exec_tag, hyperparameters, epochs, status="FINISHED", test=True, adaptations=(), seed=0.0,
            layers=(("dense", "Dense", 64), ("output", "Dense", 10))):
        """Stores one run: hyperparameters, layers, `epochs` epochs, adaptations, a test result.
        `status` RUNNING leaves the training task open. Answers the training task's id."""
        messages, training = self.run_messages(exec_tag, hyperparameters, epochs, status, test, adaptations, seed,
                                               layers)
        self.post(messages)
        return training

    def run_messages(self, exec_tag, hyperparameters, epochs, status="FINISHED", test=True, adaptations=(),
                     seed=0.0, layers=(("dense", "Dense", 64), ("output", "Dense", 10))):
        """The ingest messages of one run (see `run`), to post in batches of several runs."""
        start = (datetime.datetime.now() - datetime.timedelta(days=1)
                 + datetime.timedelta(minutes=self.task_ids)).replace(microsecond=0)
        stamp = start.strftime("%Y-%m-%d %H:%M:%S")
        hyper_row = [hyperparameters.get(name) for name, _ in HYPERPARAMETERS]
        layer_rows = [[index, name, kind, units] for index, (name, kind, units) in enumerate(layers)]
        messages = [{"kind": "execution", "body": {"dataflow": self.dataflow, "exec": exec_tag, "agents": [
            {"kind": "machine", "name": "test-host", "properties": {"os": "Linux"}},
            {"kind": "software", "name": "keras", "properties": {"version": "3.15.1"}}]}}]
        begin, training = self.task(exec_tag, "TrainingModel", "RUNNING",
                                    [("iTrainingModel", [hyper_row]), ("iLayers", layer_rows)], start=stamp)
        messages.append(begin)
        rows = self.epoch_rows(hyperparameters, 1, epochs, seed, adaptations)
        message, _ = self.task(exec_tag, "TrainingModel", "RUNNING", [("oTrainingModel", rows)], task_id=training)
        messages.append(message)
        if status == "RUNNING":
            return messages, training
        end = (start + datetime.timedelta(seconds=10 + epochs)).strftime("%Y-%m-%d %H:%M:%S")
        finish, _ = self.task(exec_tag, "TrainingModel", status, [], task_id=training, start=stamp, end=end)
        if status == "ABORTED":
            finish["body"]["error"] = "KeyboardInterrupt"
        elif status != "FINISHED":
            finish["body"]["error"] = "ValueError: the loss became NaN at epoch %d" % epochs
        messages.append(finish)
        for number, (epoch, old, new, cause) in enumerate(adaptations):
            adaptation, _ = self.task(exec_tag, "Adaptation", "FINISHED",
                                      [("oAdaptation", [[f"a{number}", epoch, old, new, cause, stamp]])],
                                      dependency=training, start=stamp, end=stamp)
            messages.append(adaptation)
        if test and status == "FINISHED":
            final = curve(epochs, hyperparameters.get("learning_rate") or 0.01, seed)
            testing, _ = self.task(exec_tag, "TestingModel", "FINISHED",
                                   [("oTestingModel", [[end, 0.5, final["val_loss"], final["val_accuracy"]]])],
                                   dependency=training, start=end, end=end)
            messages.append(testing)
        return messages, training

    def add_epochs(self, exec_tag, training, hyperparameters, first, last):
        """Stores epochs `first`..`last` of a RUNNING run."""
        message, _ = self.task(exec_tag, "TrainingModel", "RUNNING",
                               [("oTrainingModel", self.epoch_rows(hyperparameters, first, last))], task_id=training)
        self.post([message])

    def finish(self, exec_tag, training):
        """Ends the training task of a RUNNING run."""
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        message, _ = self.task(exec_tag, "TrainingModel", "FINISHED", [], task_id=training, start=stamp, end=stamp)
        self.post([message])

    @staticmethod
    def epoch_rows(hyperparameters, first, last, seed=0.0, adaptations=()):
        rate = hyperparameters.get("learning_rate") or 0.01
        rows = []
        for epoch in range(first, last + 1):
            for at_epoch, _, new, _ in adaptations:
                if epoch == at_epoch:
                    rate = new
            metrics = curve(epoch, rate, seed)
            rows.append([epoch, "2026-01-01 10:00:00", 0.1 * epoch, rate, metrics["loss"], metrics["accuracy"],
                         metrics["val_loss"], metrics["val_accuracy"]])
        return rows
