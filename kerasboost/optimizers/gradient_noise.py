"""Annealed Gaussian gradient noise (Neelakantan et al. 2015)."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.wrapper import OptimizerWrapper
from kerasboost.utils import random
from kerasboost.utils.validation import check_number, check_seed


@kerasboost_export("kerasboost.optimizers.GradientNoise")
class GradientNoise(OptimizerWrapper):
    """Add annealed Gaussian noise to every gradient before the inner optimizer.

    At step `t` (the inner optimizer's step count, from 0) each gradient gets
    independent noise `N(0, sigma_t^2)` with

        sigma_t^2 = eta / (1 + t) ** gamma

    Neelakantan et al. found it helps very deep or poorly initialized networks
    escape plateaus and saddle points (eta in {0.01, 0.3, 1.0}, gamma = 0.55).
    The noise comes from a `keras.random.SeedGenerator` whose state is an
    optimizer variable: seeded runs reproduce, and a resumed run continues the
    same noise stream.

    Args:
        optimizer: the inner optimizer (instance, config or name).
        eta: float >= 0, the initial noise variance. Defaults to 0.01.
        gamma: float >= 0, the annealing exponent. Defaults to 0.55.
        seed: int or None.
        name: the optimizer's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> optimizer = kerasboost.optimizers.GradientNoise(keras.optimizers.SGD(0.01), eta=0.3, seed=0)

    ```

    References:
        - Neelakantan et al., 2015, "Adding Gradient Noise Improves Learning for
          Very Deep Networks", https://arxiv.org/abs/1511.06807
    """

    def __init__(
        self,
        optimizer: Any,
        eta: float = 0.01,
        gamma: float = 0.55,
        seed: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(optimizer, name=name, **kwargs)
        self.eta = check_number("eta", eta, low=0.0)
        self.gamma = check_number("gamma", gamma, low=0.0)
        self.seed = check_seed("seed", seed)

    def build_own(self, var_list):
        with keras.name_scope(self.name, caller=self):
            self._seed_generator = keras.random.SeedGenerator(self.seed, name="noise_seed")
        _keras.track_variable(self, self._seed_generator.state)

    def noise_stddev(self):
        """The noise standard deviation at the current step."""
        t = ops.cast(self.optimizer.iterations, "float32")
        return ops.sqrt(self.eta / ops.power(1.0 + t, self.gamma))

    def transform_gradients(self, grads, variables):
        # One draw for all gradients, cut into pieces: one random op per step, not one per
        # variable (the compile time of a deep model grew with every variable). The draw is a
        # branch of its own (skipped while the deviation is 0): XLA then computes the noise once
        # into a buffer, where it would otherwise fuse the generator into the update of every
        # variable and compile a copy of it per variable (the first fit on JAX took a third
        # longer; `python benchmarks/compile.py --only GradientNoise`). Cut with slices:
        # `ops.split` made the second `fit` on TensorFlow slower by a constant.
        present = [g for g in grads if g is not None]
        if not present:
            return grads
        sizes = [math.prod(int(d) for d in g.shape) for g in present]
        stddev = ops.cast(self.noise_stddev(), "float32")
        seed = random.draw(self._seed_generator)
        noise = ops.cond(
            stddev > 0.0,
            lambda: random.normal((sum(sizes),), "float32", seed) * stddev,
            lambda: ops.zeros((sum(sizes),), "float32"),
        )
        sizes, out, start = iter(sizes), [], 0
        for g in grads:
            if g is None:
                out.append(None)
                continue
            size = next(sizes)
            piece = ops.reshape(noise[start : start + size], g.shape)
            out.append(g + (piece if g.dtype == piece.dtype else ops.cast(piece, g.dtype)))
            start += size
        return out

    def get_config(self):
        config = super().get_config()
        config.update({"eta": self.eta, "gamma": self.gamma, "seed": self.seed})
        return config
