"""The contract sweep: every public kerasboost object, every check.

Adding an object to the sweep is one `ContractCase` entry in `CASES`.
CI runs this file twice: with TensorFlow, then with `KERAS_BACKEND=jax`.
"""

import keras
import pytest

from kerasboost import ensemble, initializers, layers, optimizers, schedules
from kerasboost.testing import ContractCase, check_exports, check_saving
from kerasboost.testing.contract import PER_CASE_CHECKS

CASES = [
    # ---------------------------------------------------------------- schedules
    ContractCase(
        schedules.Warmup,
        {"schedule": 0.01, "warmup_steps": 3},
        invalid=[
            ({"warmup_steps": -1}, "warmup_steps"),
            ({"warmup_steps": 2.5}, "warmup_steps"),
            ({"mode": "cubic"}, "mode"),
            ({"start_learning_rate": -0.1}, "start_learning_rate"),
            ({"mode": "exponential", "start_learning_rate": 0.0}, "start_learning_rate"),
            ({"power": 0.0}, "power"),
            ({"schedule": "fast"}, "schedule"),
            ({"schedule": -1.0}, "schedule"),
        ],
        id="Warmup[float]",
    ),
    ContractCase(
        schedules.Warmup,
        lambda: {
            "schedule": keras.optimizers.schedules.CosineDecay(0.01, decay_steps=10),
            "warmup_steps": 1,
            "mode": "exponential",
            "start_learning_rate": 1e-4,
        },
        invalid=[({"schedule": {"class_name": "NoSuchSchedule", "config": {}}}, "schedule")],
        id="Warmup[CosineDecay]",
    ),
    ContractCase(
        schedules.CyclicalLearningRate,
        {
            "initial_learning_rate": 1e-3,
            "maximal_learning_rate": 1e-2,
            "step_size": 2,
            "mode": "exp_range",
            "gamma": 0.9,
        },
        invalid=[
            ({"step_size": 0}, "step_size"),
            ({"maximal_learning_rate": 1e-4}, "maximal_learning_rate"),
            ({"mode": "sawtooth"}, "mode"),
            ({"gamma": 0.0}, "gamma"),
            ({"gamma": 1.5}, "gamma"),
            ({"initial_learning_rate": float("nan")}, "initial_learning_rate"),
            ({"step_size": "2"}, "step_size"),
        ],
    ),
    ContractCase(
        schedules.OneCycle,
        {"maximal_learning_rate": 0.01, "total_steps": 10, "three_phase": True, "pct_start": 0.25},
        invalid=[
            ({"total_steps": 0}, "total_steps"),
            ({"pct_start": 0.0}, "pct_start"),
            ({"pct_start": 1.0}, "pct_start"),
            ({"pct_start": 0.05}, "pct_start"),
            ({"pct_start": 0.6}, "pct_start"),
            ({"anneal_strategy": "cosine"}, "anneal_strategy"),
            ({"div_factor": 0.0}, "div_factor"),
            ({"final_div_factor": -1.0}, "final_div_factor"),
            ({"maximal_learning_rate": 0.0}, "maximal_learning_rate"),
            ({"three_phase": "yes"}, "three_phase"),
        ],
    ),
    ContractCase(
        schedules.OneCycleMomentum,
        {"total_steps": 10, "base_momentum": 0.8, "max_momentum": 0.9, "three_phase": True, "pct_start": 0.25},
        invalid=[
            ({"total_steps": 1}, "total_steps"),
            ({"base_momentum": 1.2}, "base_momentum"),
            ({"max_momentum": -0.5}, "max_momentum"),
            ({"pct_start": 0.6}, "pct_start"),
            ({"anneal_strategy": "cosine"}, "anneal_strategy"),
            ({"three_phase": 1}, "three_phase"),
        ],
    ),
    ContractCase(
        schedules.StepDecay,
        {"initial_learning_rate": 0.01, "drop_every": 1, "factor": 0.5},
        invalid=[
            ({"drop_every": 0}, "drop_every"),
            ({"factor": 0.0}, "factor"),
            ({"factor": 2.0}, "factor"),
            ({"min_learning_rate": 0.1}, "min_learning_rate"),
            ({"initial_learning_rate": -1.0}, "initial_learning_rate"),
        ],
    ),
    ContractCase(
        schedules.InverseSqrtDecay,
        {"scale": 0.01, "warmup_steps": 2},
        invalid=[({"scale": 0.0}, "scale"), ({"warmup_steps": -3}, "warmup_steps")],
    ),
    ContractCase(
        schedules.LinearDecay,
        {"initial_learning_rate": 0.01, "decay_steps": 3, "end_learning_rate": 0.001},
        invalid=[
            ({"decay_steps": 0}, "decay_steps"),
            ({"initial_learning_rate": float("inf")}, "initial_learning_rate"),
            ({"end_learning_rate": -1e-3}, "end_learning_rate"),
        ],
    ),
    ContractCase(
        schedules.WarmupStableDecay,
        {
            "peak_learning_rate": 0.01,
            "total_steps": 10,
            "warmup_steps": 1,
            "decay_fraction": 0.5,
            "decay_shape": "1-sqrt",
        },
        invalid=[
            ({"total_steps": 0}, "total_steps"),
            ({"decay_fraction": 1.5}, "decay_fraction"),
            ({"warmup_steps": 8}, "warmup_steps"),
            ({"decay_shape": "step"}, "decay_shape"),
            ({"end_learning_rate": 0.1}, "end_learning_rate"),
        ],
    ),
    ContractCase(
        schedules.CosineRestarts,
        {
            "initial_learning_rate": 0.01,
            "first_cycle_steps": 2,
            "cycle_multiplier": 2.0,
            "cycle_decay": 0.5,
            "warmup_steps": 1,
            "max_cycles": 3,
            "min_learning_rate": 1e-4,
        },
        invalid=[
            ({"first_cycle_steps": 0}, "first_cycle_steps"),
            ({"cycle_multiplier": 0.5}, "cycle_multiplier"),
            ({"cycle_decay": 0.0}, "cycle_decay"),
            ({"warmup_steps": 2}, "warmup_steps"),
            ({"max_cycles": 0}, "max_cycles"),
            ({"min_learning_rate": 1.0}, "min_learning_rate"),
        ],
    ),
    ContractCase(
        schedules.Scaled,
        lambda: {"schedule": schedules.StepDecay(0.01, drop_every=2), "factor": 0.5},
        invalid=[
            ({"factor": -0.5}, "factor"),
            ({"factor": float("nan")}, "factor"),
            ({"schedule": "cosine"}, "schedule"),
        ],
    ),
    ContractCase(
        schedules.SequentialSchedule,
        lambda: {
            "schedules": [
                schedules.Warmup(0.01, 1),
                schedules.OneCycle(0.01, total_steps=4),
                keras.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5),
            ],
            "boundaries": [1, 2],
        },
        invalid=[
            ({"boundaries": [2, 1]}, "boundaries"),
            ({"boundaries": [1]}, "boundaries"),
            ({"schedules": []}, "schedules"),
            ({"schedules": "warmup"}, "schedules"),
        ],
    ),
]


