"""tf.distribute helpers: what kerasboost computes from a whole batch, it computes across replicas."""

from __future__ import annotations

import keras


def _replica_context():
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def replica_count() -> int:
    """The number of replicas when running inside a TensorFlow replica context, else 1."""
    context = _replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def cross_replica_sum(values) -> tuple[list, int]:
    """`(values summed over the replicas, replica count)` inside a TensorFlow replica context
    with several replicas (what Keras's own optimizer step all-reduces); else `(values, 1)`.
    `None` entries stay `None`."""
    values = list(values)
    context = _replica_context()
    if context is None:
        return values, 1
    import tensorflow as tf

    present = [i for i, v in enumerate(values) if v is not None]
    reduced = context.all_reduce(tf.distribute.ReduceOp.SUM, [values[i] for i in present])
    for i, v in zip(present, reduced):
        values[i] = v
    return values, context.num_replicas_in_sync
