"""Inverse square-root decay with linear warmup (Vaswani et al. 2017)."""

from __future__ import annotations

from typing import Any

from keras import ops

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.schedules.InverseSqrtDecay")
class InverseSqrtDecay(Schedule):
    """Linear warmup, then decay proportional to `1 / sqrt(step)`.

    With `n = step + 1` (the Transformer paper counts steps from 1):

        learning_rate = scale * min(n ** -0.5, n * warmup_steps ** -1.5)

    and, with `warmup_steps=0`, `scale * n ** -0.5`. The peak,
    `scale / sqrt(warmup_steps)`, is reached at `n = warmup_steps`. The
    Transformer's schedule is `scale = d_model ** -0.5`, `warmup_steps=4000`.

    Args:
        scale: float > 0, the multiplier (the rate at step 0 without warmup).
        warmup_steps: int >= 0, the length of the linear warmup. Defaults to 0.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.InverseSqrtDecay(scale=512 ** -0.5, warmup_steps=4000)
    >>> round(float(lr(3999)), 7)  # the peak: 512 ** -0.5 * 4000 ** -0.5
    0.0006988

    ```

    References:
        - Vaswani et al., 2017, "Attention Is All You Need",
          https://arxiv.org/abs/1706.03762 (Section 5.3)
    """

    def __init__(self, scale: float, warmup_steps: int = 0) -> None:
        self.scale = check_number("scale", scale, low=0.0, low_inclusive=False)
        self.warmup_steps = check_number("warmup_steps", warmup_steps, low=0, integer=True)

    def __call__(self, step: Any) -> Any:
        n = as_step(step) + 1.0
        decay = ops.rsqrt(n)
        if self.warmup_steps > 0:
            decay = ops.minimum(decay, n * self.warmup_steps**-1.5)
        return self.scale * decay

    def get_config(self) -> dict:
        return {"scale": self.scale, "warmup_steps": self.warmup_steps}
