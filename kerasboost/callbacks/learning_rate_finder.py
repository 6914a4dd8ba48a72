"""The learning-rate range test (Smith 2017), with the model and optimizer restored afterwards."""

from __future__ import annotations

import math

import keras
import numpy as np

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.diagnostics.figures import figure_and_axes
from kerasboost.optimizers.wrapper import without_loss_scaling
from kerasboost.utils.validation import check_number, fail


def suggestions(learning_rates, losses) -> dict[str, float]:
    """`minimum/10`, `steep` and `valley` learning rates from a smoothed range-test curve."""
    lrs, losses = np.asarray(learning_rates, "float64"), np.asarray(losses, "float64")
    if len(lrs) < 3:
        raise ValueError(f"The range test needs at least 3 recorded steps. Received: {len(lrs)} steps")
    result = {"minimum/10": float(lrs[int(np.argmin(losses))] / 10)}
    slope = np.gradient(losses, np.log(lrs))
    result["steep"] = float(lrs[int(np.argmin(slope))])
    # valley: the rate at which the loss has made half of its descent, from the start of the
    # sweep to its minimum (inside the steep part of the curve, before the minimum)
    lowest = int(np.argmin(losses))
    half = losses[0] - 0.5 * (losses[0] - losses[lowest])
    result["valley"] = float(lrs[int(np.argmax(losses[: lowest + 1] <= half))])
    return result


