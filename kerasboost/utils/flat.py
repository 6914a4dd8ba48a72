"""Many tensors as one flat block matrix: per-tensor (or per-group) reductions in a fixed number of ops.

Work done per variable inside a compiled step (a norm, a finiteness test, a statistic) written as
one chain of ops per variable makes XLA's compile time grow with the number of variables: a
150-layer model compiles hundreds of small reductions. `FlatLayout` lays the tensors end to
end instead, each padded with zeros to a whole number of `BLOCK`-entry rows, and views them as
one `(blocks, BLOCK)` matrix: a statistic is then one row reduction plus one segment reduction
of the rows onto their tensors or groups, whatever the number of tensors. The per-tensor work
left is a reshape and a pad, which XLA folds into the concatenation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

# entries per row: a multiple of the vector width; small enough that padding small variables
# (biases, gains) costs little, large enough that the segment reduction has few rows
BLOCK = 128


@functools.cache
def _on_cpu() -> bool:
    """Whether the backend computes on the CPU (no GPU or TPU device)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() == "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    return True


class FlatLayout:
    """How tensors of the given `shapes` map onto a `(blocks, BLOCK)` matrix, and its rows onto
    `groups` (one group id per tensor, from 0; default: each tensor its own group).

    Everything here is static (NumPy, computed once): tensors are laid out group by group (in
    the order of their group ids, stably), so each group's rows are contiguous.
    """

    def __init__(self, shapes: Sequence[Sequence[int]], groups: Sequence[int] | None = None) -> None:
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        group = np.arange(len(self.shapes)) if groups is None else np.asarray(groups, "int64")
        self.groups = int(group.max()) + 1 if len(group) else 0
        self.order = [int(i) for i in np.argsort(group, kind="stable")]
        sizes = np.array([int(np.prod(s)) for s in self.shapes], "int64")
        rows = np.maximum(1, -(-sizes // BLOCK))
        self.sizes = [int(sizes[i]) for i in self.order]
        self.padding = [int(rows[i] * BLOCK - sizes[i]) for i in self.order]
        self.blocks = int(rows.sum())
        self.row_group = np.repeat(group[self.order], rows[self.order]).astype("int32")
        self.group_sizes = np.bincount(group, weights=sizes, minlength=self.groups)
        self.group_padding = np.bincount(group, weights=rows * BLOCK - sizes, minlength=self.groups).astype("float32")
        # entries of each row that belong to a tensor (the rest is padding): BLOCK but in the
        # last row of each tensor
        valid = [np.full(rows[i], BLOCK, "int32") for i in self.order]
        for v, pad in zip(valid, self.padding):
            v[-1] -= pad
        self.row_valid = np.concatenate(valid) if valid else np.zeros((0,), "int32")

    def flat(self, tensors, dtype: str = "float32"):
        """`tensors` (one per shape, in the given order; `None`: zeros) as the `(blocks, BLOCK)`
        matrix, padded with zeros."""
        pieces = []
        for i, size, pad in zip(self.order, self.sizes, self.padding):
            t = tensors[i]
            if t is None:
                pieces.append(ops.zeros((size + pad,), dtype))
                continue
            t = ops.reshape(ops.cast(t, dtype), (-1,))
            pieces.append(ops.pad(t, [(0, pad)]) if pad else t)
        return ops.reshape(ops.concatenate(pieces, axis=0), (self.blocks, BLOCK))

    def row_sums(self, values):
        """`(blocks, k)`: the row sums of each of the `k` `(blocks, BLOCK)` matrices in `values`.

        On CPUs, one matrix-vector product with a vector of ones over the `k` matrices
        stacked: XLA's CPU backend runs it as a plain dot over the materialized values, where a
        sum over a row of an elementwise function (`sum(g ** 2, axis=1)`) compiles to a much
        slower loop. Elsewhere (GPUs, whose float32 dots may round through TF32) a plain row
        sum, which XLA fuses.
        """
        if not _on_cpu():
            return ops.stack([ops.sum(v, axis=1) for v in values], axis=1)
        stacked = ops.reshape(ops.stack(values, axis=0), (-1, BLOCK))
        sums = ops.matmul(stacked, ops.ones((BLOCK, 1), stacked.dtype))
        return ops.transpose(ops.reshape(sums, (len(values), self.blocks)))

    def group_sums(self, rows):
        """Row values `(blocks, ...)` summed per group: `(groups, ...)`."""
        return ops.segment_sum(rows, ops.convert_to_tensor(self.row_group), num_segments=self.groups)

    def group_maxima(self, rows):
        """Row values `(blocks, ...)` maximized per group: `(groups, ...)`."""
        return ops.segment_max(rows, ops.convert_to_tensor(self.row_group), num_segments=self.groups)


def all_finite(tensors):
    """A boolean scalar: every entry of every tensor (`None` skipped) is finite, in one pass."""
    present = [t for t in tensors if t is not None]
    if not present:
        return ops.convert_to_tensor(True)
    layout = FlatLayout([t.shape for t in present])
    # a NaN or Inf anywhere makes the sum of `x * 0` NaN: one product, no boolean reduction
    return ops.isfinite(ops.sum(layout.row_sums([layout.flat(present) * 0.0])))
