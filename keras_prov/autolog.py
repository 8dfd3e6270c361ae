"""`keras_prov.autolog()`: provenance for code that keeps `import keras`, without touching the models."""
from keras_prov import keras_patch
from keras_prov.provenance import Provenance


def default_provenance():
    """The Provenance given to autolog(), used by models that did not call provenance() themselves."""
    return keras_patch.default_settings()


def autolog(dataflow_tag="keras_prov", hyperparameters=True, adaptation=True, hyps=None, extra=None,
            exec_tag=None, store_model=True, url=None,
                   store_weights=False, store_optimizer=False, disable=False):
    """Makes every `keras.Model` record its fits and evaluations, as `keras_prov.Model` does.

    Call it once, before training; the arguments are those of `keras_prov.Provenance` and apply to
    every model that does not call `model.provenance(...)` itself. Setting the environment
    variable `KERAS_PROV_AUTOLOG=<dataflow tag>` does the same without changing the program.

    Args:
        disable: True undoes autolog: models record again only when asked.

    Example:
        >>> import keras, keras_prov
        >>> keras_prov.autolog(dataflow_tag="mnist")
        >>> model = keras.Sequential([...]); model.compile(...); model.fit(x, y)   # recorded
    """
    if disable:
        keras_patch.set_autolog(None)
        return None
    settings = Provenance(dataflow_tag, hyperparameters=hyperparameters, adaptation=adaptation, hyps=hyps,
                          extra=extra, exec_tag=exec_tag, store_model=store_model, url=url,
            store_weights=store_weights, store_optimizer=store_optimizer)
    keras_patch.install()  # already done when keras_prov_hook is active
    keras_patch.set_autolog(settings)
    return settings
