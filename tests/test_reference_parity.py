"""Parity with PyTorch's counterparts, run side by side (skipped where torch is not installed).

Each test runs the PyTorch object and the kerasboost one on the same inputs for several steps or
values; `docs/guides/contract.md` lists every object with a reference, the test and the
tolerance. Deliberate differences are set out in the docstrings and configured here (e.g.
`ReduceLROnPlateau`'s `patience` counts as Keras's does: PyTorch's `patience=p` is `p + 1` here).
"""

import keras
import numpy as np
import pytest

from kerasboost.callbacks import ReduceLROnPlateau, StochasticWeightAveraging
from kerasboost.diagnostics import schedule_values
from kerasboost.layers import InstanceNormalization, Swish, WeightNormalization
from kerasboost.schedules import CosineRestarts, LinearDecay, StepDecay
from tests.schedules.reference import torch_lrs

torch = pytest.importorskip("torch")


def _np(x):
    return keras.ops.convert_to_numpy(x)


# ----------------------------------------------------------------------------- layers


def test_weight_normalization_matches_torch_weight_norm():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, 4)).astype("float32")  # Keras kernel (in, out); torch weight (out, in)
    g = rng.uniform(0.5, 2.0, size=4).astype("float32")
    b = rng.normal(size=4).astype("float32")
    x = rng.normal(size=(6, 5)).astype("float32")

    linear = torch.nn.Linear(5, 4)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(v.T.copy()))
        linear.bias.copy_(torch.from_numpy(b))
    linear = torch.nn.utils.parametrizations.weight_norm(linear, dim=0)
    # the initial g of both is the norm of each unit's kernel
    initial_g = linear.parametrizations.weight.original0.detach().numpy().reshape(-1)
    layer = WeightNormalization(keras.layers.Dense(4), data_init=False)
    layer.build((None, 5))
    layer.layer.kernel.assign(v)
    layer.g.assign(np.sqrt((v**2).sum(axis=0)))
    np.testing.assert_allclose(_np(layer.g), initial_g, rtol=1e-6)

    with torch.no_grad():
        linear.parametrizations.weight.original0.copy_(torch.from_numpy(g.reshape(4, 1)))
    layer.g.assign(g)
    layer.layer.bias.assign(b)
    expected = linear(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_instance_normalization_matches_torch_instance_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(2, 5, 6, 3)).astype("float32")  # channels last
    gamma, beta = rng.uniform(0.5, 2.0, size=3).astype("float32"), rng.normal(size=3).astype("float32")
    norm = torch.nn.InstanceNorm2d(3, eps=1e-3, affine=True)
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(gamma))
        norm.bias.copy_(torch.from_numpy(beta))
    expected = norm(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).detach().numpy().transpose(0, 2, 3, 1)
    layer = InstanceNormalization(epsilon=1e-3)
    layer.build(x.shape)
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-5, atol=1e-5)


def test_swish_with_beta_one_matches_torch_silu():
    x = np.linspace(-8.0, 8.0, 101, dtype="float32").reshape(1, -1)
    expected = torch.nn.functional.silu(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_np(Swish(beta=1.0)(x)), expected, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("multiplier", [1, 2])
def test_cosine_restarts_matches_torch_cosine_annealing_warm_restarts(multiplier):
    expected = torch_lrs(
        lambda torch, opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=10, T_mult=multiplier, eta_min=1e-4
        ),
        0.1,
        75,
    )
    actual = schedule_values(CosineRestarts(0.1, 10, cycle_multiplier=float(multiplier), min_learning_rate=1e-4), 75)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_step_decay_matches_torch_step_lr():
    expected = torch_lrs(lambda torch, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5), 0.1, 40)
    np.testing.assert_allclose(schedule_values(StepDecay(0.1, 7, factor=0.5), 40), expected, rtol=1e-6)


def test_linear_decay_matches_torch_linear_lr():
    expected = torch_lrs(
        lambda torch, opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.01, total_iters=30),
        0.1,
        45,
    )
    np.testing.assert_allclose(schedule_values(LinearDecay(0.1, 30, 0.001), 45), expected, rtol=1e-6)


# ----------------------------------------------------------------------------- callbacks


@pytest.mark.parametrize(
    "patience,cooldown,min_delta", [(0, 0, 0.0), (1, 0, 0.0), (1, 2, 0.0), (2, 1, 0.02), (0, 3, 0.0)]
)
def test_reduce_lr_on_plateau_matches_torch(patience, cooldown, min_delta):
    values = [1.0, 0.9, 0.95, 0.9, 0.92, 0.85, 0.86, 0.87, 0.88, 0.89, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.71, 0.72]
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        factor=0.5,
        patience=patience,
        cooldown=cooldown,
        threshold=min_delta,
        threshold_mode="abs",
        min_lr=0.004,
    )
    expected = []
    for value in values:
        scheduler.step(value)
        expected.append(optimizer.param_groups[0]["lr"])

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.optimizer.build(model.trainable_variables)
    # PyTorch reduces after more than `patience` bad epochs, Keras (and kerasboost) after `patience`
    callback = ReduceLROnPlateau(
        factor=0.5, patience=patience + 1, cooldown=cooldown, min_delta=min_delta, min_lr=0.004
    )
    callback.set_model(model)
    callback.on_train_begin()
    actual = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": value})
        actual.append(float(_np(model.optimizer.learning_rate)))
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    assert min(expected) < 0.1


def test_stochastic_weight_averaging_matches_torch_averaged_model():
    rng = np.random.default_rng(2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    snapshots = [[rng.normal(size=w.shape).astype("float32") for w in model.get_weights()] for _ in range(6)]
    swa = StochasticWeightAveraging(start_epoch=2)
    swa.set_model(model)
    swa.on_train_begin()
    for epoch, weights in enumerate(snapshots):
        model.set_weights(weights)
        swa.on_epoch_end(epoch)
    swa.on_train_end()

    linear = torch.nn.Linear(3, 2)
    averaged = torch.optim.swa_utils.AveragedModel(linear)
    for weights in snapshots[2:]:
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[0].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[1]))
        averaged.update_parameters(linear)
    np.testing.assert_allclose(model.get_weights()[0], averaged.module.weight.detach().numpy().T, rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], averaged.module.bias.detach().numpy(), rtol=1e-6)
