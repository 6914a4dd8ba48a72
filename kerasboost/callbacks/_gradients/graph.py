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


# what `GradientStatistics(histograms=...)` can draw per layer
HISTOGRAM_KINDS = ("gradients", "weights", "updates")


def layer_histograms(layout: Layout, values, bins: int):
    """`((layers, bins), (layers, 2))`: the counts of each layer's finite entries of `values` in
    `bins` equal bins between the layer's smallest and largest entry, and those two edges
    (`tf.summary.histogram`'s buckets, computed per layer in a fixed number of ops: the bin of
    every entry, then one segment sum over layer x bin)."""
    v = layout.flat(values)
    columns = ops.arange(v.shape[1], dtype="int32")
    real = ops.expand_dims(columns, 0) < ops.expand_dims(ops.convert_to_tensor(layout.row_valid), 1)
    finite = ops.logical_and(ops.isfinite(v), real)
    lowest = ops.convert_to_tensor(float("inf"), v.dtype)
    high = layout.group_maxima(ops.max(ops.where(finite, v, -lowest), axis=1))
    low = -layout.group_maxima(ops.max(ops.where(finite, -v, -lowest), axis=1))
    empty = low > high  # a layer without a finite entry: edges (0, 0), no counts
    low, high = ops.where(empty, 0.0, low), ops.where(empty, 0.0, high)
    row_group = ops.convert_to_tensor(layout.row_group)
    row_low = ops.expand_dims(ops.take(low, row_group), 1)
    row_width = ops.expand_dims(ops.take(ops.maximum(high - low, 1e-30), row_group), 1)
    index = ops.clip(ops.floor((ops.where(finite, v, 0.0) - row_low) / row_width * bins), 0, bins - 1)
    segment = ops.expand_dims(row_group, 1) * bins + ops.cast(index, "int32")
    counts = ops.segment_sum(
        ops.reshape(ops.cast(finite, "float32"), (-1,)),
        ops.reshape(segment, (-1,)),
        num_segments=len(layout.layers) * bins,
    )
    return ops.reshape(counts, (len(layout.layers), bins)), ops.stack([low, high], axis=1)


def record_histograms(layout: Layout, every_n_steps: int, bins: int, kinds, step, grads, before, after, state):
    """The new histogram state `(counts, edges, steps, count)`: on every `every_n_steps`-th
    step, the per-layer histograms of `kinds` (`HISTOGRAM_KINDS`) written to the ring buffer,
    under a `cond`, so that the other steps pay nothing but the test."""
    counts, edges, steps, count = state
    record = ops.equal(ops.mod(step, every_n_steps), 0)

    def compute():
        sources = {
            "gradients": lambda: grads,
            "weights": lambda: after,
            "updates": lambda: [ops.cast(a, "float32") - ops.cast(b, "float32") for a, b in zip(after, before)],
        }
        made = [layer_histograms(layout, sources[kind](), bins) for kind in kinds]
        return ops.stack([c for c, _ in made]), ops.stack([e for _, e in made])

    def skip():
        return ops.zeros(counts.shape[1:], counts.dtype), ops.zeros(edges.shape[1:], edges.dtype)

    new_counts, new_edges = ops.cond(record, compute, skip)
    slot = ops.cast(ops.mod(count, counts.shape[0]), "int32")
    written = (
        ops.slice_update(counts, (slot, 0, 0, 0), ops.expand_dims(ops.cast(new_counts, counts.dtype), 0)),
        ops.slice_update(edges, (slot, 0, 0, 0), ops.expand_dims(ops.cast(new_edges, edges.dtype), 0)),
        ops.slice_update(steps, (slot,), ops.reshape(ops.cast(step, steps.dtype), (1,))),
    )
    return (
        *(ops.where(record, new, old) for new, old in zip(written, (counts, edges, steps))),
        count + ops.cast(record, count.dtype),
    )
