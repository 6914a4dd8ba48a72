"""Planted sick models (and healthy controls) with the problem each one has, for the doctor's tests and benchmark.

Every case is a compiled model on scikit-learn's bundled digits (standardized; 8x8 images for
the CNNs), built from a seed, with the problems `diagnose` must name. The sicknesses are the
classic ones: an output activation the loss does not expect and inputs never standardized
(faults of Humbatova et al. 2020's taxonomy), depth without a matched initializer (Glorot & Bengio 2010), saturating
gains, learning rates off by a factor, bad inputs, too little data for the width, a dead ReLU
block, and a residual stack without normalization or branch scale (De & Smith 2020).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost.layers import DropPath, SkipInit
from kerasboost.optimizers import Lookahead
from kerasboost.schedules import OneCycle, Warmup
from kerasboost.utils.digits import compile_model, load_data


@dataclasses.dataclass
class Case:
    """One planted model: `build(seed, jit_compile=True)` returns `(model, x, y, validation_data)`,
    the model compiled with XLA unless `jit_compile` says otherwise."""

    name: str
    expected: tuple[str, ...]  # the problems diagnose must name, the first one first
    build: Callable[..., tuple[keras.Model, Any, Any, Any]] = dataclasses.field(repr=False)
    fix: str | None = None  # the fix the first finding must propose: the one for the cause


def digits(seed: int = 0, rows: int | None = None, images: bool = False) -> tuple:
    """Standardized digits `(x, y, x_val, y_val)` as the demo loads them (80/20 split), `rows`
    training rows if given, 8x8x1 images if `images`."""
    x_train, y_train, x_val, y_val = load_data("digits", seed)
    if rows is not None:
        x_train, y_train = x_train[:rows], y_train[:rows]
    if images:
        x_train, x_val = x_train.reshape(-1, 8, 8, 1), x_val.reshape(-1, 8, 8, 1)
    return x_train, y_train, x_val, y_val


def _mlp(depth: int, width: int, activation: str, initializer: Any = "glorot_uniform", name: str = "mlp"):
    layers = [keras.Input((64,))]
    for i in range(depth):
        layers.append(
            keras.layers.Dense(width, activation=activation, kernel_initializer=initializer, name=f"dense_{i:02d}")
        )
    layers.append(keras.layers.Dense(10, name="logits"))
    return keras.Sequential(layers, name=name)


def _case_mlp(depth, width, activation, initializer, optimizer, rows=None, name="mlp", nan_rows=0.0):
    def build(seed: int, jit_compile: bool = True):
        keras.utils.set_random_seed(seed)
        x, y, x_val, y_val = digits(seed, rows)
        if nan_rows:
            x = x.copy()
            bad = np.random.default_rng(seed).random(len(x)) < nan_rows
            x[bad, 3] = np.nan
        init = initializer(seed) if callable(initializer) else initializer
        model = compile_model(_mlp(depth, width, activation, init, name), optimizer(), jit_compile)
        return model, x, y, (x_val, y_val)

    return build


def _cnn(seed: int, dead_block: bool, jit_compile: bool = True):
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = digits(seed, images=True)
    dead = keras.initializers.Constant(-20.0) if dead_block else "zeros"
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(
                16, 3, padding="same", activation="relu", kernel_initializer="he_normal", name="conv_0"
            ),
            keras.layers.Conv2D(
                16,
                3,
                padding="same",
                activation="relu",
                kernel_initializer="he_normal",
                bias_initializer=dead,
                name="conv_1",
            ),
            keras.layers.Conv2D(
                16,
                3,
                padding="same",
                activation="relu",
                kernel_initializer="he_normal",
                bias_initializer=dead,
                name="conv_2",
            ),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="cnn_dead_block" if dead_block else "cnn",
    )
    return compile_model(model, keras.optimizers.Adam(1e-3), jit_compile), x, y, (x_val, y_val)


def residual_trunk(inputs: Any, blocks: int, skip_init: bool) -> Any:
    """A stem Dense of 32, then `blocks` residual blocks: a swish Dense of 32, `DropPath(0.1)`, a
    `SkipInit` scale if `skip_init`, added to the trunk."""
    h = keras.layers.Dense(32, name="stem")(inputs)
    for i in range(blocks):
        branch = keras.layers.Dense(32, activation="swish", name=f"branch_{i:02d}")(h)
        branch = DropPath(0.1, name=f"drop_path_{i:02d}")(branch)
        if skip_init:
            branch = SkipInit(name=f"skip_init_{i:02d}")(branch)
        h = keras.layers.Add(name=f"add_{i:02d}")([h, branch])
    return h


def _residual(seed: int, blocks: int = 16, skip_init: bool = False, jit_compile: bool = True):
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = digits(seed)
    inputs = keras.Input((64,))
    outputs = keras.layers.Dense(10, name="logits")(residual_trunk(inputs, blocks, skip_init))
    model = keras.Model(inputs, outputs, name="residual_skip_init" if skip_init else "residual_no_norm")
    # the optimizer of the report that motivated the doctor: warmup is on already, and does not help
    schedule = Warmup(OneCycle(3e-3, total_steps=200), warmup_steps=20)
    return compile_model(model, Lookahead(keras.optimizers.AdamW(schedule)), jit_compile), x, y, (x_val, y_val)


def _mlp_compiled_with(seed: int, name: str, loss: Any, jit_compile: bool, output_activation: str | None = None):
    """The digits and a 2-layer MLP compiled with Adam(1e-3), accuracy and `loss` (the planted
    program bugs: the loss, or the output activation, is the fault)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = digits(seed)
    model = _mlp(2, 64, "relu", _he(seed), name=name)
    if output_activation is not None:
        model.get_layer("logits").activation = keras.activations.get(output_activation)
    model.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"], jit_compile=jit_compile)
    return model, x, y, (x_val, y_val)


