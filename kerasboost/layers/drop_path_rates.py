"""The linear rule for stochastic-depth drop rates (Huang et al. 2016)."""

from __future__ import annotations

from kerasboost.api_export import kerasboost_export
from kerasboost.layers._base import check_rate
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.layers.drop_path_rates", register=False)
def drop_path_rates(n_blocks: int, max_rate: float) -> list[float]:
    """Drop rates rising linearly with depth: block `l` of `L` gets `max_rate * l / L`.

    Huang et al.'s linear decay rule: the survival probability falls from
    (nearly) 1 for the first block to `1 - max_rate` for the last (they use
    `max_rate = 0.5`), because early blocks extract features every later
    block needs. Pass each rate to the block's `StochasticDepth` or
    `DropPath`.

    Args:
        n_blocks: int >= 1, the number of residual blocks `L`.
        max_rate: float in [0, 1), the last block's drop rate.

    Returns:
        A list of `n_blocks` floats.

    Example:

    ```python
    >>> import kerasboost
    >>> kerasboost.layers.drop_path_rates(4, 0.5)
    [0.125, 0.25, 0.375, 0.5]

    ```

    References:
        - Huang, Sun, Liu, Sedra & Weinberger, 2016, "Deep Networks with
          Stochastic Depth", https://arxiv.org/abs/1603.09382 (Eq. 4)
    """
    n_blocks = check_number("n_blocks", n_blocks, low=1, integer=True)
    max_rate = check_rate("max_rate", max_rate)
    return [max_rate * (block + 1) / n_blocks for block in range(n_blocks)]
