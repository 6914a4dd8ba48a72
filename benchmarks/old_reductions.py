"""kerasboost 0.1's full reductions (whole tensors to scalars), kept as a baseline of kernels.py.

The package computed its per-variable norms this way until GradientStatistics and the wrappers
moved to the flat layout (`kerasboost.utils.flat`) and to plain reductions; `kernels.py` times
both forms side by side (`benchmarks/results/kernels.md`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from keras import ops

FOLD = 8


class Parts(NamedTuple):
    """A flattened tensor as `FOLD` equal contiguous slices (`slices`) and the `n % FOLD` entries
    after them (`tail`, `None` if there are none). Tensors under `FOLD * FOLD` entries are one
    slice."""

    slices: list
    tail: object


def split(x) -> Parts:
    """`x` flattened and cut into the `Parts` that `totals` reduces."""
    flat = ops.reshape(x, (-1,))
    n = int(flat.shape[0])
    if n < FOLD * FOLD:
        return Parts([flat], None)
    m = n // FOLD
    slices = [flat[i * m : (i + 1) * m] for i in range(FOLD)]
    return Parts(slices, flat[FOLD * m :] if n % FOLD else None)


def totals(tensors, sums=(), maxima=()):
    """Sums and maxima of elementwise functions of same-shaped `tensors`, in one pass.

    Each function in `sums` and `maxima` takes one slice of each tensor (in the order of
    `tensors`) and returns a float32 tensor of the same shape. Returns a float32 vector:
    the sum over all entries of each function in `sums`, then the max of each in `maxima`
    (0 for empty tensors).

    XLA's CPU backend runs a reduction of an elementwise function (`sum(g ** 2)`) to a
    scalar as a chain of strided reduce-windows, about 10x slower than the reduction of a
    plain buffer. Here every tensor is cut into `FOLD` contiguous slices (`split`), the
    functions of the slices are stacked and combined elementwise (one vectorized pass that
    reads each tensor once and writes `FOLD` times less), and only that is reduced (8 slices
    measured faster than 2, 4 or 16; `python benchmarks/kernels.py --only reductions`). On JAX
    and GPUs the slices are views that XLA fuses.
    """
    n_sums, functions = len(sums), [*sums, *maxima]
    if not functions:
        raise ValueError("totals needs at least one function in `sums` or `maxima`.")
    shapes = {tuple(int(d) for d in t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"totals needs tensors of one shape. Received shapes: {sorted(shapes)}")
    parts = [split(t) for t in tensors]
    if math.prod(shapes.pop()) == 0:
        return ops.zeros((len(functions),), "float32")

    def rows(*xs):
        return ops.stack([ops.cast(f(*xs), "float32") for f in functions])

    def combine(a, b):
        if not n_sums:
            return ops.maximum(a, b)
        if n_sums == len(functions):
            return a + b
        return ops.concatenate([a[:n_sums] + b[:n_sums], ops.maximum(a[n_sums:], b[n_sums:])], axis=0)

    values = [rows(*xs) for xs in zip(*(p.slices for p in parts))]
    while len(values) > 1:  # a balanced tree: FOLD = 8 slices combine in 3 levels
        paired = [combine(a, b) for a, b in zip(values[0::2], values[1::2])]
        values = paired + values[len(paired) * 2 :]

    def reduce(block):  # (functions, m) -> (functions,)
        pieces = [ops.sum(block[:n_sums], axis=1)] if n_sums else []
        if n_sums < len(functions):
            pieces.append(ops.max(block[n_sums:], axis=1))
        return pieces[0] if len(pieces) == 1 else ops.concatenate(pieces, axis=0)

    out = reduce(values[0])
    if parts[0].tail is not None:
        out = combine(out, reduce(rows(*(p.tail for p in parts))))
    return out


def squared_norm(x):
    """`sum(x ** 2)` over every entry of `x`, as a scalar (see `totals`)."""
    return totals([x], sums=(ops.square,))[0]


def norm(x):
    """The L2 (Frobenius) norm of `x` as a scalar (see `totals`)."""
    return ops.sqrt(squared_norm(x))
