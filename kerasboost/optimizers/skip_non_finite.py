"""Skip optimizer steps whose gradients are not finite."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper, all_finite, cond_skips_work, run_if


@kerasboost_export("kerasboost.optimizers.SkipNonFinite")
class SkipNonFinite(OptimizerWrapper):
    """A step whose gradients hold a NaN or Inf changes nothing, and is counted.

    If every gradient entry is finite the inner optimizer steps as usual;
    otherwise no weight and no optimizer variable changes (the inner
    optimizer's step count included, so schedules do not advance) and
    `skipped_steps` - a variable you can read, e.g. from a callback - grows by
    one. A single bad batch (a corrupt sample, an overflow) then costs one
    step instead of the whole run. (Under mixed precision, Keras's
    `LossScaleOptimizer` already skips overflowing steps to rescale; this
    wrapper is for every other source of non-finite gradients.)

    On TensorFlow the inner step runs under a `cond` and a skipped step costs
    only the finiteness test. On JAX (and across `tf.distribute` replicas),
    which cannot assign variables inside a cond, the inner step runs on zeroed
    gradients and every variable is restored with `where` when the step was not
    finite; both trace under XLA.

    Args:
        optimizer: the inner optimizer (instance, config or name).
        name: the optimizer's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.SkipNonFinite(keras.optimizers.Adam(1e-3))
    >>> # after fit: int(optimizer.skipped_steps) is the number of steps skipped

    ```

    References:
        - Micikevicius et al., 2018, "Mixed Precision Training",
          https://arxiv.org/abs/1710.03740 (skipping steps with non-finite
          gradients, there for loss scaling)
    """

    def __init__(self, optimizer: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(optimizer, name=name, **kwargs)

    def build_own(self, var_list):
        self.skipped_steps = self.add_variable((), initializer="zeros", dtype="int", name="skipped_steps")

    def apply_wrapped(self, grads, variables):
        finite = all_finite(grads)
        # where the inner step runs unconditionally (see `run_if`), it must not see a NaN
        safe = (
            [None if g is None else ops.where(finite, g, ops.zeros_like(g)) for g in grads]
            if not cond_skips_work()
            else grads
        )
        run_if(finite, lambda: self.apply_inner(safe, variables), [*variables, *self.optimizer.variables])
        self.skipped_steps.assign_add(ops.cast(ops.logical_not(finite), self.skipped_steps.dtype))