@kerasboost_export("kerasboost.callbacks.LearningRateFinder", register=False)
class LearningRateFinder(keras.callbacks.Callback):
    """Sweep the learning rate exponentially over `num_steps` batches and record the loss.

    Pass it to a `fit` with at least `num_steps` batches (epochs may be
    several). Batch `k` runs with `lr_k = min_lr * (max_lr / min_lr) ** (k / (num_steps - 1))`.
    The loss of each batch is recovered from Keras's running mean in `logs`
    (`L_k = (k+1) M_k - k M_(k-1)` within an epoch) and smoothed with a
    bias-corrected exponential moving average (`smoothing`); the sweep stops
    when the smoothed loss exceeds `divergence_factor` times its minimum or
    is not finite. When training ends, the weights, **every optimizer
    variable** (slots, step count) and the learning rate are restored, so the
    model is exactly as before the test.

    Results: `learning_rates`, `losses` (raw) and `smoothed_losses`;
    `suggestions()` returns `minimum/10` (a tenth of the rate at the lowest
    loss), `steep` (the steepest descent in log-lr) and `valley` (the rate at
    which the loss has made half of its descent from the start of the sweep
    to its minimum; fastai's "valley" is defined differently, by the longest
    decreasing stretch, which plateau noise can drag to small rates);
    `plot()` draws the curve with them. Then train with, e.g., `OneCycle(maximal_learning_rate=valley)`.
    The optimizer must hold a float learning rate (compile a copy of your
    optimizer without its schedule for the test).

    Args:
        min_lr: float > 0. Defaults to `1e-7`.
        max_lr: float > `min_lr`. Defaults to `10.0`.
        num_steps: int >= 3, batches in the sweep. Defaults to `100`.
        smoothing: float in [0, 1), the EMA factor. Defaults to `0.98`.
        divergence_factor: float > 1. Defaults to `4.0`.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> x = np.random.default_rng(0).normal(size=(640, 8)).astype("float32")
    >>> y = x @ np.ones((8, 1), "float32")
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    >>> model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    >>> before = model.get_weights()
    >>> finder = kerasboost.callbacks.LearningRateFinder(1e-5, 1.0, num_steps=40)
    >>> _ = model.fit(x, y, batch_size=16, epochs=1, callbacks=[finder], verbose=0)
    >>> all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    True
    >>> sorted(finder.suggestions())
    ['minimum/10', 'steep', 'valley']

    ```

    References:
        - Smith, 2017, "Cyclical Learning Rates for Training Neural Networks",
          https://arxiv.org/abs/1506.01186 (the range test)
        - Smith & Topin, 2018, "Super-Convergence: Very Fast Training of Neural
          Networks Using Large Learning Rates", https://arxiv.org/abs/1708.07120
    """

    def __init__(
        self,
        min_lr: float = 1e-7,
        max_lr: float = 10.0,
        num_steps: int = 100,
        smoothing: float = 0.98,
        divergence_factor: float = 4.0,
    ) -> None:
        super().__init__()
        self.min_lr = check_number("min_lr", min_lr, low=0.0, low_inclusive=False)
        self.max_lr = check_number("max_lr", max_lr, low=0.0, low_inclusive=False)
        if self.max_lr <= self.min_lr:
            raise fail("max_lr", f"a number > min_lr={self.min_lr!r}", max_lr)
        self.num_steps = check_number("num_steps", num_steps, low=3, integer=True)
        self.smoothing = check_number("smoothing", smoothing, low=0.0, high=1.0, high_inclusive=False)
        self.divergence_factor = check_number("divergence_factor", divergence_factor, low=1.0, low_inclusive=False)

    def _lr(self, k: int) -> float:
        return self.min_lr * (self.max_lr / self.min_lr) ** (k / (self.num_steps - 1))

    def _optimizer(self):
        target = without_loss_scaling(self.model.optimizer)
        rate = _keras.learning_rate_value(target)
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) or not hasattr(rate, "assign"):
            raise ValueError(
                "LearningRateFinder needs an optimizer with a float learning rate (compile a copy of "
                f"the optimizer without its schedule). Received: learning_rate={rate!r}"
            )
        return target

    def _sync(self):
        """JAX's fit keeps the state outside the variables mid-epoch: write it back, and make the
        next step read the variables again (so that the new learning rate is seen)."""
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def on_train_begin(self, logs=None):
        optimizer = self._optimizer()
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self._weights = [np.array(w) for w in self.model.get_weights()]
        self._optimizer_state = [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.optimizer.variables]
        self._initial_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self.learning_rates, self.losses, self.smoothed_losses = [], [], []
        self._step, self._avg, self._best, self._previous_mean = 0, 0.0, math.inf, None

    def on_epoch_begin(self, epoch, logs=None):
        self._previous_mean, self._batch_in_epoch = None, 0

    def on_train_batch_begin(self, batch, logs=None):
        self._sync()
        self._optimizer().learning_rate.assign(self._lr(self._step))

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {}).get("loss", math.nan))
        k = self._batch_in_epoch
        loss = mean if self._previous_mean is None else (k + 1) * mean - k * self._previous_mean
        self._previous_mean, self._batch_in_epoch = mean, k + 1
        self.learning_rates.append(self._lr(self._step))
        self.losses.append(loss)
        self._step += 1
        if not math.isfinite(loss):
            self.model.stop_training = True
            return
        self._avg = self.smoothing * self._avg + (1 - self.smoothing) * loss
        smoothed = self._avg / (1 - self.smoothing**self._step)
        self.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if smoothed > self.divergence_factor * self._best or self._step >= self.num_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._sync()
        self.model.set_weights(self._weights)
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_state):
            variable.assign(value)
        self._optimizer().learning_rate.assign(self._initial_lr)
        n = len(self.smoothed_losses)
        self.learning_rates, self.losses = self.learning_rates[:n], self.losses[:n]

    def suggestions(self) -> dict[str, float]:
        """`{"minimum/10": ..., "steep": ..., "valley": ...}` from the smoothed curve."""
        return suggestions(self.learning_rates, self.smoothed_losses)

    def plot(self, path: str | None = None, ax=None):
        """The smoothed loss against the learning rate (log scale), with the suggestions."""
        fig, ax = figure_and_axes(ax, (7, 4))
        ax.plot(self.learning_rates, self.smoothed_losses, color="tab:blue")
        for (name, lr), colour in zip(self.suggestions().items(), ("tab:green", "tab:orange", "tab:red")):
            ax.axvline(lr, color=colour, linestyle="--", label=f"{name}: {lr:.2e}")
        ax.set_xscale("log")
        ax.set_title("learning-rate range test")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        ax.legend()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig
