"""Shared pieces of the kerasboost learning-rate schedules."""

from __future__ import annotations

import copy
import functools
import math
import numbers
import weakref
from collections.abc import Callable
from typing import Any, TypeAlias

import keras
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule

from kerasboost.utils.validation import check_number, fail

#: A learning rate: a constant or any `LearningRateSchedule` (Keras's or ours).
ScheduleLike: TypeAlias = "float | LearningRateSchedule"


# schedule -> {graph being traced -> {id(step): (step, ops in the graph then, value)}}
_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ASSIGNS = frozenset({"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})


def _tracing_graph() -> Any:
    """The graph TensorFlow is tracing now (a `tf.function`, Keras's compiled steps), else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf  # the backend in use: already imported

    return None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()


def _counter_assigned(graph: Any, since: int) -> bool:
    """Whether an integer variable (the optimizer's step counter among them) was assigned in
    `graph` after its first `since` ops."""
    return any(
        op.type in _ASSIGNS and len(op.inputs) > 1 and op.inputs[1].dtype.is_integer
        for op in graph.get_operations()[since:]
    )


def _once_per_graph(call: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`call` (a schedule's `__call__`), traced once per step in each TensorFlow graph: a call
    with the same step object in the same graph returns the first call's tensor, unless an
    integer variable (the step counter) was assigned in between. Keras evaluates
    `optimizer.learning_rate` once per variable in the weight decay of AdamW and the like, so a
    schedule of some 150 ops (`Warmup(OneCycle(...))`) was traced again for each of a model's
    variables: the first `fit` of a 68-variable MLP under AdamW took 20.4 s with it and 6.7 s
    with a float rate (2-core CPU, without XLA). The value is the same: within one step the
    counter does not change. Eager calls and the other backends call `call` each time."""

    @functools.wraps(call)
    def wrapper(self: Any, step: Any) -> Any:
        graph = _tracing_graph()
        if graph is None or isinstance(step, (int, float)):
            return call(self, step)
        entries = _TRACED.setdefault(self, weakref.WeakKeyDictionary()).setdefault(graph, {})
        hit = entries.get(id(step))
        if hit is not None and hit[0] is step and not _counter_assigned(graph, hit[1]):
            return hit[2]
        value = call(self, step)
        entries[id(step)] = (step, len(graph.get_operations()), value)
        return value

    wrapper._kerasboost_once_per_graph = True  # type: ignore[attr-defined]
    return wrapper


class Schedule(LearningRateSchedule):
    """Base class: `from_config` is `cls(**config)`; nested schedules in a
    config (serialized dicts) are turned back into objects by `__init__`
    through `as_schedule`, so no schedule needs its own `from_config`.

    Under TensorFlow a subclass's `__call__` is traced once per step and graph
    (`_once_per_graph`): Keras asks an optimizer for its learning rate once per variable in
    weight decay."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None and not getattr(call, "_kerasboost_once_per_graph", False):
            cls.__call__ = _once_per_graph(call)

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def as_schedule(name: str, value: Any) -> ScheduleLike:
    """Validate a float-or-schedule argument; deserialize a config dict."""
    if isinstance(value, dict):
        try:
            value = keras.saving.deserialize_keras_object(copy.deepcopy(value))
        except Exception as e:  # report which argument held the bad config
            raise ValueError(
                f"`{name}` holds a config that could not be deserialized: {e}. Received: {name}={value!r}"
            ) from e
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_number(name, value, low=0.0)
    raise fail(name, "a learning rate >= 0 or a LearningRateSchedule", value)


def serialize_schedule(value: ScheduleLike) -> Any:
    """A float stays a float; a schedule becomes its serialized dict."""
    if isinstance(value, LearningRateSchedule):
        return keras.saving.serialize_keras_object(value)
    return value


def evaluate(value: ScheduleLike, step: Any) -> Any:
    """The float32 learning rate of a float or schedule at `step`."""
    if isinstance(value, LearningRateSchedule):
        return ops.cast(value(step), "float32")
    return ops.convert_to_tensor(value, "float32")


def as_step(step: Any) -> Any:
    """The optimizer's integer step as a float32 tensor."""
    return ops.cast(step, "float32")


def progress(step: Any, start: Any, end: Any) -> tuple:
    """`(done, remaining)`: how far `step` has come from `start` toward `end`, each clipped to
    `[0, 1]` and each its own quotient (`remaining` is not `1 - done`, which loses the
    significant digits of a small remainder in float32). With integer steps both are exact at
    the ends and within float32 rounding elsewhere."""
    length = end - start
    done = ops.clip((step - start) / length, 0.0, 1.0)
    remaining = ops.clip((end - step) / length, 0.0, 1.0)
    return done, remaining


def cosine_anneal(start: Any, end: Any, done: Any, remaining: Any) -> Any:
    """Cosine from `start` (`done` 0) to `end` (`done` 1): `end + (start - end) * (1 + cos(pi *
    done)) / 2`, computed as `start * sin(pi * remaining / 2) ** 2 + end * sin(pi * done / 2) ** 2`
    (the same value), which is exact at both ends and keeps a small `end` to float32 rounding
    near them, where the first form cancels."""
    half_pi = 0.5 * math.pi
    return start * ops.square(ops.sin(half_pi * remaining)) + end * ops.square(ops.sin(half_pi * done))


def linear_anneal(start: Any, end: Any, done: Any, remaining: Any) -> Any:
    """Straight line from `start` (`done` 0) to `end` (`done` 1), as `start * remaining + end *
    done`: exact at both ends (`start + (end - start) * done` is not, in float32)."""
    return start * remaining + end * done