def _relu_output(seed: int, jit_compile: bool = True):
    """A program bug of the published fault studies: a ReLU on the output layer, trained with a
    cross-entropy that expects probabilities (`from_logits=False`)."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    return _mlp_compiled_with(seed, "relu_output", loss, jit_compile, output_activation="relu")


def _unscaled(seed: int, jit_compile: bool = True):
    """A data fault: raw features on a scale of about 100 (the digits' 0..16 pixel counts times 8,
    never standardized) into an MLP trained with SGD and momentum."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = load_data("digits", seed, standardize=False)
    model = _mlp(2, 64, "relu", _he(seed), name="unscaled_inputs")
    model = compile_model(model, keras.optimizers.SGD(0.01, momentum=0.9), jit_compile)
    return model, x * 8.0, y, (x_val * 8.0, y_val)


def _integer_labels(seed: int, jit_compile: bool = True):
    """A label fault of the published studies: class indices 0..9 fed to a categorical
    cross-entropy, which reads one-hot rows (Keras refuses the shapes)."""
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    return _mlp_compiled_with(seed, "integer_labels", loss, jit_compile)


def _labels_beyond_output(seed: int, jit_compile: bool = True):
    """A data fault: the ten digits' labels 0..9 for an output layer of five units (labels
    outside the loss's range end in an error from inside the compiled step)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = digits(seed)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, "relu", name="dense_00"), keras.layers.Dense(5, name="logits")],
        name="labels_beyond_output",
    )
    return compile_model(model, keras.optimizers.Adam(1e-3), jit_compile), x, y, (x_val, y_val)


def _he(seed):
    return keras.initializers.HeNormal(seed=seed)


def _tanh_gain(seed):
    return keras.initializers.VarianceScaling(scale=64.0, mode="fan_in", distribution="normal", seed=seed)


CASES = [
    Case("relu_output_probability_loss", ("output_loss_mismatch",), _relu_output, fix="match_output_to_loss"),
    Case("unscaled_inputs_sgd", ("unscaled_inputs",), _unscaled, fix="normalize_inputs"),
    Case("integer_labels_categorical_loss", ("target_loss_mismatch",), _integer_labels, fix="match_loss_to_targets"),
    Case("labels_beyond_the_output", ("invalid_targets",), _labels_beyond_output, fix="resize_output"),
    Case(
        "deep_sigmoid_mlp",
        ("vanishing_gradients",),
        _case_mlp(20, 32, "sigmoid", "glorot_uniform", lambda: keras.optimizers.Adam(1e-3), name="deep_sigmoid"),
        fix="reinitialize",
    ),
    Case(
        "deep_relu_default_init",
        ("dead_units",),
        _case_mlp(30, 32, "relu", "glorot_uniform", lambda: keras.optimizers.Adam(1e-3), name="deep_relu"),
        fix="reinitialize",
    ),
    Case(
        "tanh_large_gain",
        ("saturated_units",),
        _case_mlp(8, 64, "tanh", _tanh_gain, lambda: keras.optimizers.Adam(1e-3), name="tanh_gain_8"),
        fix="reinitialize",
    ),
    Case(
        "learning_rate_10x_too_high",
        ("learning_rate_too_high",),
        _case_mlp(4, 64, "relu", _he, lambda: keras.optimizers.Adam(1e-1), name="lr_too_high"),
        fix="learning_rate",
    ),
    Case(
        "learning_rate_1e-3_of_working",
        ("learning_rate_too_low",),
        _case_mlp(4, 64, "relu", _he, lambda: keras.optimizers.Adam(1e-6), name="lr_too_low"),
        fix="learning_rate",
    ),
    Case(
        "nan_in_inputs",
        ("nonfinite",),
        _case_mlp(4, 64, "relu", _he, lambda: keras.optimizers.Adam(1e-3), name="nan_inputs", nan_rows=0.05),
        fix="drop_nonfinite_rows",
    ),
    Case(
        "overfitting_wide_mlp",
        ("overfitting",),
        _case_mlp(2, 1024, "relu", _he, lambda: keras.optimizers.Adam(1e-3), rows=96, name="wide_on_little_data"),
        fix="early_stopping",
    ),
    Case(
        "cnn_dead_relu_block",
        ("dead_units",),
        lambda seed, jit_compile=True: _cnn(seed, True, jit_compile),
        fix="reinitialize",
    ),
    Case("residual_without_normalization", ("activation_growth",), _residual, fix="scale_residual_branches"),
    Case(
        "healthy_mlp",
        ("healthy",),
        _case_mlp(4, 64, "relu", _he, lambda: keras.optimizers.Adam(1e-3), name="healthy_mlp"),
    ),
    Case("healthy_cnn", ("healthy",), lambda seed, jit_compile=True: _cnn(seed, False, jit_compile)),
    Case(
        "healthy_residual_skip_init",
        ("healthy",),
        lambda seed, jit_compile=True: _residual(seed, skip_init=True, jit_compile=jit_compile),
    ),
]


def case(name: str) -> Case:
    """The planted case called `name`."""
    for c in CASES:
        if c.name == name:
            return c
    raise ValueError(f"No planted case {name!r}. Known: {[c.name for c in CASES]}")
