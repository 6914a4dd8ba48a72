"""Ready keras-tuner HyperModels covering the usual hyperparameters of MLPs and small ConvNets."""

from __future__ import annotations

import inspect
import json
import math
import zlib
from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner

from kerasboost.api_export import kerasboost_export
from kerasboost.callbacks import EarlyStopping
from kerasboost.tuning.search_space import (
    OPTIMIZERS,
    SCHEDULES,
    hp_clipping,
    hp_dropout,
    hp_initializer,
    hp_learning_rate,
    hp_normalization,
    hp_optimizer,
    hp_regularizer,
    hp_schedule,
    total_steps,
)
from kerasboost.utils.validation import check_bool, check_choice, check_choices, check_number, check_seed, fail

ACTIVATIONS = ("relu", "tanh", "gelu", "selu", "elu", "sigmoid")


@kerasboost_export("kerasboost.tuning.trial_seed", register=False)
def trial_seed(hp: keras_tuner.HyperParameters, base_seed: int) -> int:
    """The seed of a trial: `base_seed` plus a hash of its hyperparameter values.

    A configuration always trains from the same initialization and data
    order, whichever worker runs it and in whatever order (Hyperband's
    brackets re-train a configuration with more epochs from the same seed).

    Args:
        hp: a `keras_tuner.HyperParameters` with the trial's values.
        base_seed: int, the search's seed.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hp = keras_tuner.HyperParameters()
    >>> _ = hp.Choice("units", [32, 64], default=64)
    >>> kerasboost.tuning.trial_seed(hp, 0) == kerasboost.tuning.trial_seed(hp, 0)
    True
    >>> kerasboost.tuning.trial_seed(hp, 1) - kerasboost.tuning.trial_seed(hp, 0)
    1

    ```
    """
    # the search's own values (`tuner/epochs`, ... of Hyperband's and ASHA's stretches) are not the configuration's
    text = json.dumps(sorted((k, repr(v)) for k, v in hp.values.items() if not k.startswith("tuner/")))
    return (int(base_seed) + zlib.crc32(text.encode())) % (2**31 - 1)


