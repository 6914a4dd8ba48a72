"""Lookahead (Zhang et al. 2019)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers._base import slots
from kerasboost.optimizers.wrapper import OptimizerWrapper, run_if
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.optimizers.Lookahead")
class Lookahead(OptimizerWrapper):
    """Keep slow weights; every `sync_period` steps pull them towards the fast ones.

    The inner optimizer updates the ("fast") weights as usual. Every
    `sync_period` steps (when the inner optimizer's step count is a multiple of
    it) the slow weights move towards the fast ones and the fast weights jump
    back to them:

        slow <- slow + slow_step_size * (fast - slow);   fast <- slow

    The slow weights start as the weights at the first step. Lookahead reduces
    the variance of the inner optimizer and makes it robust to its
    hyperparameters (Zhang et al.); it composes with any Keras or kerasboost
    optimizer and wrapper, e.g. `Lookahead(RectifiedAdam())` ("Ranger").

    Args:
        optimizer: the inner optimizer (instance, config or name).
        sync_period: int >= 1 (`k` in the paper). Defaults to 6.
        slow_step_size: float in (0, 1] (`alpha`). Defaults to 0.5.
        name: the optimizer's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.Lookahead(keras.optimizers.AdamW(1e-3), sync_period=5)
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=optimizer, loss="mse")

    ```

    References:
        - Zhang, Lucas, Hinton & Ba, 2019, "Lookahead Optimizer: k steps forward,
          1 step back", https://arxiv.org/abs/1907.08610
    """

    def __init__(
        self, optimizer: Any, sync_period: int = 6, slow_step_size: float = 0.5, name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(optimizer, name=name, **kwargs)
        self.sync_period = check_number("sync_period", sync_period, low=1, integer=True)
        self.slow_step_size = check_number("slow_step_size", slow_step_size, low=0.0, high=1.0, low_inclusive=False)

    def build_own(self, var_list):
        self._slow_weights = slots(self, var_list, "slow")

    def apply_wrapped(self, grads, variables):
        slow_weights = [self._slow_weights[_keras.variable_index(self, fast)] for fast in variables]
        run_if(ops.equal(self.optimizer.iterations, 0), lambda: self._start(variables, slow_weights), slow_weights)
        self.apply_inner(grads, variables)
        run_if(
            ops.equal(self.optimizer.iterations % self.sync_period, 0),
            lambda: self._synchronize(variables, slow_weights),
            [*variables, *slow_weights],
        )

    @staticmethod
    def _start(variables, slow_weights):
        """The slow weights start as the weights at the first step."""
        for fast, slow in zip(variables, slow_weights):
            slow.assign(fast.value)

    def _synchronize(self, variables, slow_weights):
        """slow <- slow + alpha * (fast - slow); fast <- slow."""
        for fast, slow in zip(variables, slow_weights):
            # values, not Variables, in ops: JAX cannot trace a Variable inside a cond
            # (LossScaleOptimizer's stateless_apply runs this inside one)
            slow_value = slow.value
            pulled = slow_value + self.slow_step_size * (fast.value - slow_value)
            slow.assign(pulled)
            fast.assign(pulled)

    def get_config(self):
        config = super().get_config()
        config.update({"sync_period": self.sync_period, "slow_step_size": self.slow_step_size})
        return config
