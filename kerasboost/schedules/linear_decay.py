"""Linear decay to a final learning rate."""

from __future__ import annotations

from typing import Any

from kerasboost.api_export import kerasboost_export
from kerasboost.schedules._base import Schedule, as_step, linear_anneal, progress
from kerasboost.utils.validation import check_number


@kerasboost_export("kerasboost.schedules.LinearDecay")
class LinearDecay(Schedule):
    """Decay linearly from `initial_learning_rate` to `end_learning_rate`.

    `initial + (end - initial) * min(step / decay_steps, 1)`: the rate reaches
    `end_learning_rate` at `decay_steps` and stays there. The usual decay after
    warmup for fine-tuning (BERT) - wrap it: `Warmup(LinearDecay(...), 1000)`.

    Args:
        initial_learning_rate: float >= 0, the rate at step 0.
        decay_steps: int >= 1, the length of the decay.
        end_learning_rate: float >= 0, the final rate. Defaults to 0.0.

    Example:

    ```python
    >>> import kerasboost
    >>> lr = kerasboost.schedules.LinearDecay(1e-3, decay_steps=100)
    >>> round(float(lr(25)), 7), float(lr(500))
    (0.00075, 0.0)

    ```

    References:
        - Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding",
          https://arxiv.org/abs/1810.04805 (warmup then linear decay)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0,
    ) -> None:
        self.initial_learning_rate = check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        self.decay_steps = check_number("decay_steps", decay_steps, low=1, integer=True)
        self.end_learning_rate = check_number("end_learning_rate", end_learning_rate, low=0.0)

    def __call__(self, step: Any) -> Any:
        done, remaining = progress(as_step(step), 0.0, float(self.decay_steps))
        return linear_anneal(self.initial_learning_rate, self.end_learning_rate, done, remaining)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
        }