def _shared_arguments(values: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `_HyperModel.__init__`, taken from a subclass constructor's `locals()`."""
    names = inspect.signature(_HyperModel.__init__).parameters
    return {name: values[name] for name in names if name != "self"}


class _HyperModel(keras_tuner.HyperModel):
    """The shared part: head, loss, compile, batch size, seed, early stopping, failures."""

    def __init__(
        self,
        *,
        num_classes: int | None,
        output_units: int | None,
        task: str,
        activations: Sequence[str],
        optimizers: Sequence[str],
        schedules: Sequence[str],
        batch_sizes: Sequence[int],
        epochs: int,
        num_samples: int | None,
        seed: int,
        early_stopping: bool,
        patience: int,
        jit_compile: bool | str,
        name: str | None,
    ) -> None:
        super().__init__(name=name, tunable=True)
        self.task = check_choice("task", task, ("classification", "regression"))
        if self.task == "classification":
            self.num_classes = check_number("num_classes", num_classes, low=2, integer=True)
            self.output_units = None
        else:
            self.num_classes = None
            self.output_units = check_number("output_units", output_units, low=1, integer=True)
        self.activations = check_choices("activations", activations, ACTIVATIONS)
        self.optimizers = check_choices("optimizers", optimizers, OPTIMIZERS)
        self.schedules = check_choices("schedules", schedules, SCHEDULES)
        if not isinstance(batch_sizes, (list, tuple)) or not batch_sizes:
            raise fail("batch_sizes", "a non-empty list of ints >= 1", batch_sizes)
        self.batch_sizes = [check_number("batch_sizes", b, low=1, integer=True) for b in batch_sizes]
        self.epochs = check_number("epochs", epochs, low=1, integer=True)
        self.num_samples = check_number("num_samples", num_samples, low=1, integer=True, allow_none=True)
        if self.num_samples is None and self.schedules != ["constant"]:
            raise fail(
                "num_samples",
                'the number of training samples (step-based schedules need it), or schedules=["constant"]',
                num_samples,
            )
        self.seed = check_seed("seed", seed, allow_none=False)
        self.early_stopping = check_bool("early_stopping", early_stopping)
        self.patience = check_number("patience", patience, low=0, integer=True)
        if not (isinstance(jit_compile, bool) or jit_compile == "auto"):
            raise fail("jit_compile", 'True (XLA), False or "auto"', jit_compile)
        self.jit_compile = jit_compile

    # ------------------------------------------------------------------ keras-tuner hooks

    def declare_hyperparameters(self, hp):
        # declared before the first trial, so every oracle (Bayesian, grid, the chief) sees it
        hp.Choice("batch_size", self.batch_sizes)

    def seed_trial(self, hp):
        """Seed Keras (Python, NumPy and the backend) for the configuration's training, as
        `build` does first: a tuner that trains a model it kept, without building it again
        (`ASHA`'s resumed stretches), calls it so the data order is the configuration's."""
        keras.utils.set_random_seed(trial_seed(hp, self.seed))

    def build(self, hp):
        self.seed_trial(hp)
        try:
            model = self.body(hp)
            self._compile(hp, model)
        except ValueError as e:
            raise keras_tuner.errors.FailedTrialError(f"this configuration cannot be built: {e}") from e
        return model

    def fit(self, hp, model, *args, **kwargs):
        kwargs["batch_size"] = hp.get("batch_size")
        kwargs.setdefault("epochs", self.epochs)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if self.early_stopping and not any(
            isinstance(c, (EarlyStopping, keras.callbacks.EarlyStopping)) for c in callbacks
        ):
            validation = kwargs.get("validation_data") is not None or kwargs.get("validation_split")
            callbacks.append(
                EarlyStopping("val_loss" if validation else "loss", patience=self.patience, restore_best_weights=True)
            )
        history = model.fit(*args, callbacks=callbacks, **kwargs)
        for key, values in history.history.items():
            if "loss" in key and not all(math.isfinite(v) for v in values):
                raise keras_tuner.errors.FailedTrialError(
                    f"`{key}` became non-finite ({values}); the configuration diverged."
                )
        return history

    # ------------------------------------------------------------------ pieces

    def activation(self, hp) -> str:
        return hp.Choice("activation", self.activations)

    def head(self, x):
        if self.task == "classification":
            return keras.layers.Dense(self.num_classes, name="head")(x)
        return keras.layers.Dense(self.output_units, name="head")(x)

    def _compile(self, hp, model):
        rate = hp_learning_rate(hp, 1e-4, 1e-1)
        steps = total_steps(self.num_samples, hp.get("batch_size"), self.epochs) if self.num_samples else 1
        schedule = hp_schedule(hp, rate, steps=steps, choices=self.schedules)
        optimizer = hp_optimizer(hp, schedule, choices=self.optimizers, clipping=hp_clipping(hp))
        if self.task == "classification":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            metrics = ["accuracy"]
        else:
            loss, metrics = "mse", ["mae"]
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=self.jit_compile)
        # built now, as `fit` would: a model rebuilt from a trial's checkpoint
        # (`tuner.get_best_models()`) then gets the trained optimizer state back, instead of
        # Keras's "Skipping variable loading for optimizer" warning
        model.optimizer.build(model.trainable_variables)

    def body(self, hp) -> keras.Model:
        raise NotImplementedError


