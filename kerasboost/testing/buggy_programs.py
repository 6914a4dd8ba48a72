"""Buggy Keras programs written here, each beside its correct version, for the doctor's benchmark.

A `Program` is a small training program of the kind users post when a model does not train: a
data set (scikit-learn's bundled digits and breast-cancer sets, the mnist1d generator, or
synthetic data), a model (dense, convolutional, recurrent, functional with two inputs or two
outputs) and its `compile`. `build(seed, buggy=True)` returns the program with its fault planted;
`buggy=False` the program as it should have been written (the same data, layers and seed, the
fault corrected the way a user would correct it). Healthy programs (`expected == "healthy"`) are
correct versions run through the doctor as they are: any finding on them is a false alarm.

The faults follow the published taxonomies of real faults in deep-learning programs (Humbatova
et al. 2020; Islam et al. 2019) and the repair tools' fault kinds (AUTOTRAINER, Zhang et al.
2021; DeepDiagnosis, Wardat et al. 2022; DeepFD, Cao et al. 2022):

- the program: an output activation the loss does not expect (ReLU / linear under a probability
  loss, `from_logits=True` on softmax, softmax over one unit, sigmoid over competing classes,
  softmax under binary cross-entropy), hidden layers without an activation,
  labels encoded another way than the loss reads them, an output that cannot reach the
  regression targets, an accuracy metric of another encoding than the targets';
- the data: inputs never scaled (raw pixels, raw measurements) or scaled twice, NaN in inputs or targets, labels
  outside the output's range, binary targets outside {0, 1}, regression targets of scale 1e4,
  a rare class on weak features, labels shuffled apart from their inputs;
- the training dynamics: learning rates off by orders of magnitude, depth without an initializer
  matched to the activation, saturating gains, dead ReLU blocks, an un-normalized residual
  trunk, a wide model on little data.

References:
    - Humbatova, Jahangirova, Bavota, Riccio, Stocco & Tonella, 2020, "Taxonomy of Real Faults
      in Deep Learning Systems", ICSE, https://arxiv.org/abs/1910.11015
    - Islam, Nguyen, Pan & Rajan, 2019, "A Comprehensive Study on Deep Learning Bug
      Characteristics", ESEC/FSE, https://arxiv.org/abs/1906.01388
    - Zhang, Zhai, Ma, Shen, Qi & Wang, 2021, "AUTOTRAINER: An Automatic DNN Training Problem
      Detection and Repair System", ICSE
    - Wardat, Cruz, Le & Rajan, 2022, "DeepDiagnosis: Automatically Diagnosing Faults and
      Recommending Actionable Fixes in Deep Learning Programs", ICSE,
      https://arxiv.org/abs/2112.04036
    - Cao, Li, Fan, Wei, Wang & Liu, 2022, "DeepFD: Automated Fault Diagnosis and Localization
      for Deep Learning Programs", ICSE, https://arxiv.org/abs/2205.08589
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerasboost.diagnostics.targets import balanced_weights
from kerasboost.testing.sick_models import residual_trunk
from kerasboost.utils.digits import load_data


@dataclasses.dataclass(frozen=True)
class Built:
    """A program ready to train: the compiled model, its data, and what its `fit` takes."""

    model: keras.Model
    x: Any
    y: Any
    validation: tuple
    fit: dict = dataclasses.field(default_factory=dict)  # callbacks, class_weight of the correct version


@dataclasses.dataclass(frozen=True)
class Program:
    """One buggy program (or a healthy one) and its correct version.

    `build(seed, buggy=True, jit_compile=True)` returns a `Built`. `expected` is the problem the
    doctor's first finding should name (a word of `kerasboost.diagnostics.problems`). `score` is
    how the benchmark compares a repaired model with the correct version: `"accuracy"`,
    `"balanced_accuracy"` (unequal classes) or `"r2"` (regression, unchanged by a rescaling of
    the targets)."""

    name: str
    family: str  # "program", "data", "dynamics" or "healthy"
    kind: str  # the model: "dense", "conv", "recurrent", "residual", "functional"
    task: str  # "multi-class", "binary", "multi-label", "regression", "multi-output"
    expected: str
    build: Callable[..., Built] = dataclasses.field(repr=False)
    score: str = "accuracy"


# ------------------------------------------------------------------ data (offline)


@functools.lru_cache(maxsize=8)
def _loaded(name: str, seed: int, standardize: bool) -> tuple:
    return load_data(name, seed, standardize=standardize)


def _digits(seed: int, standardize: bool = True) -> tuple:
    return tuple(np.array(a) for a in _loaded("digits", seed, standardize))


def _mnist1d(seed: int) -> tuple:
    """mnist1d's 5000 sequences of 40 steps (the generator, no download), standardized, as (n, 40, 1)."""
    x, y, x_val, y_val = (np.array(a) for a in _loaded("mnist1d", seed, True))
    return x[..., None], y, x_val[..., None], y_val


