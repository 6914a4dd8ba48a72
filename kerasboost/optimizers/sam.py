"""Sharpness-aware minimization (Foret et al. 2021) as a model wrapper."""

from __future__ import annotations

import copy
from typing import Any

import keras
from keras import ops

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.utils.validation import check_bool, check_number, fail


def sam_perturbation(grads, variables, rho: float, adaptive: bool, eps: float = 1e-12) -> list:
    """The ascent step `e(w)` of SAM (ASAM when `adaptive`); zero if the norm is not finite.

    SAM: `e = rho * g / ||g||`. ASAM: `e = rho * w^2 g / ||w g||` (elementwise
    products; the norms are global over every variable).
    """
    scaled = [g if not adaptive else ops.abs(ops.cast(w, g.dtype)) * g for g, w in zip(grads, variables)]
    norm = ops.sqrt(sum(ops.sum(ops.square(s)) for s in scaled))
    factor = ops.where(ops.isfinite(norm), rho / (norm + eps), 0.0)
    out = []
    for s, w in zip(scaled, variables):
        e = s * ops.cast(factor, s.dtype)
        if adaptive:
            e = e * ops.abs(ops.cast(w, s.dtype))
        out.append(ops.cast(e, w.dtype))
    return out


@kerasboost_export("kerasboost.optimizers.SAM")
class SAM(keras.Model):
    """Train any model with sharpness-aware minimization.

    Each training step computes the gradient `g` at the weights `w`, steps to
    the nearby worst case `w + e(w)` with `e = rho * g / ||g||` (ASAM,
    `adaptive=True`: `e = rho * w^2 g / ||w g||`, invariant to weight
    rescaling), computes the gradient there and gives **that** gradient to the
    compiled optimizer for the update of `w`. The model is pushed towards flat
    minima, which generalize better (Foret et al.); each step costs two forward
    and backward passes. Metrics and the loss shown are those of the first pass.

    Wrap a model, then compile and fit the wrapper as usual; any optimizer,
    kerasboost's wrappers included, applies the update. Works with `fit` under
    `jit_compile=True` on the TensorFlow and JAX backends, and on PyTorch (with
    Keras's default, eager `jit_compile`). Layers that update state in training
    mode (BatchNormalization's moving statistics) see both passes on TensorFlow
    and PyTorch; on JAX the second pass's state updates are discarded.

    Args:
        model: the Keras model to train (its `call` is the wrapper's `call`).
        rho: float > 0, the radius of the neighbourhood. Defaults to 0.05
            (ASAM typically uses larger values, e.g. 0.5-2.0).
        adaptive: bool, use ASAM's scale-invariant neighbourhood. Defaults to False.
        name: the wrapper's name.

    Example:

    ```python
    >>> import keras, kerasboost
    >>> net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, "relu"), keras.layers.Dense(2)])
    >>> model = kerasboost.optimizers.SAM(net, rho=0.05)
    >>> model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse", jit_compile=True)

    ```

    References:
        - Foret, Kleiner, Mobahi & Neyshabur, 2021, "Sharpness-Aware
          Minimization for Efficiently Improving Generalization",
          https://arxiv.org/abs/2010.01412
        - Kwon et al., 2021, "ASAM: Adaptive Sharpness-Aware Minimization for
          Scale-Invariant Learning of Deep Neural Networks",
          https://arxiv.org/abs/2102.11600
    """

    def __init__(
        self, model: Any, rho: float = 0.05, adaptive: bool = False, name: str | None = None, **kwargs
    ) -> None:
        if isinstance(model, dict):  # a copy: Functional.from_config consumes its config
            model = keras.saving.deserialize_keras_object(copy.deepcopy(model))
        if not isinstance(model, keras.Model):
            raise fail("model", "a keras.Model", model)
        super().__init__(name=name, **kwargs)
        self.model = model
        self.rho = check_number("rho", rho, low=0.0, low_inclusive=False)
        self.adaptive = check_bool("adaptive", adaptive)

    def call(self, inputs, training=None):
        return self.model(inputs, training=training)

    def compute_output_spec(self, inputs, training=None):
        return self.model.compute_output_spec(inputs)

    def build(self, input_shape):
        if not self.model.built:
            self.model.build(input_shape)
        self.built = True

    def train_step(self, *args):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            return self._tf_train_step(*args)
        if backend == "jax":
            return self._jax_train_step(*args)
        if backend == "torch":
            return self._torch_train_step(*args)
        raise NotImplementedError(f"SAM supports the TensorFlow, JAX and PyTorch backends, not {backend!r}.")

    def _tf_train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            scaled = self.optimizer.scale_loss(loss)
        perturbation = sam_perturbation(tape.gradient(scaled, variables), variables, self.rho, self.adaptive)
        for v, e in zip(variables, perturbation):
            v.assign_add(e)
        with tf.GradientTape() as tape:
            adversarial = self.compute_loss(
                x=x, y=y, y_pred=self(x, training=True), sample_weight=sample_weight, training=True
            )
            scaled = self.optimizer.scale_loss(adversarial)
        grads = tape.gradient(scaled, variables)
        for v, e in zip(variables, perturbation):
            v.assign_sub(e)
        self.optimizer.apply(grads, variables)
        batch = tf.shape(next(i for i in keras.tree.flatten(x) if i is not None))[0]
        _keras.track_loss(self, loss, batch)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _torch_train_step(self, data):
        import torch

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables

        def gradients(y_pred):
            self.zero_grad()
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            self.optimizer.scale_loss(loss).backward()
            return loss, [v.value.grad for v in variables]

        y_pred = self(x, training=True)
        loss, grads = gradients(y_pred)
        with torch.no_grad():
            perturbation = sam_perturbation(grads, [v.value for v in variables], self.rho, self.adaptive)
            for v, e in zip(variables, perturbation):
                v.assign_add(e)
        _, grads = gradients(self(x, training=True))
        with torch.no_grad():
            for v, e in zip(variables, perturbation):
                v.assign_sub(e)
            self.optimizer.apply(grads, variables)
        batch = next(i for i in keras.tree.flatten(x) if i is not None).shape[0]
        _keras.track_loss(self, loss.detach(), batch)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _jax_train_step(self, state, data):
        import jax

        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, aux), grads = grad_fn(
            trainable,
            non_trainable,
            metrics_variables,
            x,
            y,
            sample_weight,
            training=True,
            optimizer_variables=optimizer_variables,
        )
        unscaled_loss, y_pred, new_non_trainable, metrics_variables = aux
        perturbation = sam_perturbation(grads, trainable, self.rho, self.adaptive)
        adversarial = [w + e for w, e in zip(trainable, perturbation)]
        (_, _), grads = grad_fn(
            adversarial,
            non_trainable,
            metrics_variables,
            x,
            y,
            sample_weight,
            training=True,
            optimizer_variables=optimizer_variables,
        )
        trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads, trainable)
        logs, metrics_variables = _keras.update_metrics_variables(
            self, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight
        )
        return logs, (trainable, new_non_trainable, optimizer_variables, metrics_variables)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "model": keras.saving.serialize_keras_object(self.model),
            "rho": self.rho,
            "adaptive": self.adaptive,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