def _conv1d_model(initializer):
    inputs = keras.Input((8, 4))
    x = keras.layers.Conv1D(6, 3, padding="same", activation="tanh", kernel_initializer=initializer)(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))


CASES += [
    # ---------------------------------------------------------------- initializers
    ContractCase(
        initializers.VarianceFor,
        {"activation": "leaky_relu", "negative_slope": 0.1, "distribution": "uniform", "seed": 1},
        invalid=[
            ({"activation": "relux"}, "activation"),
            ({"activation": "softmax"}, "activation"),
            ({"negative_slope": -0.2}, "negative_slope"),
            ({"mode": "fan_max"}, "mode"),
            ({"distribution": "cauchy"}, "distribution"),
            ({"seed": 1.5}, "seed"),
        ],
    ),
    ContractCase(
        initializers.OrthogonalFor,
        {"activation": "tanh", "seed": 2},
        invalid=[({"activation": 7}, "activation"), ({"negative_slope": float("nan")}, "negative_slope")],
    ),
    ContractCase(
        initializers.LooksLinear,
        {"gain": 1.0, "seed": 4},
        invalid=[({"gain": -2.0}, "gain"), ({"input_mirrored": 1}, "input_mirrored")],
    ),
    ContractCase(
        initializers.DeltaOrthogonal,
        {"gain": 1.2, "seed": 3},
        invalid=[({"gain": 0.0}, "gain"), ({"gain": -1.0}, "gain"), ({"seed": "abc"}, "seed")],
        input_shape=(8, 4),
        model=_conv1d_model,
    ),
]