def _split(x: np.ndarray, y: np.ndarray, seed: int, standardize: bool = True) -> tuple:
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order].astype("float32"), y[order].astype("float32")
    n_val = len(x) // 5
    if standardize:
        mean, std = x[n_val:].mean(0), x[n_val:].std(0) + 1e-6
        x = (x - mean) / std
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def _cancer(seed: int, standardize: bool = True) -> tuple:
    """scikit-learn's breast-cancer set: 569 rows, 30 measurements (0.001 .. 4254), 0 / 1 labels."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return _split(x, y, seed, standardize)


def _friedman(seed: int, standardize_targets: bool = True) -> tuple:
    """Friedman's #1 regression (Friedman 1991; scikit-learn's generator): 2000 rows of 10
    uniform features, 5 of them used, target ~ 0..30 with noise 1; standardized unless asked."""
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=seed)
    x_train, y_train, x_val, y_val = _split(x, y[:, None], seed)
    if standardize_targets:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std
    return x_train, y_train, x_val, y_val


def _rare(seed: int, positive_share: float = 0.03) -> tuple:
    """6000 rows of 10 features N(0, 1); a `positive_share` of them (the positives) shifted by 1 on
    the first four: the classes lie 2 standard deviations apart along that direction (Bayes'
    balanced accuracy about 0.84), too close for an unweighted model to answer the rare class."""
    rng = np.random.default_rng(seed)
    y = (rng.random(6000) < positive_share).astype("float32")[:, None]
    x = rng.normal(size=(6000, 10)).astype("float32")
    x[:, :4] += y
    return _split(x, y, seed, standardize=True)


def _sequences(seed: int) -> tuple:
    """2000 sequences of 16 steps x 2 channels, N(0, 1); the target is the mean over time of the
    product of the channels plus the last step of the first (a task a GRU learns in a few epochs)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 16, 2)).astype("float32")
    y = (np.mean(x[..., 0] * x[..., 1], axis=1) * 4.0 + x[:, -1, 0])[:, None]
    return _split(x, y, seed, standardize=False)


# ------------------------------------------------------------------ the correct programs and their faults


def _fit(kind: str | None, y: np.ndarray) -> dict:
    """What the correct version passes to `fit`: `"early_stopping"` (patience 3 on the validation
    loss, best weights restored) or `"balanced"` (class weights n / (k * n_class))."""
    if kind == "early_stopping":
        return {"callbacks": [keras.callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True)]}
    if kind == "balanced":
        classes, counts = np.unique(np.asarray(y).reshape(-1).astype("int64"), return_counts=True)
        return {"class_weight": balanced_weights(dict(zip(classes.tolist(), counts.tolist())))}
    return {}


_SCE_LOGITS = "sparse_categorical_crossentropy_logits"


def _loss(name: str) -> Any:
    if name == _SCE_LOGITS:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if name == "sparse_categorical_crossentropy":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    if name == "categorical_crossentropy_logits":
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    if name == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy(from_logits=False)
    return name


def _compile(model, optimizer, loss, metrics, jit_compile):
    model.compile(optimizer, _loss(loss), metrics=metrics, jit_compile=jit_compile)
    return model


