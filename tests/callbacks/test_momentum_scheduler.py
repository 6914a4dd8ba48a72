"""MomentumScheduler and OneCycleMomentum: one-cycle's momentum, as PyTorch's OneCycleLR moves it."""

import math

import keras
import numpy as np
import pytest

from kerasboost.callbacks import MomentumScheduler
from kerasboost.diagnostics import schedule_values
from kerasboost.optimizers import Lookahead
from kerasboost.schedules import OneCycle, OneCycleMomentum
from tests.schedules.test_one_cycle import SETTINGS


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _torch_momenta(settings, steps, base_momentum, max_momentum, adam):
    """The momentum (SGD) or beta_1 (Adam) PyTorch's OneCycleLR sets for each optimizer step."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param]) if adam else torch.optim.SGD([param], lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=0.01,
        total_steps=steps,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
        **settings,
    )
    values = []
    for _ in range(steps):
        group = optimizer.param_groups[0]
        values.append(group["betas"][0] if adam else group["momentum"])
        optimizer.step()
        scheduler.step()
    return values


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("adam", [False, True], ids=["sgd_momentum", "adam_beta_1"])
def test_one_cycle_momentum_equals_pytorch_one_cycle_lr(settings, adam):
    expected = _torch_momenta(settings, 257, 0.8, 0.97, adam)
    lr_settings = {k: v for k, v in settings.items() if k in ("pct_start", "anneal_strategy", "three_phase")}
    momentum = OneCycle(0.01, total_steps=257, **settings).momentum_schedule(0.8, 0.97)
    assert momentum.get_config() == OneCycleMomentum(257, 0.8, 0.97, **lr_settings).get_config()
    np.testing.assert_allclose(schedule_values(momentum, 257), expected, rtol=0, atol=1e-6)


def test_one_cycle_momentum_by_hand():
    momentum = OneCycleMomentum(total_steps=1000)  # two phases ending at steps 299 and 999
    # step 100 falls by cosine from 0.95 toward 0.85; step 649 rises back to the midpoint
    at_100 = 0.85 + 0.1 * (1 + math.cos(math.pi * 100 / 299)) / 2
    values = schedule_values(momentum, [0, 100, 299, 649, 999, 5000])
    np.testing.assert_allclose(values, [0.95, at_100, 0.85, 0.9, 0.95, 0.95], atol=1e-6)
    three = OneCycleMomentum(total_steps=1000, three_phase=True, anneal_strategy="linear")
    # phase 2 (base back to max) ends at 2 * 0.3 * 1000 - 2 = 598; phase 3 stays at max_momentum
    at_400 = 0.85 + 0.1 * (400 - 299) / (598 - 299)
    values = schedule_values(three, [0, 299, 400, 598, 800, 999])
    np.testing.assert_allclose(values, [0.95, 0.85, at_400, 0.95, 0.95, 0.95], atol=1e-6)


@keras.saving.register_keras_serializable("kerasboost_tests")
def output_mean(y_true, y_pred):
    return keras.ops.mean(y_pred)


def _unit_gradient_model(optimizer, steps_per_execution=1):
    """One weight w, output w * x with x = 1, loss = mean(output): dL/dw = 1 at every step."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizer, loss=output_mean, jit_compile=True, steps_per_execution=steps_per_execution)
    return model


def _sgd_by_hand(lrs, momenta, nesterov):
    """Keras's SGD (m = mu * m - lr * g; w += m, or w += mu * m - lr * g) with g = 1."""
    w, m = 0.0, 0.0
    for lr, mu in zip(lrs, momenta):
        m = mu * m - lr
        w += mu * m - lr if nesterov else m
    return w


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_sgd_uses_the_scheduled_momentum_at_every_step(nesterov, steps_per_execution):
    steps = 12
    lr = OneCycle(0.1, total_steps=steps)
    momentum = lr.momentum_schedule(0.5, 0.99)  # a wide swing: a wrong step shows
    optimizer = keras.optimizers.SGD(lr, momentum=0.9, nesterov=nesterov)
    model = _unit_gradient_model(optimizer, steps_per_execution)
    x = np.ones((steps, 1), "float32")
    history = model.fit(x, x, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[MomentumScheduler(momentum)])
    assert model.jit_compile is True
    expected = _sgd_by_hand(schedule_values(lr, steps), schedule_values(momentum, steps), nesterov)
    assert float(_np(model.layers[0].kernel)[0, 0]) == pytest.approx(expected, rel=1e-5)
    # against the constant momentum the same run differs
    assert expected != pytest.approx(_sgd_by_hand(schedule_values(lr, steps), [0.9] * steps, nesterov), rel=1e-3)
    # the optimizer keeps (and saves) its own constant; the logged value is the next step's
    assert optimizer.momentum == 0.9 and optimizer.get_config()["momentum"] == 0.9
    assert "update_step" not in optimizer.__dict__
    assert history.history["momentum"] == [pytest.approx(0.99, abs=1e-6)]