_SGD = {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9}, "module": "keras.optimizers"}


def _two_branch_average(obj):
    inputs = keras.Input((6,))
    branches = [
        keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8, activation="tanh")(inputs)) for _ in range(2)
    ]
    return keras.Model(inputs, obj(branches), name="contract_EnsembleAverage")


CASES += [
    ContractCase(
        ensemble.EnsembleAverage,
        {"weights": [2.0, 1.0], "mode": "mean"},
        model=_two_branch_average,
        invalid=[
            ({"weights": [-1.0, 1.0]}, "weights"),
            ({"weights": [0.0, 0.0]}, "weights"),
            ({"mode": "median"}, "mode"),
        ],
    ),
    ContractCase(
        ensemble.EnsembleAverage,
        {"mode": "geometric"},
        model=_two_branch_average,
        id="EnsembleAverage[geometric]",
        invalid=[({"mode": None}, "mode"), ({"weights": [1.0, float("inf")]}, "weights")],
    ),
]


def _wrapper_invalid(extra=()):
    return [
        ({"optimizer": "not_an_optimizer"}, "optimizer"),
        ({"optimizer": 3}, "optimizer"),
        ({"clipnorm": 1.0}, "clipnorm"),
    ] + list(extra)


CASES += [
    # ---------------------------------------------------------------- optimizers
    ContractCase(
        optimizers.RectifiedAdam,
        {"learning_rate": 0.01, "sma_threshold": 4.5, "weight_decay": 0.01},
        invalid=[
            ({"beta_1": 1.0}, "beta_1"),
            ({"beta_2": -0.1}, "beta_2"),
            ({"epsilon": -1.0}, "epsilon"),
            ({"sma_threshold": 3.0}, "sma_threshold"),
        ],
    ),
    ContractCase(
        optimizers.AdaBelief,
        {"learning_rate": 0.01, "epsilon": 1e-12},
        invalid=[({"beta_1": 1.5}, "beta_1"), ({"beta_2": 1.0}, "beta_2"), ({"epsilon": float("nan")}, "epsilon")],
    ),
    ContractCase(
        optimizers.Prodigy,
        {"weight_decay": 0.01, "use_bias_correction": True, "growth_rate": 1.05, "d_coef": 0.5},
        invalid=[
            ({"beta_3": 1.0}, "beta_3"),
            ({"d0": 0.0}, "d0"),
            ({"d_coef": -1.0}, "d_coef"),
            ({"growth_rate": 0.5}, "growth_rate"),
            ({"decouple": "yes"}, "decouple"),
            ({"weight_decay": -0.1}, "weight_decay"),
        ],
    ),
    ContractCase(
        optimizers.DAdaptAdam,
        {"weight_decay": 0.01, "decouple": True, "growth_rate": float("inf")},
        invalid=[({"epsilon": 0.0}, "epsilon"), ({"beta_1": 1.0}, "beta_1"), ({"d0": -1e-6}, "d0")],
    ),
    ContractCase(
        optimizers.DAdaptSGD,
        {"momentum": 0.9, "weight_decay": 1e-4},
        invalid=[({"momentum": 1.0}, "momentum"), ({"growth_rate": float("nan")}, "growth_rate")],
    ),
    ContractCase(
        optimizers.DoG,
        {"reps_rel": 1e-4, "weight_decay": 1e-4},
        invalid=[
            ({"reps_rel": 0.0}, "reps_rel"),
            ({"initial_eta": -1.0}, "initial_eta"),
            ({"epsilon": -1.0}, "epsilon"),
        ],
    ),
    ContractCase(
        optimizers.LDoG,
        {"initial_eta": 1e-3},
        invalid=[({"reps_rel": -1.0}, "reps_rel"), ({"learning_rate": -1.0}, "learning_rate")],
    ),
    ContractCase(
        optimizers.LARS,
        {"learning_rate": 0.5, "weight_decay_rate": 1e-3, "trust_coefficient": 0.01, "nesterov": True},
        invalid=[
            ({"momentum": 1.0}, "momentum"),
            ({"trust_coefficient": 0.0}, "trust_coefficient"),
            ({"weight_decay_rate": -1.0}, "weight_decay_rate"),
            ({"nesterov": "no"}, "nesterov"),
        ],
    ),
    ContractCase(
        optimizers.LayerwiseLearningRate,
        lambda: {"optimizer": keras.optimizers.Adam(0.01), "scales": {"no_such_layer": 1.0}, "default_scale": 0.5},
        invalid=_wrapper_invalid(
            [
                ({"scales": {"dense": -1.0}}, "scales"),
                ({"scales": ["dense"]}, "scales"),
                ({"default_scale": float("nan")}, "default_scale"),
            ]
        ),
    ),
    ContractCase(
        optimizers.Lookahead,
        lambda: {"optimizer": keras.optimizers.Adam(0.01), "sync_period": 2, "slow_step_size": 0.5},
        invalid=_wrapper_invalid(
            [
                ({"sync_period": 0}, "sync_period"),
                ({"slow_step_size": 0.0}, "slow_step_size"),
                ({"slow_step_size": 1.5}, "slow_step_size"),
            ]
        ),
    ),
    ContractCase(
        optimizers.Lookahead,
        lambda: {
            "optimizer": optimizers.GradientNoise(
                optimizers.AdaptiveGradientClipping(optimizers.RectifiedAdam(0.01)), eta=0.01, seed=3
            ),
            "sync_period": 2,
        },
        invalid=[({"optimizer": keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())}, "optimizer")],
        id="Lookahead[GradientNoise[AdaptiveGradientClipping[RectifiedAdam]]]",
        random_on_tensorflow=True,
    ),
    ContractCase(
        optimizers.GradientNoise,
        {"optimizer": _SGD, "eta": 0.01, "gamma": 0.55, "seed": 7},
        invalid=_wrapper_invalid([({"eta": -0.1}, "eta"), ({"gamma": -1.0}, "gamma"), ({"seed": 0.5}, "seed")]),
        random_on_tensorflow=True,
    ),
    ContractCase(
        optimizers.AdaptiveGradientClipping,
        {"optimizer": _SGD, "clip_factor": 0.05, "exclude": ["dense_1"]},
        invalid=_wrapper_invalid(
            [({"clip_factor": 0.0}, "clip_factor"), ({"eps": -1.0}, "eps"), ({"exclude": "dense"}, "exclude")]
        ),
    ),
    ContractCase(
        optimizers.GradientCentralization,
        {"optimizer": _SGD},
        invalid=_wrapper_invalid(),
    ),
    ContractCase(
        optimizers.SkipNonFinite,
        {"optimizer": "adam"},
        invalid=_wrapper_invalid(),
    ),
]


