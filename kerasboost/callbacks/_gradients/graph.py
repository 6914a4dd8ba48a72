"""The in-graph part of GradientStatistics: per-layer statistics of one step, in a fixed number of ops.

All gradients (and the weights before and after the update) are laid end to end as one
`(blocks, BLOCK)` matrix (`kerasboost.utils.flat`), the variables grouped by layer. Every
statistic is one row reduction of that matrix followed by one segment reduction of the rows
onto their layers (`ops.segment_sum` / `ops.segment_max`).
The compiled graph therefore has a reshape and a pad per variable (which XLA folds into the
concatenation) and a fixed number of reductions, whatever the number of variables, where one
chain of reductions per variable made the compile time grow with every layer.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasboost.utils.flat import FlatLayout

# the statistics of one layer, in the order of a buffer row
FIELDS = ("grad_norm", "grad_max", "zeros", "nonfinite", "update_norm", "weight_norm")
G_NORM, G_MAX, ZEROS, NONFINITE, DW_NORM, W_NORM = range(len(FIELDS))


def layer_of(variable) -> str:
    """The layer a variable belongs to: its path without the last component."""
    path = getattr(variable, "path", variable.name)
    return path.rsplit("/", 1)[0] if "/" in path else path


def layer_owners(model) -> dict[int, str]:
    """`id(variable) -> layer path` for the trainable variables of `model` held by a wrapper layer
    (`keras.layers.Wrapper`: `WeightNormalization` around a `Conv2D`, `Bidirectional`, ...), so
    that a wrapper and what it wraps count as one layer; nested models are opened. Other
    variables are left to `layer_of`."""
    owners: dict[int, str] = {}

    def visit(container) -> None:
        for layer in getattr(container, "layers", []):
            if isinstance(layer, keras.Model):
                visit(layer)
            elif isinstance(layer, keras.layers.Wrapper):
                for v in layer.trainable_variables:
                    owners.setdefault(id(v), getattr(layer, "path", None) or layer.name)

    visit(model)
    return owners


class Layout(FlatLayout):
    """The trainable variables as one flat block matrix, grouped by layer (input side first);
    `owners` (`layer_owners`) names each variable's layer, else its path's parent does."""

    def __init__(self, variables, owners: dict[int, str] | None = None) -> None:
        self.variables = list(variables)
        owners = owners or {}
        names = [owners.get(id(v)) or layer_of(v) for v in self.variables]
        self.layers = list(dict.fromkeys(names))  # first-appearance order: input side first
        super().__init__([v.shape for v in self.variables], [self.layers.index(n) for n in names])
        self.layer_sizes = self.group_sizes


def gradient_columns(layout: Layout, grads):
    """`(layers, 4)`: grad_norm, grad_max, zeros, nonfinite of each layer (NaN/Inf entries left
    out of the norm and the max, and counted)."""
    g = layout.flat(grads)
    finite = ops.isfinite(g)
    safe = ops.where(finite, g, 0.0)
    sums = layout.row_sums(
        [ops.square(safe), ops.cast(ops.equal(g, 0.0), "float32"), ops.cast(ops.logical_not(finite), "float32")]
    )
    sums = layout.group_sums(sums)
    top = layout.group_maxima(ops.max(ops.abs(safe), axis=1))
    zeros = sums[:, 1] - ops.convert_to_tensor(layout.group_padding)  # the padding is not the model's
    return ops.stack([ops.sqrt(sums[:, 0]), top, zeros, sums[:, 2]], axis=1)


def update_columns(layout: Layout, before, after):
    """`(layers, 2)`: update_norm `||w_new - w_old||` and weight_norm `||w_old||` of each layer."""
    a, b = layout.flat(before), layout.flat(after)
    return ops.sqrt(layout.group_sums(layout.row_sums([ops.square(b - a), ops.square(a)])))


def step_statistics(layout: Layout, grads, before, after, record, every_n_steps: int):
    """`(layers, 6)`: this step's statistics, `FIELDS` in order.

    With `every_n_steps > 1` the gradient statistics run under a `cond` on `record` (zeros on
    the other steps); the update statistics never do: a branch that reads the pre-update
    weights makes XLA keep a full copy of them every step.
    """
    updates = update_columns(layout, before, after)
    if every_n_steps == 1:
        gradients = gradient_columns(layout, grads)
    else:
        gradients = ops.cond(
            record,
            lambda: gradient_columns(layout, grads),
            lambda: ops.zeros((len(layout.layers), DW_NORM), "float32"),
        )
    return ops.concatenate([gradients, updates], axis=1)


def record_step(
    layout: Layout, every_n_steps: int, step, grads, before, after, buffer, steps, count, statistics=step_statistics
):
    """The new `(buffer, steps, count)`: this step's `statistics` (a function with the signature
    of `step_statistics`) written to the ring buffer if the step is recorded (every
    `every_n_steps`-th optimizer iteration)."""
    record = ops.equal(ops.mod(step, every_n_steps), 0)
    stats = statistics(layout, grads, before, after, record, every_n_steps)
    slot = ops.cast(ops.mod(count, buffer.shape[0]), "int32")
    new_buffer = ops.slice_update(buffer, (slot, 0, 0), ops.expand_dims(ops.cast(stats, buffer.dtype), 0))
    new_steps = ops.slice_update(steps, (slot,), ops.reshape(ops.cast(step, steps.dtype), (1,)))
    return (
        ops.where(record, new_buffer, buffer),
        ops.where(record, new_steps, steps),
        count + ops.cast(record, count.dtype),
    )
