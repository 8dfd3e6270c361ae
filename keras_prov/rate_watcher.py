"""The optimizer's learning rate, known without reading it from the backend every epoch."""
import keras

from keras_prov.hyperparameter_catalog import current_learning_rate


class RateWatcher:
    """Follows an optimizer's learning rate during one fit.

    Reading a backend variable costs 50-200 microseconds on CPU, too much to do twice per epoch on
    the training thread. A rate held in a variable only changes through the variable's `assign`
    (which `optimizer.learning_rate = x`, LearningRateScheduler and ReduceLROnPlateau all use), so
    the watcher wraps that method of this one variable to note that the rate changed, and reads
    the variable again only then. Rates given by a schedule or a callable change every step and are
    computed when asked.

    Args:
        optimizer: the model's optimizer.

    Example:
        >>> watcher = RateWatcher(model.optimizer)
        >>> watcher.rate()
        0.01
        >>> watcher.close()   # at the end of fit: the variable gets its own assign back
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        learning_rate = getattr(optimizer, "_learning_rate", None)
        self.variable = learning_rate if isinstance(learning_rate, keras.Variable) else None
        self.schedule_name = None
        if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            self.schedule_name = type(learning_rate).__name__
        self._rate = current_learning_rate(optimizer)
        self._changed = False
        if self.variable is not None:
            original = self.variable.assign

            def assign(value, *args, **kwargs):
                self._changed = True
                return original(value, *args, **kwargs)

            self.variable.assign = assign

    def rate(self):
        """The learning rate in effect now, as a float."""
        if self.variable is None or self.optimizer._learning_rate is not self.variable:
            return current_learning_rate(self.optimizer)  # a schedule, a callable, or a replaced variable
        if self._changed:
            self._changed = False
            self._rate = current_learning_rate(self.optimizer)
        return self._rate

    def close(self):
        if self.variable is not None and "assign" in vars(self.variable):
            del self.variable.assign