def _mlp():
    inputs = keras.Input((6,))
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8, activation="tanh")(inputs)))


CASES += [
    ContractCase(
        optimizers.SAM,
        lambda: {"model": _mlp(), "rho": 0.1, "adaptive": True},
        invalid=[({"rho": -0.1}, "rho"), ({"adaptive": 0}, "adaptive"), ({"model": 5}, "model")],
        model=lambda sam: sam,
    ),
]


def _residual_model(layer):
    inputs = keras.Input((6,))
    branch = keras.layers.Dense(6, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(layer([inputs, branch])))


_IMAGE, _SPECTROGRAM, _WAVE = (6, 6, 2), (8, 6), (16,)
_SEED = [({"seed": 1.5}, "seed")]

CASES += [
    # ---------------------------------------------------------------- layers
    ContractCase(
        layers.WeightNormalization,
        lambda: {"layer": keras.layers.Dense(5, activation="tanh")},
        invalid=[
            ({"layer": keras.layers.Dropout(0.1)}, "layer"),
            ({"layer": "dense"}, "layer"),
            ({"data_init": "yes"}, "data_init"),
            ({"epsilon": 0.0}, "epsilon"),
        ],
        id="WeightNormalization[Dense]",
    ),
    ContractCase(
        layers.WeightNormalization,
        lambda: {"layer": keras.layers.Conv2D(3, 3, padding="same"), "data_init": False},
        invalid=[({"layer": keras.layers.Conv2DTranspose(3, 3)}, "layer")],
        input_shape=_IMAGE,
        id="WeightNormalization[Conv2D]",
    ),
    ContractCase(
        layers.InstanceNormalization,
        {"epsilon": 1e-5},
        invalid=[
            ({"epsilon": 0.0}, "epsilon"),
            ({"groups": 2}, "groups"),
            ({"center": "yes"}, "center"),
            ({"axis": 1.5}, "axis"),
        ],
        input_shape=_SPECTROGRAM,
    ),
    ContractCase(
        layers.FilterResponseNormalization,
        {"learned_epsilon": True},
        invalid=[({"axis": 2}, "axis"), ({"epsilon": -1e-6}, "epsilon"), ({"learned_epsilon": 1}, "learned_epsilon")],
        input_shape=_IMAGE,
    ),
    ContractCase(
        layers.TLU,
        {"tau_initializer": "ones"},
        invalid=[({"axis": "last"}, "axis")],
        input_shape=_IMAGE,
    ),
    ContractCase(
        layers.WSConv2D,
        {"filters": 4, "kernel_size": 3, "epsilon": 1e-4},
        invalid=[({"epsilon": 0.0}, "epsilon")],
        input_shape=_IMAGE,
    ),
    ContractCase(
        layers.ScaledStdConv2D,
        {"filters": 4, "kernel_size": 3, "gamma": 1.7139, "padding": "same"},
        invalid=[({"gamma": 0.0}, "gamma"), ({"epsilon": -1.0}, "epsilon")],
        input_shape=_IMAGE,
    ),
    ContractCase(
        layers.StochasticDepth,
        {"rate": 0.3, "seed": 3},
        invalid=[({"rate": 1.0}, "rate"), ({"rate": -0.1}, "rate")] + _SEED,
        model=_residual_model,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.DropPath,
        {"rate": 0.3, "seed": 3},
        invalid=[({"rate": 1.5}, "rate"), ({"rate": float("nan")}, "rate")] + _SEED,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.DropBlock2D,
        {"rate": 0.2, "block_size": 2, "seed": 1},
        invalid=[({"rate": 1.0}, "rate"), ({"block_size": 0}, "block_size"), ({"data_format": "nhwc"}, "data_format")]
        + _SEED,
        input_shape=_IMAGE,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.Maxout,
        {"num_units": 3},
        invalid=[({"num_units": 0}, "num_units"), ({"axis": "last"}, "axis")],
    ),
    ContractCase(layers.Swish, {"beta": 1.5}, invalid=[({"beta": float("nan")}, "beta")]),
    ContractCase(layers.SkipInit, {"alpha": 0.1}, invalid=[({"alpha": float("inf")}, "alpha")]),
    ContractCase(
        layers.RandomGain,
        {"min_gain_db": -3.0, "max_gain_db": 3.0, "seed": 2},
        invalid=[({"max_gain_db": -4.0}, "max_gain_db"), ({"min_gain_db": 1e6}, "min_gain_db")] + _SEED,
        input_shape=_WAVE,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.AddNoise,
        {"min_snr_db": 5.0, "max_snr_db": 20.0, "seed": 2},
        invalid=[({"max_snr_db": 0.0}, "max_snr_db"), ({"min_snr_db": float("nan")}, "min_snr_db")] + _SEED,
        input_shape=_WAVE,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.RandomTimeShift,
        {"max_shift": 0.25, "fill": "wrap", "seed": 2},
        invalid=[({"max_shift": 1.5}, "max_shift"), ({"fill": "reflect"}, "fill")] + _SEED,
        input_shape=_WAVE,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.RandomSpeed,
        {"min_rate": 0.8, "max_rate": 1.25, "seed": 2},
        invalid=[({"min_rate": 0.0}, "min_rate"), ({"max_rate": 0.5}, "max_rate")] + _SEED,
        input_shape=_WAVE,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.TimeMasking,
        {"max_width": 3, "num_masks": 2, "seed": 2},
        invalid=[
            ({"max_width": 0}, "max_width"),
            ({"num_masks": 0}, "num_masks"),
            ({"mask_value": "mean"}, "mask_value"),
        ]
        + _SEED,
        input_shape=_SPECTROGRAM,
        random_on_tensorflow=True,
    ),
    ContractCase(
        layers.FrequencyMasking,
        {"max_width": 2, "seed": 2},
        invalid=[({"max_width": -1}, "max_width")] + _SEED,
        input_shape=_SPECTROGRAM,
        random_on_tensorflow=True,
    ),
]