@kerasboost_export("kerasboost.tuning.MLPHyperModel", register=False)
class MLPHyperModel(_HyperModel):
    """A fully connected network with every usual hyperparameter searchable.

    Searched: number of hidden layers (`num_layers`, 1 to `max_layers`),
    units per layer (`units`), `activation`, the initializer matched to it
    (`hp_initializer`), normalization (none / batch / layer), dropout rate,
    weight regularization (none / L1 / L2 / elastic net, strengths
    conditional), optimizer (with SGD momentum and AdamW weight decay
    conditional), learning rate (log scale), schedule (its length from
    `num_samples`, the batch size and `epochs`), gradient clipping and batch
    size (declared before the first trial; applied in `fit`).

    Each trial seeds Keras from `seed` and its hyperparameter values
    (`trial_seed`), adds kerasboost's `EarlyStopping` (on `val_loss` when there
    is validation data; best weights restored) unless one is given, compiles
    with `jit_compile=True` (XLA; `jit_compile=False` or `"auto"` as in
    `keras.Model.compile`), and reports a non-finite loss or a configuration
    that cannot be built as keras-tuner's `FailedTrialError` (the search goes
    on; keras-tuner stops after `max_consecutive_failed_trials`).

    Args:
        input_shape: the shape of one sample (flattened if not 1-D).
        num_classes: int >= 2 for `task="classification"` (logits head,
            sparse categorical cross-entropy, accuracy).
        output_units: int >= 1 for `task="regression"` (linear head, MSE).
        task: `"classification"` (default) or `"regression"`.
        max_layers: int >= 1. Defaults to 4.
        units: choices of units per layer. Defaults to (32, 64, 128, 256).
        activations: choices from `"relu"`, `"tanh"`, `"gelu"`, `"selu"`, `"elu"`, `"sigmoid"`.
        normalizations: choices from `"none"`, `"batch"`, `"layer"`.
        optimizers: choices of `hp_optimizer`. Defaults to SGD, RMSprop, Adam, AdamW.
        schedules: choices of `hp_schedule`. Defaults to constant, cosine, one-cycle.
        batch_sizes: choices. Defaults to (32, 64, 128).
        epochs: int >= 1, epochs per trial unless `search(epochs=...)`. Defaults to 20.
        num_samples: training samples (needed by step-based schedules).
        seed: int, the base seed. Defaults to 0.
        early_stopping: bool. Defaults to True.
        patience: int >= 0 for the early stopping. Defaults to 5.
        jit_compile: `True` (XLA, the default), `False` or `"auto"`, passed
            to `keras.Model.compile`.
        name: optional name.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hypermodel = kerasboost.tuning.MLPHyperModel((64,), num_classes=10, num_samples=1000)
    >>> hp = keras_tuner.HyperParameters()
    >>> hypermodel.declare_hyperparameters(hp)
    >>> model = hypermodel.build(hp)
    >>> model.output_shape, model.jit_compile
    ((None, 10), True)

    ```

    References:
        - Bergstra & Bengio, 2012, "Random Search for Hyper-Parameter
          Optimization", https://jmlr.org/papers/v13/bergstra12a.html
        - Li et al., 2018, "Hyperband: A Novel Bandit-Based Approach to
          Hyperparameter Optimization", https://arxiv.org/abs/1603.06560
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int | None = None,
        output_units: int | None = None,
        task: str = "classification",
        max_layers: int = 4,
        units: Sequence[int] = (32, 64, 128, 256),
        activations: Sequence[str] = ("relu", "tanh", "gelu", "selu"),
        normalizations: Sequence[str] = ("none", "batch", "layer"),
        optimizers: Sequence[str] = ("sgd", "rmsprop", "adam", "adamw"),
        schedules: Sequence[str] = ("constant", "cosine", "one_cycle"),
        batch_sizes: Sequence[int] = (32, 64, 128),
        epochs: int = 20,
        num_samples: int | None = None,
        seed: int = 0,
        early_stopping: bool = True,
        patience: int = 5,
        jit_compile: bool | str = True,
        name: str | None = None,
    ) -> None:
        super().__init__(**_shared_arguments(locals()))
        self.input_shape = _shape("input_shape", input_shape)
        self.max_layers = check_number("max_layers", max_layers, low=1, integer=True)
        if not isinstance(units, (list, tuple)) or not units:
            raise fail("units", "a non-empty list of ints >= 1", units)
        self.units = [check_number("units", u, low=1, integer=True) for u in units]
        self.normalizations = check_choices("normalizations", normalizations, ("none", "batch", "layer"))

    def body(self, hp) -> keras.Model:
        inputs = keras.Input(self.input_shape)
        x = keras.layers.Flatten()(inputs) if len(self.input_shape) > 1 else inputs
        activation = self.activation(hp)
        units = hp.Choice("units", self.units)
        rate = hp_dropout(hp, 0.0, 0.5)
        for i in range(hp.Int("num_layers", 1, self.max_layers)):
            x = keras.layers.Dense(
                units,
                kernel_initializer=hp_initializer(hp, activation),
                kernel_regularizer=hp_regularizer(hp),
                name=f"dense_{i}",
            )(x)
            norm = hp_normalization(hp, self.normalizations)
            if norm is not None:
                x = norm(x)
            x = keras.layers.Activation(activation)(x)
            if rate > 0:
                x = keras.layers.Dropout(rate)(x)
        return keras.Model(inputs, self.head(x), name="mlp")


@kerasboost_export("kerasboost.tuning.ConvNetHyperModel", register=False)
class ConvNetHyperModel(_HyperModel):
    """A small VGG-style ConvNet for images or 1-D signals with every usual hyperparameter searchable.

    Blocks of two 3x3 convolutions (`filters` doubling per block), each
    followed by the searched normalization (none / batch / group / instance)
    and activation, then 2x2 max pooling while the feature map is larger than
    2x2; global average pooling, dropout and the head. A 2-D `input_shape`
    `(length, channels)` (a signal: audio, a sensor, MNIST-1D) gets the same
    network in one dimension: size-3 convolutions, pooling by 2 while longer
    than 2. The rest is as in
    `MLPHyperModel`: initializer matched to the activation, regularization,
    optimizer, learning rate, schedule, clipping, batch size, per-trial seed,
    early stopping and failed trials.

    Args:
        input_shape: `(height, width, channels)` for images (`Conv2D`), or
            `(length, channels)` for 1-D signals (`Conv1D`).
        num_classes: int >= 2 (classification).
        output_units: int >= 1 for `task="regression"`.
        task: `"classification"` (default) or `"regression"`.
        max_blocks: int >= 1. Defaults to 3.
        filters: choices of the first block's filters. Defaults to (16, 32, 64).
        activations: choices from `"relu"`, `"tanh"`, `"gelu"`, `"selu"`, `"elu"`, `"sigmoid"`.
        normalizations: choices from `"none"`, `"batch"`, `"group"`, `"instance"`.
        optimizers: choices of `hp_optimizer`.
        schedules: choices of `hp_schedule`.
        batch_sizes: choices. Defaults to (32, 64, 128).
        epochs: int >= 1. Defaults to 20.
        num_samples: training samples (needed by step-based schedules).
        seed: int, the base seed. Defaults to 0.
        early_stopping: bool. Defaults to True.
        patience: int >= 0. Defaults to 5.
        jit_compile: `True` (XLA, the default), `False` or `"auto"`, passed
            to `keras.Model.compile`.
        name: optional name.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hypermodel = kerasboost.tuning.ConvNetHyperModel((8, 8, 1), num_classes=10, schedules=["constant"])
    >>> hp = keras_tuner.HyperParameters()
    >>> hypermodel.declare_hyperparameters(hp)
    >>> hypermodel.build(hp).output_shape
    (None, 10)

    ```

    References:
        - Simonyan & Zisserman, 2015, "Very Deep Convolutional Networks for
          Large-Scale Image Recognition", https://arxiv.org/abs/1409.1556
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int | None = None,
        output_units: int | None = None,
        task: str = "classification",
        max_blocks: int = 3,
        filters: Sequence[int] = (16, 32, 64),
        activations: Sequence[str] = ("relu", "gelu", "selu"),
        normalizations: Sequence[str] = ("none", "batch", "group", "instance"),
        optimizers: Sequence[str] = ("sgd", "adam", "adamw"),
        schedules: Sequence[str] = ("constant", "cosine", "one_cycle"),
        batch_sizes: Sequence[int] = (32, 64, 128),
        epochs: int = 20,
        num_samples: int | None = None,
        seed: int = 0,
        early_stopping: bool = True,
        patience: int = 5,
        jit_compile: bool | str = True,
        name: str | None = None,
    ) -> None:
        super().__init__(**_shared_arguments(locals()))
        self.input_shape = _shape("input_shape", input_shape)
        if len(self.input_shape) not in (2, 3):
            allowed = "(height, width, channels) for images or (length, channels) for signals"
            raise fail("input_shape", allowed, input_shape)
        self.max_blocks = check_number("max_blocks", max_blocks, low=1, integer=True)
        if not isinstance(filters, (list, tuple)) or not filters:
            raise fail("filters", "a non-empty list of ints >= 1", filters)
        self.filters = [check_number("filters", f, low=4, integer=True) for f in filters]
        self.normalizations = check_choices("normalizations", normalizations, ("none", "batch", "group", "instance"))

    def body(self, hp) -> keras.Model:
        inputs = keras.Input(self.input_shape)
        activation = self.activation(hp)
        filters = hp.Choice("filters", self.filters)
        x = inputs
        one_d = len(self.input_shape) == 2
        conv = keras.layers.Conv1D if one_d else keras.layers.Conv2D
        for block in range(hp.Int("num_blocks", 1, self.max_blocks)):
            for _ in range(2):
                x = conv(
                    filters * 2**block,
                    3,
                    padding="same",
                    kernel_initializer=hp_initializer(hp, activation),
                    kernel_regularizer=hp_regularizer(hp),
                )(x)
                norm = hp_normalization(hp, self.normalizations, groups=4)
                if norm is not None:
                    x = norm(x)
                x = keras.layers.Activation(activation)(x)
            if min(x.shape[1:-1]) > 2:
                x = (keras.layers.MaxPooling1D if one_d else keras.layers.MaxPooling2D)()(x)
        x = (keras.layers.GlobalAveragePooling1D if one_d else keras.layers.GlobalAveragePooling2D)()(x)
        rate = hp_dropout(hp, 0.0, 0.5)
        if rate > 0:
            x = keras.layers.Dropout(rate)(x)
        return keras.Model(inputs, self.head(x), name="convnet")


def _shape(name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise fail(name, "a non-empty tuple of ints >= 1", value)
    return tuple(check_number(name, v, low=1, integer=True) for v in value)
