"""DoG and L-DoG (Ivgi, Hinder & Carmon 2023): SGD with the step size distance over gradients."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import slots
from kerasboost.optimizers._step_size_free import StepSizeFreeOptimizer
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.optimizers.DoG")
class DoG(StepSizeFreeOptimizer):
    """SGD with the step size "distance over gradients" (DoG).

    `x_{t+1} = x_t - eta_t g_t` with
    `eta_t = lr * max_{i <= t} ||x_i - x_0|| / sqrt(sum_{i <= t} ||g_i||^2 + epsilon)`,
    the maximum starting at `reps_rel * (1 + ||x_0||)` (the first step's
    distance). No learning rate to tune: leave `learning_rate` at 1.0. The
    paper's results average the iterates (polynomial-decay averaging); Keras's
    `use_ema=True` (an exponential average) or kerasboost's
    `StochasticWeightAveraging` give an average to evaluate.

    The trajectory equals the reference implementation's (`dog-optimizer`
    1.0.3) to float32 rounding (tests/optimizers/test_step_size_free.py).
    `optimizer.eta` and `optimizer.step_size` hold the step size, logged by
    `LearningRateLogger`. Under a multi-replica `tf.distribute` strategy it
    raises.

    Args:
        learning_rate: float or schedule, a multiplier of the step size.
            Defaults to 1.0.
        reps_rel: float > 0, the first step's relative distance: 1e-6, or 1e-4
            for a network with batch normalization (the authors' advice).
            Defaults to 1e-6.
        weight_decay: float >= 0, an L2 term added to the gradient. Defaults
            to 0.
        epsilon: float >= 0, added to the first sum of squared gradients.
            Defaults to 1e-8.
        initial_eta: float > 0 or None, the first step size, in place of the
            one `reps_rel` gives. Defaults to None.
        **kwargs: clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name: as for every Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.DoG(use_ema=True), loss="mse")

    ```

    References:
        - Ivgi, Hinder & Carmon, 2023, "DoG is SGD's Best Friend: A
          Parameter-Free Dynamic Step Size Schedule", ICML,
          https://arxiv.org/abs/2302.12022
    """

    layerwise = False

    def __init__(
        self,
        learning_rate: Any = 1.0,
        reps_rel: float = 1e-6,
        weight_decay: float = 0.0,
        epsilon: float = 1e-8,
        initial_eta: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay, **kwargs)
        self.reps_rel = check_number("reps_rel", reps_rel, low=0.0, low_inclusive=False)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.initial_eta = check_number("initial_eta", initial_eta, low=0.0, low_inclusive=False, allow_none=True)

    def build_state(self, var_list):
        shape = (len(var_list),) if self.layerwise else ()
        self.rbar = self.scalar("rbar", shape=shape)
        self.sum_squares = self.scalar("sum_squares", shape=shape)
        self.eta = self.scalar("eta", shape=shape)
        self._initial = slots(self, var_list, "initial")

    @property
    def step_size(self):
        return ops.max(self.eta) if self.layerwise else ops.convert_to_tensor(self.eta)

    def step(self, grads, variables, learning_rate):
        first = ops.equal(self.updates, 0.0)
        indices, norms, distances, squares, gs = [], [], [], [], []
        for gradient, variable in zip(grads, variables):
            i = self.index(variable)
            x = ops.convert_to_tensor(variable)
            g = ops.cast(gradient, variable.dtype)
            if self.decay:
                g = g + self.decay * x
            initial = ops.where(first, x, ops.convert_to_tensor(self._initial[i]))
            self.assign(self._initial[i], initial)
            norms.append(self.total(ops.square(x)))
            distances.append(self.total(ops.square(x - initial)))
            squares.append(self.total(ops.square(g)))
            indices.append(i)
            gs.append(g)
        if self.layerwise:
            n = self.eta.shape[0]
            at = {i: j for j, i in enumerate(indices)}

            def vector(values, old):
                # one entry per variable the optimizer was built for; those without a gradient keep theirs
                return ops.stack([values[at[p]] if p in at else old[p] for p in range(n)])

            norm = vector([ops.sqrt(v) for v in norms], ops.zeros((n,), self.state_dtype))
            distance = vector([ops.sqrt(v) for v in distances], ops.convert_to_tensor(self.rbar))
            square = vector(squares, ops.zeros((n,), self.state_dtype))
            present = ops.convert_to_tensor([p in at for p in range(n)])
        else:
            norm, distance, square = ops.sqrt(sum(norms)), ops.sqrt(sum(distances)), sum(squares)
            present = True
        start = self.reps_rel * (1.0 + norm) if self.initial_eta is None else ops.zeros_like(norm)
        rbar = ops.where(first, start, ops.maximum(ops.convert_to_tensor(self.rbar), distance))
        sum_squares = ops.where(first, square + self.epsilon, ops.convert_to_tensor(self.sum_squares) + square)
        eta = learning_rate * rbar / ops.sqrt(sum_squares)
        if self.initial_eta is not None:
            eta = ops.where(first, self.initial_eta, eta)
        self.assign(self.rbar, ops.where(present, rbar, ops.convert_to_tensor(self.rbar)))
        self.assign(self.sum_squares, ops.where(present, sum_squares, ops.convert_to_tensor(self.sum_squares)))
        self.assign(self.eta, ops.where(present, eta, ops.convert_to_tensor(self.eta)))
        for i, variable, g in zip(indices, variables, gs):
            step = eta[i] if self.layerwise else eta
            self.assign_sub(variable, ops.cast(step, variable.dtype) * g)
        self.assign_add(self.updates, 1.0)

    def get_config(self):
        config = super().get_config()
        config.update({"reps_rel": self.reps_rel, "epsilon": self.epsilon, "initial_eta": self.initial_eta})
        return config


@kerasboost_export("kerasboost.optimizers.LDoG")
class LDoG(DoG):
    """DoG with one step size per variable (layer-wise DoG, L-DoG).

    Each variable `x` steps by `eta = lr * max_i ||x_i - x_0|| / sqrt(sum_i ||g_i||^2 + epsilon)`
    of its own, the maximum starting at `reps_rel * (1 + ||x_0||)`. Equal to the
    reference implementation's `LDoG` (`dog-optimizer` 1.0.3) to float32
    rounding. `optimizer.eta` holds one step size per variable (in the order
    the optimizer was built for); `optimizer.step_size` is the largest.

    Args:
        learning_rate: float or schedule, a multiplier of the step sizes.
            Defaults to 1.0.
        reps_rel: float > 0, the first step's relative distance. Defaults to
            1e-6.
        weight_decay: float >= 0, an L2 term added to the gradient. Defaults
            to 0.
        epsilon: float >= 0, added to the first sums of squared gradients.
            Defaults to 1e-8.
        initial_eta: float > 0 or None, the first step size of every variable.
            Defaults to None.
        **kwargs: as for every Keras optimizer.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=kerasboost.optimizers.LDoG(), loss="mse")

    ```

    References:
        - Ivgi, Hinder & Carmon, 2023, "DoG is SGD's Best Friend: A
          Parameter-Free Dynamic Step Size Schedule", ICML,
          https://arxiv.org/abs/2302.12022
    """

    layerwise = True