def _dense_stack(inputs, depth, width, activation, initializer, seed):
    h = inputs
    for i in range(depth):
        init = initializer(seed + i) if callable(initializer) else initializer
        h = keras.layers.Dense(width, activation=activation, kernel_initializer=init, name=f"dense_{i:02d}")(h)
    return h


def _he(seed):
    return keras.initializers.HeNormal(seed=seed)


def digits_mlp(
    seed: int,
    jit_compile: bool = True,
    *,
    depth: int = 2,
    width: int = 64,
    activation: str | None = "relu",
    initializer: Any = _he,
    output_activation: str | None = None,
    units: int = 10,
    loss: str = _SCE_LOGITS,
    optimizer: Callable[[], Any] = lambda: keras.optimizers.Adam(1e-3),
    labels: str = "index",
    raw_inputs: bool = False,
    nan_inputs: float = 0.0,
    rows: int | None = None,
    fit: str | None = None,
    metric: str = "accuracy",
    scaled_twice: bool = False,
) -> Built:
    """A digits classifier, an MLP (the correct version: two ReLU layers of 64 with He's
    initializer, logits, sparse cross-entropy from logits, Adam 1e-3, accuracy), with the fault
    asked for. `labels="shuffled"`: the training labels permuted apart from their images (the
    validation labels left right), as when inputs and labels are sorted or filtered separately."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed, standardize=not (raw_inputs or scaled_twice))
    if scaled_twice:  # the pixels (0..16) brought to [0, 1], then divided by 255 again as if they were bytes
        x, x_val = x / 16 / 255, x_val / 16 / 255
    if labels == "shuffled":
        y = np.random.default_rng(seed).permutation(y)
    if raw_inputs:  # the raw pixel counts (0..16) rescaled the way a camera's 0..128 would be
        x, x_val = x * 8.0, x_val * 8.0
    if rows is not None:
        x, y = x[:rows], y[:rows]
    if nan_inputs:
        x = x.copy()
        x[np.random.default_rng(seed).random(len(x)) < nan_inputs, 3] = np.nan
    if labels == "one_hot":
        y, y_val = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_val, 10)
    inputs = keras.Input((64,))
    h = _dense_stack(inputs, depth, width, activation, initializer, seed)
    outputs = keras.layers.Dense(units, activation=output_activation, name="output")(h)
    model = keras.Model(inputs, outputs, name="digits_mlp")
    model = _compile(model, optimizer(), loss, [metric], jit_compile)
    return Built(model, x, y, (x_val, y_val), _fit(fit, y))


def digits_cnn(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str | None = None,
    loss: str = _SCE_LOGITS,
    optimizer: Callable[[], Any] = lambda: keras.optimizers.Adam(1e-3),
    raw_inputs: bool = False,
    dead_block: bool = False,
) -> Built:
    """The digits as 8x8x1 images, a small CNN (the correct version: three 3x3 convolutions of 16
    with He's initializer, max pooling, logits)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed, standardize=not raw_inputs)
    if raw_inputs:  # 0..16 counts as 0..255 pixels, never divided by 255
        x, x_val = x * 16.0, x_val * 16.0
    x, x_val = x.reshape(-1, 8, 8, 1), x_val.reshape(-1, 8, 8, 1)
    bias = keras.initializers.Constant(-20.0) if dead_block else "zeros"
    layers: list = [keras.Input((8, 8, 1))]
    for i in range(3):
        layers.append(
            keras.layers.Conv2D(
                16,
                3,
                padding="same",
                activation="relu",
                kernel_initializer=_he(seed + i),
                bias_initializer=bias if i > 0 else "zeros",
                name=f"conv_{i}",
            )
        )
    layers += [
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation=output_activation, name="output"),
    ]
    model = _compile(keras.Sequential(layers, name="digits_cnn"), optimizer(), loss, ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def mnist1d_conv(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str | None = None,
    loss: str = _SCE_LOGITS,
    nan_inputs: float = 0.0,
    activation: str | None = "relu",
) -> Built:
    """mnist1d's sequences, a 1-D CNN (the correct version: two Conv1D of 32 with ReLU, flattened,
    logits, sparse cross-entropy from logits, Adam 2e-3)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _mnist1d(seed)
    if nan_inputs:
        x = x.copy()
        x[np.random.default_rng(seed).random(len(x)) < nan_inputs, 5, 0] = np.nan
    model = keras.Sequential(
        [
            keras.Input((40, 1)),
            keras.layers.Conv1D(32, 5, strides=2, padding="same", activation=activation, name="conv_0"),
            keras.layers.Conv1D(32, 3, padding="same", activation=activation, name="conv_1"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation=output_activation, name="output"),
        ],
        name="mnist1d_conv",
    )
    model = _compile(model, keras.optimizers.Adam(2e-3), loss, ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def mnist1d_gru(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str | None = None,
    loss: str = _SCE_LOGITS,
    optimizer: Callable[[], Any] = lambda: keras.optimizers.Adam(3e-3),
    label_offset: int = 0,
) -> Built:
    """mnist1d's sequences, a recurrent classifier (the correct version: a GRU of 32, logits,
    sparse cross-entropy from logits, Adam 3e-3)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _mnist1d(seed)
    y, y_val = y + label_offset, y_val + label_offset
    model = keras.Sequential(
        [
            keras.Input((40, 1)),
            keras.layers.GRU(32, name="gru"),
            keras.layers.Dense(10, activation=output_activation, name="output"),
        ],
        name="mnist1d_gru",
    )
    model = _compile(model, optimizer(), loss, ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def cancer_mlp(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str = "sigmoid",
    units: int = 1,
    raw_inputs: bool = False,
    negative_labels: bool = False,
    fit: str | None = None,
) -> Built:
    """A binary classifier on the breast-cancer measurements (the correct version: standardized
    inputs, two ReLU layers of 32, one sigmoid unit, binary cross-entropy, Adam 1e-3)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _cancer(seed, standardize=not raw_inputs)
    if negative_labels:  # {-1, 1}, as an SVM reads them
        y, y_val = 2.0 * y - 1.0, 2.0 * y_val - 1.0
    inputs = keras.Input((30,))
    h = _dense_stack(inputs, 2, 32, "relu", _he, seed)
    outputs = keras.layers.Dense(units, activation=output_activation, name="output")(h)
    model = keras.Model(inputs, outputs, name="cancer_mlp")
    model = _compile(model, keras.optimizers.Adam(1e-3), "binary_crossentropy", ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val), _fit(fit, y))


def rare_class_mlp(seed: int, jit_compile: bool = True, *, fit: str | None = None) -> Built:
    """A binary classifier of a rare class (3% of the rows, in training and validation) on weak
    features (the correct version: the same MLP of two ReLU layers of 32 and one sigmoid unit,
    trained with balanced class weights)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _rare(seed)
    inputs = keras.Input((10,))
    h = _dense_stack(inputs, 2, 32, "relu", _he, seed)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(h)
    model = keras.Model(inputs, outputs, name="rare_class_mlp")
    model = _compile(model, keras.optimizers.Adam(1e-3), "binary_crossentropy", ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val), _fit(fit, y))