def test_a_later_fit_without_the_callback_uses_the_constant_again():
    lr = 0.1
    schedule = OneCycleMomentum(total_steps=4, base_momentum=0.0, max_momentum=0.0)
    model = _unit_gradient_model(keras.optimizers.SGD(lr, momentum=0.9))
    x = np.ones((4, 1), "float32")
    model.fit(x, x, batch_size=1, shuffle=False, verbose=0, callbacks=[MomentumScheduler(schedule)])
    w = float(_np(model.layers[0].kernel)[0, 0])
    assert w == pytest.approx(-0.4, rel=1e-6)  # momentum 0: four plain steps
    momentum_buffer = float(_np(model.optimizer.momentums[0])[0, 0])
    model.fit(x[:1], x[:1], batch_size=1, verbose=0)
    assert float(_np(model.layers[0].kernel)[0, 0]) == pytest.approx(w + 0.9 * momentum_buffer - lr, rel=1e-6)


BETA_2 = 1.0 - 2.0**-10


def _torch_adam(x, y, w0, rates, momenta):
    """PyTorch's Adam with the learning rate and beta_1 of each step set by hand (as OneCycleLR
    sets them). beta_2 is a power of two away from 1: Keras rounds the constant through float32
    in its bias correction only, which alone moves a float64 run's weights by ~1e-6 with 0.999."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    w = torch.nn.Parameter(torch.tensor(w0))
    optimizer = torch.optim.Adam([w], betas=(0.9, BETA_2), eps=1e-12)
    for rate, momentum in zip(rates, momenta):
        optimizer.param_groups[0]["lr"] = float(rate)
        optimizer.param_groups[0]["betas"] = (float(momentum), BETA_2)
        optimizer.zero_grad()
        ((torch.tensor(x) @ w - torch.tensor(y)) ** 2).mean().backward()
        optimizer.step()
    return w.detach().numpy()


def test_adam_beta_1_follows_the_schedule_as_pytorch_adam_under_one_cycle_lr():
    # the schedules equal OneCycleLR's values (above); here Keras's Adam, given them through
    # MomentumScheduler, takes PyTorch Adam's steps with them (the bias corrections included)
    pytest.importorskip("torch")
    keras.config.set_floatx("float64")  # float64 losses and weights
    try:
        steps, rng = 40, np.random.default_rng(0)
        x, y, w0 = rng.normal(size=(32, 5)), rng.normal(size=(32, 3)), rng.normal(size=(5, 3))
        lr = OneCycle(0.05, total_steps=steps)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, use_bias=False)])
        model.layers[0].kernel.assign(w0)
        # Keras adds epsilon to sqrt(v) before the bias correction, PyTorch after: negligible here
        optimizer = keras.optimizers.Adam(lr, beta_1=0.9, beta_2=BETA_2, epsilon=1e-12)
        # through a wrapper: the innermost optimizer is driven
        model.compile(optimizer=Lookahead(optimizer, sync_period=1000), loss="mse", jit_compile=True)
        scheduler = MomentumScheduler(lr.momentum_schedule())
        model.fit(x, y, batch_size=32, epochs=steps, verbose=0, callbacks=[scheduler])
        weights = _np(model.layers[0].kernel)
    finally:
        keras.config.set_floatx("float32")
    rates, momenta = schedule_values(lr, steps), schedule_values(lr.momentum_schedule(), steps)
    # (to float32 rounding: the schedules' float32 values traced into XLA and evaluated here
    # differ in their last bit, ~1e-7 of the step; the weights are of order 1)
    np.testing.assert_allclose(weights, _torch_adam(x, y, w0, rates, momenta), rtol=0, atol=1e-6)
    # the cycle matters: the same run with a constant beta_1 ends elsewhere
    assert np.abs(weights - _torch_adam(x, y, w0, rates, [0.9] * steps)).max() > 1e-3
    assert optimizer.beta_1 == 0.9


def test_bad_arguments_and_unsupported_optimizers():
    with pytest.raises(ValueError, match="schedule"):
        MomentumScheduler(0.9)
    for kwargs, name in [
        ({"total_steps": 1}, "total_steps"),
        ({"total_steps": 10, "base_momentum": 1.5}, "base_momentum"),
        ({"total_steps": 10, "max_momentum": -0.1}, "max_momentum"),
        ({"total_steps": 10, "pct_start": 0.05}, "pct_start"),
        ({"total_steps": 10, "anneal_strategy": "cosine"}, "anneal_strategy"),
    ]:
        with pytest.raises(ValueError, match=name):
            OneCycleMomentum(**kwargs)
    x = np.ones((2, 1), "float32")
    schedule = OneCycleMomentum(total_steps=10)
    for optimizer, message in [
        (keras.optimizers.RMSprop(), "RMSprop"),
        (keras.optimizers.SGD(0.1), "momentum > 0"),
    ]:
        model = _unit_gradient_model(optimizer)
        with pytest.raises(ValueError, match=message):
            model.fit(x, x, verbose=0, callbacks=[MomentumScheduler(schedule)])
    assert math.isclose(float(schedule(0)), 0.95, rel_tol=1e-6)
