"""Full reductions (a whole tensor to a scalar) that XLA's CPU backend vectorizes."""

from __future__ import annotations

from keras import ops

LANES = 8


def lanes(x) -> list:
    """`x` flattened into an `(n // 8, 8)` block and, if `n % 8`, a `(1, n % 8)` tail.

    XLA's CPU backend compiles a reduction of a whole tensor to a scalar as a scalar loop;
    reducing the block over its first axis is vectorized (8 float32 lanes per AVX register),
    and the 8 lanes left are summed after (16 or more lanes measured slower). For a 216,586-parameter
    MLP the six statistics of `GradientStatistics` take 339 us this way vs 556 us as flat
    reductions (`python benchmarks/kernels.py --only statistics`, 2-core x86_64). On other
    backends and devices the reshape is free.
    """
    flat = ops.reshape(x, (-1,))
    n = int(flat.shape[0])
    body = n - n % LANES
    parts = [ops.reshape(flat[:body], (-1, LANES))] if body else []
    if n % LANES:
        parts.append(ops.reshape(flat[body:], (1, -1)))
    return parts


def total(parts, fn, reduce=ops.sum):
    """`reduce` (`ops.sum` or `ops.max`) of `fn(x)` over every element of `parts` (see `lanes`)."""
    values = [reduce(reduce(fn(p), axis=0)) for p in parts]
    if not values:
        return ops.zeros((), "float32")
    out = values[0]
    for v in values[1:]:
        out = ops.maximum(out, v) if reduce is ops.max else out + v
    return out


def squared_norm(x):
    """`sum(x ** 2)` over every element of `x`, as a scalar (vectorized; see `lanes`)."""
    return total(lanes(x), ops.square)


def norm(x):
    """The L2 (Frobenius) norm of `x` as a scalar (vectorized; see `lanes`)."""
    return ops.sqrt(squared_norm(x))