def friedman_mlp(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str | None = None,
    target_scale: float = 1.0,
    standardize_targets: bool = True,
    nan_targets: float = 0.0,
    optimizer: Callable[[], Any] = lambda: keras.optimizers.Adam(1e-3),
) -> Built:
    """A regression MLP on Friedman's #1 (the correct version: standardized inputs and targets,
    two ReLU layers of 64, a linear output, mean squared error, Adam 1e-3)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _friedman(seed, standardize_targets)
    y, y_val = y * target_scale, y_val * target_scale
    if nan_targets:
        y = y.copy()
        y[np.random.default_rng(seed).random(len(y)) < nan_targets] = np.nan
    inputs = keras.Input((10,))
    h = _dense_stack(inputs, 2, 64, "relu", _he, seed)
    outputs = keras.layers.Dense(1, activation=output_activation, name="output")(h)
    model = keras.Model(inputs, outputs, name="friedman_mlp")
    model = _compile(model, optimizer(), "mean_squared_error", [], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def sequence_gru(
    seed: int,
    jit_compile: bool = True,
    *,
    output_activation: str | None = None,
    target_scale: float = 1.0,
    input_offset: float = 0.0,
) -> Built:
    """A recurrent regression (the correct version: a GRU of 32 over unit-scale sequences, a
    linear output, mean squared error, Adam 3e-3)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _sequences(seed)
    x, x_val = x * (1.0 + input_offset) + input_offset, x_val * (1.0 + input_offset) + input_offset
    y, y_val = y * target_scale, y_val * target_scale
    model = keras.Sequential(
        [
            keras.Input((16, 2)),
            keras.layers.GRU(32, name="gru"),
            keras.layers.Dense(1, output_activation, name="output"),
        ],
        name="sequence_gru",
    )
    model = _compile(model, keras.optimizers.Adam(3e-3), "mean_squared_error", [], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def residual_mlp(seed: int, jit_compile: bool = True, *, skip_init: bool = True, blocks: int = 16) -> Built:
    """A residual MLP on the digits (the correct version: each of 16 swish branches ends in a
    `SkipInit` scale, so the trunk starts as the identity; De & Smith 2020)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed)
    inputs = keras.Input((64,))
    outputs = keras.layers.Dense(10, name="output")(residual_trunk(inputs, blocks, skip_init))
    model = keras.Model(inputs, outputs, name="residual_mlp")
    model = _compile(model, keras.optimizers.AdamW(3e-3), _SCE_LOGITS, ["accuracy"], jit_compile)
    return Built(model, x, y, (x_val, y_val))


def two_inputs(seed: int, jit_compile: bool = True, *, raw_second: bool = False) -> Built:
    """A functional model with two named inputs (the digits' top and bottom halves, fed as a
    dict), concatenated into a ReLU layer of 64 and logits."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed)

    def halves(a, raw):
        bottom = a[:, 32:] * 50.0 + 200.0 if raw else a[:, 32:]
        return {"top": a[:, :32], "bottom": bottom}

    top, bottom = keras.Input((32,), name="top"), keras.Input((32,), name="bottom")
    h = keras.layers.Concatenate(name="join")([top, bottom])
    h = keras.layers.Dense(64, activation="relu", kernel_initializer=_he(seed), name="dense_00")(h)
    outputs = keras.layers.Dense(10, name="output")(h)
    model = keras.Model({"top": top, "bottom": bottom}, outputs, name="two_inputs")
    model = _compile(model, keras.optimizers.Adam(1e-3), _SCE_LOGITS, ["accuracy"], jit_compile)
    return Built(model, halves(x, raw_second), y, (halves(x_val, raw_second), y_val))


def two_outputs(seed: int, jit_compile: bool = True, *, class_activation: str | None = None) -> Built:
    """A functional model with two outputs: the digit (logits, sparse cross-entropy) and the ink
    (the standardized sum of the pixels, mean squared error), losses weighted 1 and 0.5."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed)
    ink_mean, ink_std = x.sum(1).mean(), x.sum(1).std()

    def targets(a, labels):
        return {"digit": labels, "ink": ((a.sum(1) - ink_mean) / ink_std)[:, None].astype("float32")}

    inputs = keras.Input((64,))
    h = keras.layers.Dense(64, activation="relu", kernel_initializer=_he(seed), name="dense_00")(inputs)
    digit = keras.layers.Dense(10, activation=class_activation, name="digit")(h)
    ink = keras.layers.Dense(1, name="ink")(h)
    model = keras.Model(inputs, {"digit": digit, "ink": ink}, name="two_outputs")
    loss = {
        "digit": _loss(_SCE_LOGITS if class_activation is None else "sparse_categorical_crossentropy"),
        "ink": "mse",
    }
    model.compile(
        keras.optimizers.Adam(1e-3),
        loss,
        loss_weights={"digit": 1.0, "ink": 0.5},
        metrics={"digit": ["accuracy"]},
        jit_compile=jit_compile,
    )
    return Built(model, x, targets(x, y), (x_val, targets(x_val, y_val)))


def _attributes(labels: np.ndarray) -> np.ndarray:
    """Four yes/no attributes of a digit: even, above 4, drawn with a loop (0 6 8 9), prime."""
    loops, primes = np.isin(labels, (0, 6, 8, 9)), np.isin(labels, (2, 3, 5, 7))
    return np.stack([labels % 2 == 0, labels > 4, loops, primes], axis=1).astype("float32")


def digit_attributes(seed: int, jit_compile: bool = True, *, output_activation: str = "sigmoid") -> Built:
    """A multi-label classifier: four attributes of each digit, four sigmoid units, binary
    cross-entropy (the correct version)."""
    keras.utils.set_random_seed(seed)
    x, y, x_val, y_val = _digits(seed)
    inputs = keras.Input((64,))
    h = _dense_stack(inputs, 2, 64, "relu", _he, seed)
    outputs = keras.layers.Dense(4, activation=output_activation, name="output")(h)
    model = keras.Model(inputs, outputs, name="digit_attributes")
    metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
    model = _compile(model, keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics, jit_compile)
    return Built(model, x, _attributes(y), (x_val, _attributes(y_val)))


def _tanh_gain(seed):
    return keras.initializers.VarianceScaling(scale=64.0, mode="fan_in", distribution="normal", seed=seed)


# ------------------------------------------------------------------ the table

_P = functools.partial


@dataclasses.dataclass(frozen=True)
class _Pair:
    """`(seed, jit_compile=True, buggy=True) -> Built`: `base` with the `fault` keywords, or with
    the `correct` ones (default: none, the base program). `key` names the correct version (the
    same for every program that shares it)."""

    base: Callable[..., Built]
    fault: dict
    correct: dict = dataclasses.field(default_factory=dict)

    def __call__(self, seed: int, jit_compile: bool = True, buggy: bool = True) -> Built:
        return self.base(seed, jit_compile, **(self.fault if buggy else self.correct))

    @property
    def key(self) -> str:
        return self.base.__name__ + repr(sorted((k, getattr(v, "__name__", v)) for k, v in self.correct.items()))


def _pair(base: Callable[..., Built], fault: dict, correct: dict | None = None) -> _Pair:
    return _Pair(base, fault, correct or {})


def _sgd_momentum():
    return keras.optimizers.SGD(0.01, momentum=0.9)


PROGRAMS: tuple[Program, ...] = (
    # ---- the program: output layer, loss and labels
    Program("relu_output_sparse_ce", "program", "dense", "multi-class", "output_loss_mismatch",
            _pair(digits_mlp, {"output_activation": "relu", "loss": "sparse_categorical_crossentropy"})),
    Program("linear_output_no_logits_gru", "program", "recurrent", "multi-class", "output_loss_mismatch",
            _pair(mnist1d_gru, {"loss": "sparse_categorical_crossentropy"})),
    Program("softmax_output_from_logits_cnn", "program", "conv", "multi-class", "output_loss_mismatch",
            _pair(digits_cnn, {"output_activation": "softmax"})),
    Program("sigmoid_over_classes_conv1d", "program", "conv", "multi-class", "output_loss_mismatch",
            _pair(mnist1d_conv, {"output_activation": "sigmoid", "loss": "sparse_categorical_crossentropy"})),
    Program("softmax_on_one_unit", "program", "dense", "binary", "output_loss_mismatch",
            _pair(cancer_mlp, {"output_activation": "softmax"})),
    Program("two_unit_softmax_binary_ce", "program", "dense", "binary", "output_loss_mismatch",
            _pair(cancer_mlp, {"output_activation": "softmax", "units": 2})),
    Program("linear_output_binary_ce", "program", "dense", "binary", "output_loss_mismatch",
            _pair(cancer_mlp, {"output_activation": None})),
    Program("softmax_binary_ce_one_hot", "program", "dense", "multi-class", "output_loss_mismatch",
            _pair(digits_mlp, {"labels": "one_hot", "output_activation": "softmax", "loss": "binary_crossentropy"},
                  {"labels": "one_hot", "loss": "categorical_crossentropy_logits"})),
    Program("conv_without_activations", "program", "conv", "multi-class", "linear_model",
            _pair(mnist1d_conv, {"activation": None})),
    Program("mlp_without_activations", "program", "dense", "multi-class", "linear_model",
            _pair(digits_mlp, {"activation": None})),
    Program("one_hot_labels_sparse_loss", "program", "dense", "multi-class", "target_loss_mismatch",
            _pair(digits_mlp, {"labels": "one_hot"}, {"labels": "one_hot", "loss": "categorical_crossentropy_logits"})),
    Program("class_indices_categorical_loss", "program", "conv", "multi-class", "target_loss_mismatch",
            _pair(mnist1d_conv, {"loss": "categorical_crossentropy_logits"})),
    Program("categorical_accuracy_on_indices", "program", "dense", "multi-class", "metric_at_chance",
            _pair(digits_mlp, {"metric": "categorical_accuracy"})),
    Program("sigmoid_output_regression", "program", "dense", "regression", "output_range_mismatch",
            _pair(friedman_mlp, {"output_activation": "sigmoid"}), score="r2"),
    Program("relu_output_signed_targets_gru", "program", "recurrent", "regression", "output_range_mismatch",
            _pair(sequence_gru, {"output_activation": "relu"}), score="r2"),
    Program("relu_output_two_outputs", "program", "functional", "multi-output", "output_loss_mismatch",
            _pair(two_outputs, {"class_activation": "relu"})),
    # ---- the data
    Program("raw_features_sgd", "data", "dense", "multi-class", "unscaled_inputs",
            _pair(digits_mlp, {"raw_inputs": True, "optimizer": _sgd_momentum}, {"optimizer": _sgd_momentum})),
    Program("raw_pixels_cnn", "data", "conv", "multi-class", "unscaled_inputs",
            _pair(digits_cnn, {"raw_inputs": True})),
    Program("raw_measurements_binary", "data", "dense", "binary", "unscaled_inputs",
            _pair(cancer_mlp, {"raw_inputs": True})),
    Program("offset_sequences_gru", "data", "recurrent", "regression", "unscaled_inputs",
            _pair(sequence_gru, {"input_offset": 50.0}), score="r2"),
    Program("unscaled_second_input", "data", "functional", "multi-class", "unscaled_inputs",
            _pair(two_inputs, {"raw_second": True})),
    Program("pixels_scaled_twice", "data", "dense", "multi-class", "unscaled_inputs",
            _pair(digits_mlp, {"scaled_twice": True})),
    Program("nan_in_inputs", "data", "dense", "multi-class", "nonfinite",
            _pair(digits_mlp, {"nan_inputs": 0.05})),
    Program("nan_in_sequences", "data", "conv", "multi-class", "nonfinite", _pair(mnist1d_conv, {"nan_inputs": 0.05})),
    Program("nan_in_targets", "data", "dense", "regression", "nonfinite",
            _pair(friedman_mlp, {"nan_targets": 0.05}), score="r2"),
    Program("labels_beyond_output", "data", "dense", "multi-class", "invalid_targets",
            _pair(digits_mlp, {"units": 5}, {"units": 10})),
    Program("labels_from_one_gru", "data", "recurrent", "multi-class", "invalid_targets",
            _pair(mnist1d_gru, {"label_offset": 1})),
    Program("binary_labels_minus_one", "data", "dense", "binary", "invalid_targets",
            _pair(cancer_mlp, {"negative_labels": True})),
    Program("targets_in_thousands", "data", "dense", "regression", "unscaled_targets",
            _pair(friedman_mlp, {"standardize_targets": False, "target_scale": 1000.0}), score="r2"),
    Program("targets_in_thousands_gru", "data", "recurrent", "regression", "unscaled_targets",
            _pair(sequence_gru, {"target_scale": 5000.0}), score="r2"),
    Program("labels_shuffled_apart", "data", "dense", "multi-class", "metric_at_chance",
            _pair(digits_mlp, {"labels": "shuffled"})),
    Program("rare_positive_class", "data", "dense", "binary", "imbalanced_classes",
            _pair(rare_class_mlp, {}, {"fit": "balanced"}), score="balanced_accuracy"),
    # ---- the training dynamics
    Program("learning_rate_100x_too_high", "dynamics", "dense", "multi-class", "learning_rate_too_high",
            _pair(digits_mlp, {"depth": 4, "optimizer": lambda: keras.optimizers.Adam(0.1)}, {"depth": 4})),
    Program("learning_rate_1000x_too_low_cnn", "dynamics", "conv", "multi-class", "learning_rate_too_low",
            _pair(digits_cnn, {"optimizer": lambda: keras.optimizers.Adam(1e-6)})),
    Program("sgd_rate_too_high_regression", "dynamics", "dense", "regression", "learning_rate_too_high",
            _pair(friedman_mlp, {"optimizer": lambda: keras.optimizers.SGD(0.5, momentum=0.9)},
                  {"optimizer": lambda: keras.optimizers.SGD(0.01, momentum=0.9)}), score="r2"),
    Program("deep_sigmoid_glorot", "dynamics", "dense", "multi-class", "vanishing_gradients",
            _pair(digits_mlp, {"depth": 20, "width": 32, "activation": "sigmoid", "initializer": "glorot_uniform"},
                  {"depth": 20, "width": 32})),  # ReLU with He's initializer
    Program("deep_relu_glorot", "dynamics", "dense", "multi-class", "dead_units",
            _pair(digits_mlp, {"depth": 30, "width": 32, "initializer": "glorot_uniform"}, {"depth": 30, "width": 32})),
    Program("tanh_gain_64", "dynamics", "dense", "multi-class", "saturated_units",
            _pair(digits_mlp, {"depth": 8, "activation": "tanh", "initializer": _tanh_gain},
                  {"depth": 8, "activation": "tanh", "initializer": "glorot_uniform"})),
    Program("dead_relu_conv_block", "dynamics", "conv", "multi-class", "dead_units",
            _pair(digits_cnn, {"dead_block": True})),
    Program("residual_without_branch_scale", "dynamics", "residual", "multi-class", "activation_growth",
            _pair(residual_mlp, {"skip_init": False})),
    Program("wide_mlp_on_96_rows", "dynamics", "dense", "multi-class", "overfitting",
            _pair(digits_mlp, {"width": 1024, "rows": 96}, {"width": 1024, "rows": 96, "fit": "early_stopping"})),
    # ---- healthy programs: the correct versions, diagnosed as they are
    Program("healthy_digits_mlp", "healthy", "dense", "multi-class", "healthy", _pair(digits_mlp, {})),
    Program("healthy_deep_mlp", "healthy", "dense", "multi-class", "healthy", _pair(digits_mlp, {"depth": 8})),
    Program("healthy_digits_cnn", "healthy", "conv", "multi-class", "healthy", _pair(digits_cnn, {})),
    Program("healthy_mnist1d_conv", "healthy", "conv", "multi-class", "healthy", _pair(mnist1d_conv, {})),
    Program("healthy_mnist1d_gru", "healthy", "recurrent", "multi-class", "healthy", _pair(mnist1d_gru, {})),
    Program("healthy_cancer_mlp", "healthy", "dense", "binary", "healthy", _pair(cancer_mlp, {})),
    Program("healthy_friedman_mlp", "healthy", "dense", "regression", "healthy", _pair(friedman_mlp, {}), score="r2"),
    Program("healthy_sequence_gru", "healthy", "recurrent", "regression", "healthy", _pair(sequence_gru, {}),
            score="r2"),
    Program("healthy_residual_skip_init", "healthy", "residual", "multi-class", "healthy", _pair(residual_mlp, {})),
    Program("healthy_two_inputs", "healthy", "functional", "multi-class", "healthy", _pair(two_inputs, {})),
    Program("healthy_two_outputs", "healthy", "functional", "multi-output", "healthy", _pair(two_outputs, {})),
    Program("healthy_digit_attributes", "healthy", "dense", "multi-label", "healthy", _pair(digit_attributes, {})),
)  # fmt: skip


def program(name: str) -> Program:
    """The program called `name`."""
    for p in PROGRAMS:
        if p.name == name:
            return p
    raise ValueError(f"No program {name!r}. Known: {[p.name for p in PROGRAMS]}")
