"""The base class of kerasboost's optimizer wrappers."""

from __future__ import annotations

import copy
from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.utils import flat
from kerasboost.utils.distribute import cross_replica_sum, replica_count
from kerasboost.utils.validation import fail

_BASE_ARGUMENTS = (
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


def as_optimizer(value: Any) -> keras.optimizers.Optimizer:
    """An optimizer instance from an instance, a serialized config or a name."""
    if isinstance(value, (dict, str)):
        try:
            value = keras.optimizers.get(copy.deepcopy(value))
        except (ValueError, TypeError) as e:
            raise fail("optimizer", f"a Keras optimizer, its config or its name ({e})", value) from e
    if not isinstance(value, keras.optimizers.Optimizer):
        raise fail("optimizer", "a keras.optimizers.Optimizer instance", value)
    if isinstance(value, keras.optimizers.LossScaleOptimizer):
        raise fail(
            "optimizer",
            "an optimizer that is not a LossScaleOptimizer (wrap this wrapper in it instead; "
            "compile() does so under mixed_float16)",
            value,
        )
    return value


@kerasboost_export("kerasboost.optimizers.OptimizerWrapper", register=False)
class OptimizerWrapper(keras.optimizers.Optimizer):
    """An optimizer that transforms the gradients of, or acts after, an inner optimizer.

    Subclasses override `transform_gradients(grads, variables)` (called before
    the inner optimizer's `apply`), `after_apply(variables)` and/or
    `build_own(variables)` (to add their own state with `add_variable*`). The
    wrapper:

    - owns the inner optimizer (`self.optimizer`), serialized inside its config;
    - lists the inner optimizer's variables after its own in `variables`, so
      `.keras` files, checkpoints and JAX's `stateless_apply` carry all state,
      and wrappers nest (`Lookahead(GradientNoise(AdamW(...)))`);
    - reports the inner optimizer's `learning_rate` and `iterations` (schedules
      and learning-rate callbacks act on the inner optimizer);
    - works under `LossScaleOptimizer` (mixed precision), which wraps it.

    Clipping, weight decay, EMA and gradient accumulation belong to the inner
    optimizer: passing them to a wrapper raises `ValueError`. A subclass with
    arguments of its own adds them to `get_config` and registers itself
    (`keras.saving.register_keras_serializable`) to load from `.keras` files;
    `kerasboost.testing.run_contract` holds it to kerasboost's contract.

    Args:
        optimizer: the inner optimizer: a Keras or kerasboost optimizer, or
            anything `keras.optimizers.get` accepts ("adam", a config dict).
        name: str or None, the wrapper's name.

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> from keras import ops
    >>> @keras.saving.register_keras_serializable(package="my_package")
    ... class SignGradient(kerasboost.optimizers.OptimizerWrapper):
    ...     # step along the sign of each gradient entry (signSGD when the inner is SGD)
    ...     def transform_gradients(self, grads, variables):
    ...         return [None if g is None else ops.sign(g) for g in grads]
    >>> w = keras.Variable(np.array([1.0, -2.0], "float32"))
    >>> optimizer = SignGradient(keras.optimizers.SGD(0.5))
    >>> optimizer.apply([ops.convert_to_tensor([0.1, -30.0])], [w])
    >>> ops.convert_to_numpy(w)
    array([ 0.5, -1.5], dtype=float32)
    >>> type(keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))).__name__
    'SignGradient'

    ```

    References:
        - Bernstein et al., 2018, "signSGD: Compressed Optimisation for
          Non-Convex Problems" (the example's update),
          https://arxiv.org/abs/1802.04434
        - The wrappers' composition follows optax's chained gradient
          transformations: Babuschkin et al., 2020, "The DeepMind JAX
          Ecosystem", http://github.com/google-deepmind
    """

    def __init__(self, optimizer: Any, name: str | None = None, **kwargs) -> None:
        for argument in _BASE_ARGUMENTS:
            if argument in kwargs:
                raise ValueError(
                    f"`{argument}` belongs to the inner optimizer: set it there, e.g. "
                    f"{type(self).__name__}(keras.optimizers.AdamW(..., {argument}=...)). "
                    f"Received: {argument}={kwargs[argument]!r}"
                )
        if kwargs:
            raise ValueError(f"Unknown arguments for {type(self).__name__}: {sorted(kwargs)}")
        optimizer = as_optimizer(optimizer)
        super().__init__(learning_rate=0.0, name=name)
        self.optimizer = optimizer

    # ------------------------------------------------------------------ state

    def build(self, var_list):
        if self.built:
            return
        self.optimizer.build(var_list)
        super().build(var_list)
        self.build_own(var_list)

    def build_own(self, var_list) -> None:
        """Create the wrapper's own variables (hook)."""

    @property
    def variables(self):
        return _keras.variables_list(self)[:] + self.optimizer.variables

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.optimizer.iterations

    def finalize_variable_values(self, var_list):
        self.optimizer.finalize_variable_values(var_list)

    # ------------------------------------------------------------------ update

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "Build the optimizer first (`optimizer.build(variables)`) or pass `trainable_variables` to `apply`."
                )
            trainable_variables = _keras.built_for(self)
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                with keras.name_scope(self.name, caller=self):
                    self.build(trainable_variables)
                self.built = True
        # under tf.distribute, the wrapper sees the gradient of the whole batch, as on one device:
        # a nonlinear transform (clipping, noise, a finiteness test) of per-replica partial sums
        # would differ from the single-device step, and replicas could disagree
        grads, self._replicas = cross_replica_sum(grads)
        with keras.name_scope(self.name, caller=self):
            self.apply_wrapped(grads, trainable_variables)

    def apply_inner(self, grads, variables) -> None:
        """Apply the inner optimizer to (whole-batch) gradients; under tf.distribute each replica
        passes its share, which the inner optimizer's own all-reduce sums back."""
        replicas = getattr(self, "_replicas", 1)
        if replicas > 1:
            grads = [None if g is None else g / replicas for g in grads]
        self.optimizer.apply(grads, variables)

    def apply_wrapped(self, grads, variables) -> None:
        """Transform the gradients, apply the inner optimizer, then `after_apply`."""
        self.apply_inner(self.transform_gradients(grads, variables), variables)
        self.after_apply(variables)

    def transform_gradients(self, grads, variables) -> list:
        """The gradients the inner optimizer applies (hook; None stays None)."""
        return grads

    def after_apply(self, variables) -> None:
        """Act after the inner optimizer's step (hook)."""

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict:
        return {"name": self.name, "optimizer": keras.saving.serialize_keras_object(self.optimizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("optimizer"), dict):
            config["optimizer"] = keras.saving.deserialize_keras_object(
                copy.deepcopy(config["optimizer"]), custom_objects=custom_objects
            )
        return cls(**config)


def without_loss_scaling(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer a `LossScaleOptimizer` wraps (the one holding the learning rate), else `optimizer`."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return inner if inner is not None else optimizer


def all_finite(grads) -> Any:
    """A boolean scalar: every gradient entry is finite (one pass over all gradients laid end
    to end, `kerasboost.utils.flat.all_finite`: a fixed number of ops whatever the number of
    variables)."""
    return flat.all_finite(grads)


def cond_skips_work() -> bool:
    """Whether `run_if` compiles to a cond that skips the update (see there)."""
    return keras.backend.backend() == "tensorflow" and replica_count() == 1


def run_if(pred, update, state) -> None:
    """Run `update()`, which assigns new values to the variables in `state`, only if the
    boolean scalar `pred` holds.

    On TensorFlow outside a multi-replica context this is a `cond`: a step where `pred` is
    false skips the work. JAX traces pure functions (a `lax.cond` cannot assign variables),
    and `tf.distribute` does not allow a cond in a replica context whose branch may
    `merge_call` (an optimizer's `apply` does); there `update()` runs every step and every
    variable of `state` is then set back to its old value where `pred` is false - Keras's JAX
    optimizer handles gradient accumulation and EMA the same way.
    """
    if cond_skips_work():

        def true_fn():
            update()
            return ops.convert_to_tensor(True)

        ops.cond(pred, true_fn, lambda: ops.convert_to_tensor(False))
        return
    before = [ops.copy(v.value) for v in state]  # snapshots, not references
    update()
    for variable, old in zip(state, before):
        variable.assign(ops.where(pred, variable.value, old))


def optimizer_chain(optimizer: keras.optimizers.Optimizer) -> list:
    """`optimizer` and every optimizer it wraps, outermost first (through `LossScaleOptimizer`
    and kerasboost wrappers); the last one holds the learning rate and the iteration count."""
    chain = [optimizer]
    while True:
        inner = getattr(chain[-1], "inner_optimizer", None)
        if inner is None and isinstance(chain[-1], OptimizerWrapper):
            inner = chain[-1].optimizer
        if inner is None:
            return chain
        chain.append(inner)
