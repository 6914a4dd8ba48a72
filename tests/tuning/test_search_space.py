"""The hp_* helpers: fixed values, declared hyperparameters, conditional scopes, bad arguments."""

import keras
import keras_tuner
import numpy as np
import pytest

from kerasboost import initializers, optimizers, schedules
from kerasboost.tuning import (
    hp_clipping,
    hp_dropout,
    hp_initializer,
    hp_learning_rate,
    hp_normalization,
    hp_optimizer,
    hp_regularizer,
    hp_schedule,
)


def _names(hp):
    return [p.name for p in hp.space]


def test_fixed_values_build_the_named_objects():
    assert hp_learning_rate(3e-3) == 3e-3
    assert hp_dropout(0.25) == 0.25
    assert isinstance(hp_initializer("orthogonal_matched", "tanh"), initializers.OrthogonalFor)
    assert isinstance(hp_initializer("he_normal"), keras.initializers.HeNormal)
    assert hp_regularizer("none") is None
    assert isinstance(hp_regularizer("l2"), keras.regularizers.L2)
    assert hp_normalization("none") is None
    assert isinstance(hp_normalization("group", choices=["group"], groups=2), keras.layers.GroupNormalization)
    assert hp_clipping("none") == {} and hp_clipping("agc") == {"agc": 0.01}
    optimizer = hp_optimizer("adamw", 0.01, choices=["adamw"], wrappers=["lookahead"], clipping={"agc": 0.02})
    assert isinstance(optimizer, optimizers.Lookahead)
    assert (
        isinstance(optimizer.optimizer, optimizers.AdaptiveGradientClipping) and optimizer.optimizer.clip_factor == 0.02
    )
    assert isinstance(optimizer.optimizer.optimizer, keras.optimizers.AdamW)
    assert hp_optimizer("sgd", 0.1, clipping={"global_clipnorm": 2.0}).global_clipnorm == 2.0
    for name in ("radam", "adabelief", "lars", "adagrad", "adadelta", "rmsprop"):
        assert isinstance(hp_optimizer(name, 0.01, choices=[name]), keras.optimizers.Optimizer)


@pytest.mark.parametrize(
    "name", ["constant", "step", "exponential", "cosine", "cyclical", "one_cycle", "warmup_cosine"]
)
def test_every_schedule_peaks_at_the_rate_and_spans_the_run(name):
    lr = hp_schedule(name, 0.1, num_samples=1000, batch_size=50, epochs=5)  # 100 steps
    values = np.array(
        [float(keras.ops.convert_to_numpy(lr(s))) if not isinstance(lr, float) else lr for s in range(0, 101)]
    )
    assert values.max() == pytest.approx(0.1, rel=1e-5)
    if name in ("cosine", "warmup_cosine", "one_cycle"):
        assert values[-1] < 1e-3  # annealed by the end of the run
    if name == "step":
        assert values[40] == pytest.approx(0.01) and values[70] == pytest.approx(0.001)
    if name == "exponential":
        assert values[100] == pytest.approx(0.001, rel=1e-4)
    assert isinstance(hp_schedule("one_cycle", 0.1, steps=100), schedules.OneCycle)


def test_hyperparameters_are_declared_under_scopes_with_conditions():
    hp = keras_tuner.HyperParameters()
    hp_regularizer(hp)
    hp_clipping(hp)
    hp_optimizer(hp, hp_learning_rate(hp), choices=["sgd", "adamw", "adam"], wrappers=["none", "lookahead"])
    names = _names(hp)
    assert names == [
        "regularizer/kind",
        "regularizer/l1",
        "regularizer/l2",
        "clipping/kind",
        "clipping/clipnorm",
        "clipping/clipvalue",
        "clipping/global_clipnorm",
        "clipping/agc",
        "learning_rate",
        "optimizer/name",
        "optimizer/sgd_momentum",
        "optimizer/adamw_weight_decay",
        "optimizer/wrapper",
    ]
    space = {p.name: p for p in hp.space}
    assert space["learning_rate"].sampling == "log"
    assert [c.values for c in space["regularizer/l1"].conditions] == [["l1", "l1_l2"]]
    assert [c.values for c in space["optimizer/sgd_momentum"].conditions] == [["sgd"]]
    # a trial that picks adamw sees its weight decay; sgd's momentum is inactive
    hp.values["optimizer/name"] = "adamw"
    hp.values["optimizer/adamw_weight_decay"] = 0.02
    assert not hp.is_active(space["optimizer/sgd_momentum"])
    optimizer = hp_optimizer(hp, 1e-3, choices=["sgd", "adamw", "adam"], wrappers=["none", "lookahead"])
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == pytest.approx(0.02)


def test_choices_are_strings_never_none():
    hp = keras_tuner.HyperParameters()
    hp_normalization(hp, choices=["none", "batch"])
    assert all(isinstance(v, str) for v in hp.space[0].values)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: hp_optimizer("nadam"), "hp"),
        (lambda: hp_optimizer("adam", choices=["adam", "nadam"]), "choices"),
        (lambda: hp_optimizer("adam", choices=[]), "choices"),
        (lambda: hp_optimizer("adam", wrappers=["swa"]), "wrappers"),
        (lambda: hp_optimizer("adam", clipping={"clip": 1.0}), "clipping"),
        (lambda: hp_learning_rate(keras_tuner.HyperParameters(), 1e-1, 1e-3), "min_value"),
        (lambda: hp_learning_rate(keras_tuner.HyperParameters(), 0.0, 1e-3), "min_value"),
        (lambda: hp_learning_rate(-1.0), "hp"),
        (lambda: hp_dropout(1.0), "hp"),
        (lambda: hp_dropout(0.1, max_value=1.0), "max_value"),
        (lambda: hp_regularizer("l3"), "hp"),
        (lambda: hp_normalization("batch", choices="batch"), "choices"),
        (lambda: hp_normalization("group", choices=["group"], groups=0), "groups"),
        (lambda: hp_clipping("none", choices=["none", "none"]), "choices"),
        (lambda: hp_schedule("cosine", 0.1), "steps"),
        (lambda: hp_schedule("cosine", 0.1, steps=0), "steps"),
        (lambda: hp_initializer("xavier"), "hp"),
        (lambda: hp_initializer("matched", activation="softmax"), "activation"),
    ],
)
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()