IDS = [case.name for case in CASES]


def test_registry_equals_public_exports():
    check_exports(CASES)


def test_every_subpackage_export_is_registered_or_a_function():
    """`__all__` of each subpackage lists exactly what api_export recorded."""
    import kerasboost.tuning
    from kerasboost.api_export import public_exports

    exported = set(public_exports())
    listed = set()
    for module_name in kerasboost.__all__:
        module = getattr(kerasboost, module_name)
        listed |= {f"kerasboost.{module_name}.{name}" for name in module.__all__}
    assert listed == exported


# The inner tier (`-m "not slow"`) runs the cheap checks on every case and one XLA step per
# family (the first case of each subpackage); the slow tier trains every case once under XLA
# (`check_saving(..., xla=True)`: the XLA check and the saving check share that model) and runs
# the mixed-precision fit.
_FAMILIES = {}
for _case in CASES:
    _FAMILIES.setdefault(_case.cls.__module__.split(".")[1], _case)
XLA_PER_FAMILY = list(_FAMILIES.values())
_CHEAP = ("registry", "config", "validation")


@pytest.mark.parametrize("check", _CHEAP)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_contract(case, check):
    PER_CASE_CHECKS[check](case)


@pytest.mark.parametrize("case", XLA_PER_FAMILY, ids=[c.name for c in XLA_PER_FAMILY])
def test_contract_xla_one_per_family(case):
    PER_CASE_CHECKS["xla"](case)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_contract_precision(case):
    PER_CASE_CHECKS["precision"](case)


def test_every_check_is_run():
    assert set(PER_CASE_CHECKS) == {*_CHEAP, "xla", "precision"}  # xla on every case: the saving groups


# The saving check trains (under XLA, compared with the non-XLA fit: the XLA check) and saves
# every case, then loads them all in one fresh process per group. Groups of interleaved cases so
# that the two CI workers share them.
_SAVING_GROUPS = 4


@pytest.mark.slow
@pytest.mark.parametrize("group", range(_SAVING_GROUPS))
def test_contract_xla_and_saving(group, tmp_path, request):
    members = [c for i, c in enumerate(CASES) if i % _SAVING_GROUPS == group]
    xla = not request.config.getoption("--contract-saving-only")
    results = check_saving(members, str(tmp_path), xla=xla)
    assert set(results) == {c.name for c in members}
    failures = {name: message for name, message in results.items() if message is not None}
    assert not failures, "\n".join(failures.values())
