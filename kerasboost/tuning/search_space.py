"""Search-space helpers: each takes a fixed value or a keras-tuner `HyperParameters` object.

With a fixed value a helper returns the object that value names (so one model-building
function serves both a plain run and a search); with `hp` it declares its hyperparameters
under `hp.name_scope(name)`, the dependent ones under `hp.conditional_scope`, and returns the
object for the values of the current trial. Choices are strings (`"none"`, never `None`:
keras-tuner's `Choice` takes one type and its gRPC transport cannot carry `None`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras

from kerasboost import optimizers as kb_optimizers
from kerasboost import schedules as kb_schedules
from kerasboost.api_export import kerasboost_export
from kerasboost.initializers import OrthogonalFor, VarianceFor
from kerasboost.layers import InstanceNormalization
from kerasboost.utils.validation import check_choices, check_number, fail

OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "radam", "adabelief", "lars")
WRAPPERS = ("none", "lookahead", "gradient_centralization")
SCHEDULES = ("constant", "step", "exponential", "cosine", "cyclical", "one_cycle", "warmup_cosine")
INITIALIZERS = ("matched", "orthogonal_matched", "glorot_uniform", "he_normal", "lecun_normal")
REGULARIZERS = ("none", "l1", "l2", "l1_l2")
NORMALIZATIONS = ("none", "batch", "layer", "group", "instance")
CLIPPINGS = ("none", "clipnorm", "clipvalue", "global_clipnorm", "agc")


def is_hyperparameters(value: Any) -> bool:
    """Whether `value` is a keras-tuner `HyperParameters` (duck-typed: no import needed)."""
    return hasattr(value, "Choice") and hasattr(value, "conditional_scope") and hasattr(value, "name_scope")


def _range(min_value, max_value, low=None, positive=False) -> tuple[float, float]:
    lo = check_number("min_value", min_value, low=low, low_inclusive=not positive)
    hi = check_number("max_value", max_value, low=low, low_inclusive=not positive)
    if lo > hi:
        raise fail("min_value", f"a number <= max_value ({hi})", min_value)
    return lo, hi


def _fixed(name: str, value: Any, known: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in known:
        raise fail(name, f"one of {list(known)} or a keras-tuner HyperParameters", value)
    return value


def _log_float(hp, name, lo, hi, default=None):
    if lo == hi:
        return hp.Fixed(name, lo)
    sampling = "log" if lo > 0 else "linear"
    return hp.Float(
        name, lo, hi, sampling=sampling, default=default if default is not None and lo <= default <= hi else None
    )


@kerasboost_export("kerasboost.tuning.hp_learning_rate", register=False)
def hp_learning_rate(
    hp: Any = 1e-3, min_value: float = 1e-4, max_value: float = 1e-1, name: str = "learning_rate"
) -> float:
    """A learning rate: the fixed float, or `hp.Float(name, min_value, max_value, sampling="log")`.

    Args:
        hp: a float > 0, or a keras-tuner `HyperParameters`.
        min_value: float > 0, the lower bound of the search. Defaults to 1e-4.
        max_value: float >= min_value. Defaults to 1e-1.
        name: the hyperparameter's name. Defaults to `"learning_rate"`.

    Returns:
        A float.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hp = keras_tuner.HyperParameters()
    >>> kerasboost.tuning.hp_learning_rate(hp, 1e-3, 1e-2) == 1e-3   # the log-scale default: min_value
    True
    >>> hp.space[0].sampling
    'log'

    ```

    References:
        - Bergstra & Bengio, 2012, "Random Search for Hyper-Parameter
          Optimization", https://jmlr.org/papers/v13/bergstra12a.html (log-scale
          sampling of rates)
    """
    lo, hi = _range(min_value, max_value, low=0.0, positive=True)
    if not is_hyperparameters(hp):
        return check_number("hp", hp, low=0.0, low_inclusive=False)
    return float(_log_float(hp, name, lo, hi))


@kerasboost_export("kerasboost.tuning.hp_dropout", register=False)
def hp_dropout(
    hp: Any = 0.0, min_value: float = 0.0, max_value: float = 0.5, step: float = 0.1, name: str = "dropout"
) -> float:
    """A dropout rate: the fixed float in [0, 1), or `hp.Float(name, min_value, max_value, step)`.

    Args:
        hp: a float in [0, 1), or a keras-tuner `HyperParameters`.
        min_value: float in [0, 1). Defaults to 0.0.
        max_value: float in [min_value, 1). Defaults to 0.5.
        step: float > 0, the grid step. Defaults to 0.1.
        name: the hyperparameter's name. Defaults to `"dropout"`.

    Returns:
        A float.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hp = keras_tuner.HyperParameters()
    >>> kerasboost.tuning.hp_dropout(hp, 0.1, 0.3), hp.space[0].step
    (0.1, 0.1)

    ```
    """
    lo, hi = _range(min_value, max_value, low=0.0)
    if hi >= 1.0:
        raise fail("max_value", "a number < 1", max_value)
    step = check_number("step", step, low=0.0, low_inclusive=False)
    if not is_hyperparameters(hp):
        return check_number("hp", hp, low=0.0, high=1.0, high_inclusive=False)
    if lo == hi:
        return float(hp.Fixed(name, lo))
    return float(hp.Float(name, lo, hi, step=step))


@kerasboost_export("kerasboost.tuning.hp_initializer", register=False)
def hp_initializer(
    hp: Any = "matched",
    activation: str = "relu",
    choices: Sequence[str] = INITIALIZERS,
    seed: int | None = None,
    name: str = "initializer",
) -> keras.initializers.Initializer:
    """A kernel initializer, matched to `activation` where the name says so.

    `"matched"` is `kerasboost.initializers.VarianceFor(activation)` (the
    variance-preserving gain of that activation: He for ReLU, LeCun for SELU,
    Glorot-like for tanh), `"orthogonal_matched"` is
    `OrthogonalFor(activation)`; the others are Keras's.

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        activation: the activation of the layers the initializer feeds.
        choices: names from `"matched"`, `"orthogonal_matched"`,
            `"glorot_uniform"`, `"he_normal"`, `"lecun_normal"`.
        seed: optional int seed.
        name: the hyperparameter's name. Defaults to `"initializer"`.

    Returns:
        A `keras.initializers.Initializer`.

    Example:

    ```python
    >>> import kerasboost
    >>> type(kerasboost.tuning.hp_initializer("matched", activation="tanh")).__name__
    'VarianceFor'

    ```

    References:
        - He et al., 2015, "Delving Deep into Rectifiers",
          https://arxiv.org/abs/1502.01852
    """
    choices = check_choices("choices", choices, INITIALIZERS)
    value = hp.Choice(name, choices) if is_hyperparameters(hp) else _fixed("hp", hp, choices)
    if value == "matched":
        return VarianceFor(activation, seed=seed)
    if value == "orthogonal_matched":
        return OrthogonalFor(activation, seed=seed)
    return keras.initializers.get({"class_name": value, "config": {"seed": seed}})


@kerasboost_export("kerasboost.tuning.hp_regularizer", register=False)
def hp_regularizer(
    hp: Any = "none",
    choices: Sequence[str] = REGULARIZERS,
    min_value: float = 1e-6,
    max_value: float = 1e-2,
    name: str = "regularizer",
) -> keras.regularizers.Regularizer | None:
    """A weight regularizer: none, L1, L2 or elastic net (L1 + L2), strengths on a log scale.

    The strengths (`l1`, `l2`) are declared only under the choices that use
    them (`hp.conditional_scope`).

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        choices: names from `"none"`, `"l1"`, `"l2"`, `"l1_l2"`.
        min_value: float > 0, the smallest strength. Defaults to 1e-6.
        max_value: float >= min_value. Defaults to 1e-2.
        name: the name scope. Defaults to `"regularizer"`.

    Returns:
        A `keras.regularizers.Regularizer`, or None for `"none"`.

    Example:

    ```python
    >>> import kerasboost
    >>> kerasboost.tuning.hp_regularizer("l1_l2", min_value=1e-4, max_value=1e-4).get_config()
    {'l1': 0.0001, 'l2': 0.0001}

    ```

    References:
        - Zou & Hastie, 2005, "Regularization and Variable Selection via the
          Elastic Net", https://doi.org/10.1111/j.1467-9868.2005.00503.x
    """
    choices = check_choices("choices", choices, REGULARIZERS)
    lo, hi = _range(min_value, max_value, low=0.0, positive=True)
    if not is_hyperparameters(hp):
        value = _fixed("hp", hp, choices)
        strengths = {"l1": math.sqrt(lo * hi), "l2": math.sqrt(lo * hi)}
    else:
        with hp.name_scope(name):
            value = hp.Choice("kind", choices)
            strengths = {}
            for key in ("l1", "l2"):
                users = [c for c in choices if key in c]
                if users:
                    with hp.conditional_scope("kind", users):
                        strengths[key] = _log_float(hp, key, lo, hi)
    if value == "none":
        return None
    if value == "l1":
        return keras.regularizers.L1(strengths["l1"])
    if value == "l2":
        return keras.regularizers.L2(strengths["l2"])
    return keras.regularizers.L1L2(l1=strengths["l1"], l2=strengths["l2"])


@kerasboost_export("kerasboost.tuning.hp_normalization", register=False)
def hp_normalization(
    hp: Any = "none", choices: Sequence[str] = ("none", "batch", "layer"), groups: int = 4, name: str = "normalization"
) -> keras.layers.Layer | None:
    """A new normalization layer (call it once per place it goes), or None.

    `"batch"`: `BatchNormalization`; `"layer"`: `LayerNormalization`;
    `"group"`: `GroupNormalization(groups)` (the channels must divide by
    `groups`); `"instance"`: `kerasboost.layers.InstanceNormalization`
    (convolutional feature maps).

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        choices: names from `"none"`, `"batch"`, `"layer"`, `"group"`, `"instance"`.
        groups: int >= 1 for `"group"`. Defaults to 4.
        name: the hyperparameter's name. Defaults to `"normalization"`.

    Returns:
        A Keras layer, or None for `"none"`.

    Example:

    ```python
    >>> import kerasboost
    >>> type(kerasboost.tuning.hp_normalization("layer")).__name__
    'LayerNormalization'

    ```

    References:
        - Ioffe & Szegedy, 2015, "Batch Normalization",
          https://arxiv.org/abs/1502.03167
        - Wu & He, 2018, "Group Normalization", https://arxiv.org/abs/1803.08494
    """
    choices = check_choices("choices", choices, NORMALIZATIONS)
    groups = check_number("groups", groups, low=1, integer=True)
    value = hp.Choice(name, choices) if is_hyperparameters(hp) else _fixed("hp", hp, choices)
    return {
        "none": lambda: None,
        "batch": keras.layers.BatchNormalization,
        "layer": keras.layers.LayerNormalization,
        "group": lambda: keras.layers.GroupNormalization(groups=groups),
        "instance": InstanceNormalization,
    }[value]()


@kerasboost_export("kerasboost.tuning.hp_clipping", register=False)
def hp_clipping(hp: Any = "none", choices: Sequence[str] = CLIPPINGS, name: str = "clipping") -> dict:
    """Gradient clipping, as keyword arguments for `hp_optimizer(clipping=...)`.

    `"clipnorm"` / `"clipvalue"` / `"global_clipnorm"` are Keras's optimizer
    arguments (thresholds searched on a log scale from 0.1 to 10); `"agc"` is
    `kerasboost.optimizers.AdaptiveGradientClipping` (clip factor 0.001 to
    0.1). Thresholds are declared under conditional scopes.

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        choices: names from `"none"`, `"clipnorm"`, `"clipvalue"`,
            `"global_clipnorm"`, `"agc"`.
        name: the name scope. Defaults to `"clipping"`.

    Returns:
        A dict: `{}`, `{"clipnorm": t}`, `{"clipvalue": t}`,
        `{"global_clipnorm": t}` or `{"agc": clip_factor}`.

    Example:

    ```python
    >>> import kerasboost
    >>> kerasboost.tuning.hp_clipping("global_clipnorm")
    {'global_clipnorm': 1.0}

    ```

    References:
        - Pascanu et al., 2013, "On the difficulty of training recurrent neural
          networks", https://arxiv.org/abs/1211.5063
        - Brock et al., 2021, "High-Performance Large-Scale Image Recognition
          Without Normalization", https://arxiv.org/abs/2102.06171 (AGC)
    """
    choices = check_choices("choices", choices, CLIPPINGS)
    defaults = {"clipnorm": 1.0, "clipvalue": 1.0, "global_clipnorm": 1.0, "agc": 0.01}
    if not is_hyperparameters(hp):
        value = _fixed("hp", hp, choices)
        return {} if value == "none" else {value: defaults[value]}
    with hp.name_scope(name):
        value = hp.Choice("kind", choices)
        out = {}
        for kind in choices:
            if kind == "none":
                continue
            lo, hi = (1e-3, 1e-1) if kind == "agc" else (0.1, 10.0)
            with hp.conditional_scope("kind", [kind]):
                threshold = hp.Float(kind, lo, hi, sampling="log", default=defaults[kind])
            if kind == value:
                out = {kind: float(threshold)}
    return out


@kerasboost_export("kerasboost.tuning.hp_optimizer", register=False)
def hp_optimizer(
    hp: Any = "adam",
    learning_rate: Any = 1e-3,
    choices: Sequence[str] = ("sgd", "rmsprop", "adam", "adamw"),
    wrappers: Sequence[str] = ("none",),
    clipping: dict | None = None,
    name: str = "optimizer",
) -> keras.optimizers.Optimizer:
    """An optimizer: Keras's (SGD with momentum, RMSprop, Adagrad, Adadelta, Adam, AdamW) or kerasboost's.

    SGD's momentum (0 to 0.99) and AdamW's weight decay (1e-5 to 1e-1, log)
    are declared under conditional scopes. `wrappers` may add kerasboost's
    `Lookahead` or `GradientCentralization` around the chosen optimizer;
    `clipping` (from `hp_clipping`) adds Keras's clipping arguments or wraps in
    `AdaptiveGradientClipping`.

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        learning_rate: float or schedule (e.g. from `hp_learning_rate` /
            `hp_schedule`).
        choices: names from `"sgd"`, `"rmsprop"`, `"adagrad"`, `"adadelta"`,
            `"adam"`, `"adamw"`, `"radam"`, `"adabelief"`, `"lars"`.
        wrappers: names from `"none"`, `"lookahead"`,
            `"gradient_centralization"`. Defaults to `("none",)`.
        clipping: optional dict from `hp_clipping`.
        name: the name scope. Defaults to `"optimizer"`.

    Returns:
        A `keras.optimizers.Optimizer`.

    Example:

    ```python
    >>> import keras_tuner, kerasboost
    >>> hp = keras_tuner.HyperParameters()
    >>> hp.values["optimizer/name"] = "sgd"
    >>> optimizer = kerasboost.tuning.hp_optimizer(hp, 0.1, choices=["adam", "sgd"])
    >>> type(optimizer).__name__, optimizer.momentum   # the conditional momentum's default
    ('SGD', 0.9)

    ```

    References:
        - Wilson et al., 2017, "The Marginal Value of Adaptive Gradient Methods
          in Machine Learning", https://arxiv.org/abs/1705.08292 (why SGD with
          momentum stays in the search)
    """
    choices = check_choices("choices", choices, OPTIMIZERS)
    wrappers = check_choices("wrappers", wrappers, WRAPPERS)
    clipping = dict(clipping or {})
    if set(clipping) - set(CLIPPINGS):
        raise fail("clipping", f"a dict from hp_clipping (keys from {list(CLIPPINGS[1:])})", clipping)
    momentum, weight_decay = 0.9, 1e-4
    if not is_hyperparameters(hp):
        value, wrapper = _fixed("hp", hp, choices), wrappers[0]
    else:
        with hp.name_scope(name):
            value = hp.Choice("name", choices)
            if "sgd" in choices:
                with hp.conditional_scope("name", ["sgd"]):
                    momentum = hp.Float("sgd_momentum", 0.0, 0.99, default=0.9)
            if "adamw" in choices:
                with hp.conditional_scope("name", ["adamw"]):
                    weight_decay = hp.Float("adamw_weight_decay", 1e-5, 1e-1, sampling="log", default=1e-4)
            wrapper = hp.Choice("wrapper", wrappers) if len(wrappers) > 1 else wrappers[0]
    kwargs = {k: v for k, v in clipping.items() if k != "agc"}
    makers = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=momentum, **kwargs),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate, **kwargs),
        "adagrad": lambda: keras.optimizers.Adagrad(learning_rate, **kwargs),
        "adadelta": lambda: keras.optimizers.Adadelta(learning_rate, **kwargs),
        "adam": lambda: keras.optimizers.Adam(learning_rate, **kwargs),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, **kwargs),
        "radam": lambda: kb_optimizers.RectifiedAdam(learning_rate, **kwargs),
        "adabelief": lambda: kb_optimizers.AdaBelief(learning_rate, **kwargs),
        "lars": lambda: kb_optimizers.LARS(learning_rate, **kwargs),
    }
    optimizer = makers[value]()
    if "agc" in clipping:
        optimizer = kb_optimizers.AdaptiveGradientClipping(optimizer, clip_factor=clipping["agc"])
    if wrapper == "lookahead":
        optimizer = kb_optimizers.Lookahead(optimizer)
    elif wrapper == "gradient_centralization":
        optimizer = kb_optimizers.GradientCentralization(optimizer)
    return optimizer


def total_steps(num_samples: int, batch_size: int, epochs: int) -> int:
    """Optimizer steps of `epochs` epochs over `num_samples` samples in batches of `batch_size`."""
    num_samples = check_number("num_samples", num_samples, low=1, integer=True)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    epochs = check_number("epochs", epochs, low=1, integer=True)
    return math.ceil(num_samples / batch_size) * epochs


@kerasboost_export("kerasboost.tuning.hp_schedule", register=False)
def hp_schedule(
    hp: Any = "constant",
    learning_rate: float = 1e-3,
    steps: int | None = None,
    num_samples: int | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    choices: Sequence[str] = SCHEDULES,
    name: str = "schedule",
) -> Any:
    """A learning-rate schedule whose length is the run's number of steps.

    Give `steps`, or `num_samples`, `batch_size` and `epochs` (steps =
    ceil(num_samples / batch_size) * epochs). `learning_rate` is the peak:

    - `"constant"`: the float itself;
    - `"step"`: `StepDecay` dividing by 10 at a third and two thirds of the run;
    - `"exponential"`: Keras's `ExponentialDecay` down to 1% at the end;
    - `"cosine"`: Keras's `CosineDecay` to 0 over the run;
    - `"cyclical"`: triangular `CyclicalLearningRate` between rate/10 and the
      rate, 4 cycles;
    - `"one_cycle"`: `OneCycle` over the run;
    - `"warmup_cosine"`: `Warmup` over the first 10% of steps, then cosine.

    Args:
        hp: a name from `choices`, or a keras-tuner `HyperParameters`.
        learning_rate: float > 0, the peak rate.
        steps: optional int >= 1, the run's optimizer steps.
        num_samples: optional int, training samples (with `batch_size`, `epochs`).
        batch_size: optional int.
        epochs: optional int.
        choices: names from `SCHEDULES`.
        name: the hyperparameter's name. Defaults to `"schedule"`.

    Returns:
        A float or a `LearningRateSchedule`.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.tuning.hp_schedule("warmup_cosine", 0.1, num_samples=1000, batch_size=100, epochs=10)
    >>> round(float(lr(0)), 4), round(float(lr(10)), 4), round(float(lr(100)), 4)   # 100 steps
    (0.0, 0.1, 0.0)

    ```

    References:
        - Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient Descent with
          Warm Restarts", https://arxiv.org/abs/1608.03983
        - Smith & Topin, 2018, "Super-Convergence", https://arxiv.org/abs/1708.07120
    """
    choices = check_choices("choices", choices, SCHEDULES)
    learning_rate = check_number("learning_rate", learning_rate, low=0.0, low_inclusive=False)
    if steps is None:
        if num_samples is None or batch_size is None or epochs is None:
            if choices == ["constant"] or (not is_hyperparameters(hp) and hp == "constant"):
                steps = 1
            else:
                raise fail("steps", "an int >= 1, or num_samples, batch_size and epochs together", steps)
        else:
            steps = total_steps(num_samples, batch_size, epochs)
    steps = check_number("steps", steps, low=1, integer=True)
    value = hp.Choice(name, choices) if is_hyperparameters(hp) else _fixed("hp", hp, choices)
    warmup = max(1, steps // 10)
    return {
        "constant": lambda: learning_rate,
        "step": lambda: kb_schedules.StepDecay(learning_rate, drop_every=max(1, steps // 3), factor=0.1),
        "exponential": lambda: keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=steps, decay_rate=0.01
        ),
        "cosine": lambda: keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps),
        "cyclical": lambda: kb_schedules.CyclicalLearningRate(
            learning_rate / 10, learning_rate, step_size=max(1, steps // 8)
        ),
        "one_cycle": lambda: kb_schedules.OneCycle(learning_rate, total_steps=steps),
        "warmup_cosine": lambda: kb_schedules.Warmup(
            keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps - warmup)), warmup
        ),
    }[value]()
