"""One test per Keras private name or undocumented behaviour that `kerasboost._keras` relies on.

Each fails, naming the reliance, when the installed Keras no longer behaves as kerasboost
expects. CI runs this file on the oldest supported Keras (3.10.0) and on the newest.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kerasboost import _keras


def _built_sgd(learning_rate=0.1):
    variables = [keras.Variable(np.ones((2, 3), "float32"), name="a"), keras.Variable(np.zeros(3, "float32"), name="b")]
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9)
    optimizer.build(variables)
    return optimizer, variables


def test_learning_rate_value_is_the_held_variable_or_schedule():
    optimizer, _ = _built_sgd(0.25)
    held = _keras.learning_rate_value(optimizer)
    assert isinstance(held, keras.Variable) and float(held.numpy()) == 0.25
    assert _keras.holds_float_rate(optimizer)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5)
    scheduled = keras.optimizers.SGD(schedule)
    assert _keras.learning_rate_value(scheduled) is schedule
    assert not _keras.holds_float_rate(scheduled)


def test_set_learning_rate_value_changes_the_rate_used():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5)
    optimizer, _ = _built_sgd()
    optimizer = keras.optimizers.SGD(schedule)
    _keras.set_learning_rate_value(optimizer, keras.optimizers.schedules.ExponentialDecay(0.2, 1, 1.0))
    assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.2)


def test_current_learning_rate_override_is_used_by_the_update_and_the_property():
    optimizer, variables = _built_sgd(0.1)
    original = _keras.current_learning_rate(optimizer)
    assert float(ops.convert_to_numpy(original())) == pytest.approx(0.1)
    _keras.override_current_learning_rate(optimizer, lambda: ops.convert_to_tensor(original()) * 10.0)
    assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(1.0)
    optimizer.apply([ops.ones((2, 3)), ops.ones(3)], variables)
    np.testing.assert_allclose(ops.convert_to_numpy(variables[1]), -np.ones(3), rtol=1e-6)  # 0 - 1.0 * 1
    _keras.restore_current_learning_rate(optimizer)
    assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.1)


def test_variables_list_is_the_list_behind_variables():
    optimizer, variables = _built_sgd()
    listed = _keras.variables_list(optimizer)
    assert isinstance(listed, list)
    assert [id(v) for v in listed] == [id(v) for v in optimizer.variables]
    extra = keras.Variable(0.0, name="extra")
    listed.append(extra)  # edited in place: `variables` follows
    assert optimizer.variables[-1] is extra
    listed.pop()
    assert all(v is not extra for v in optimizer.variables)


def test_built_for_and_variable_index():
    optimizer, variables = _built_sgd()
    assert [id(v) for v in _keras.built_for(optimizer)] == [id(v) for v in variables]
    assert [_keras.variable_index(optimizer, v) for v in variables] == [0, 1]


def test_track_variable_adds_to_the_variables():
    optimizer, _ = _built_sgd()
    extra = keras.Variable(np.zeros(2, "int32"), name="extra_state", trainable=False)
    _keras.track_variable(optimizer, extra)
    assert any(v is extra for v in optimizer.variables)


def test_unbuild_lets_build_run_again_for_other_variables():
    optimizer, variables = _built_sgd()
    kept = [optimizer.iterations, _keras.learning_rate_value(optimizer)]
    listed = _keras.variables_list(optimizer)
    listed[:] = [v for v in listed if any(v is k for k in kept)]
    _keras.unbuild(optimizer)
    assert not optimizer.built
    new = [keras.Variable(np.ones(4, "float32"), name="c")]
    optimizer.build(new)
    assert _keras.variable_index(optimizer, new[0]) == 0
    assert len(optimizer.variables) == len(kept) + 1  # one momentum slot


def test_whole_step_optimizer_sees_every_gradient_once_after_clipping():
    seen = []

    class Recorder(_keras.WholeStepOptimizer):
        def update_all(self, grads, variables, learning_rate):
            seen.append(len(grads))
            norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads))
            for g, v in zip(grads, variables):
                v.assign(v - learning_rate * g / norm)

    variables = [keras.Variable(np.ones(3, "float32")), keras.Variable(np.ones(2, "float32"))]
    optimizer = Recorder(learning_rate=0.5, global_clipnorm=1.0)
    optimizer.apply([ops.full((3,), 3.0), ops.full((2,), 4.0)], variables)
    assert seen == [2]  # one call with both gradients
    # the clipped gradients (norm 1) normalized again: each moves by 0.5 * g / |g|
    norm = np.sqrt(3 * 9 + 2 * 16)
    np.testing.assert_allclose(ops.convert_to_numpy(variables[0]), 1 - 0.5 * 3 / norm, rtol=1e-6)
    assert int(ops.convert_to_numpy(optimizer.iterations)) == 1


def test_flatten_layers_reaches_nested_layers():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner_dense")], name="inner")
    outer = keras.Sequential([keras.Input((3,)), inner, keras.layers.BatchNormalization(name="bn")], name="outer")
    names = [layer.name for layer in _keras.flatten_layers(outer)]
    assert names[0] == "outer" and {"inner", "inner_dense", "bn"} <= set(names)


def test_jax_optimizer_state_mid_fit():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    seen = []

    def iterations_now(state):  # read at once: JAX donates the state's buffers to the next step
        if state is None:
            return None
        position = next(i for i, v in enumerate(model.optimizer.variables) if v is model.optimizer.iterations)
        return int(np.asarray(state[position]))

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(iterations_now(_keras.jax_optimizer_state(model)))  # not `self.model`: on JAX, that syncs

    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0, callbacks=[Probe()])
    assert _keras.jax_optimizer_state(model) is None  # synced after fit
    # on JAX the trainer carries the state between steps: the iteration count is among its values
    assert seen == ([1, 2] if keras.backend.backend() == "jax" else [None, None])


class _TrackingModel(keras.Model):
    """A model whose train step adds a constant loss through `track_loss` (no gradient)."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        _keras.track_loss(self, ops.convert_to_tensor(3.0), ops.shape(x)[0])
        return self.get_metrics_result()


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="a stateful train_step; JAX's is covered below")
def test_track_loss_feeds_the_reported_loss():
    model = _TrackingModel()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0)
    assert history.history["loss"] == [pytest.approx(3.0)]


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's stateless train step")
def test_update_metrics_variables_on_jax():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)  # builds the metrics
    model.reset_metrics()
    metrics_variables = [v.value for v in model.metrics_variables]
    x, y = ops.ones((4, 3)), ops.ones((4, 1))
    y_pred = ops.zeros((4, 1))
    logs, new = _keras.update_metrics_variables(
        model, metrics_variables, ops.convert_to_tensor(2.0), x, y, y_pred, None
    )
    assert float(logs["loss"]) == pytest.approx(2.0) and float(logs["mae"]) == pytest.approx(1.0)
    assert len(new) == len(metrics_variables)


def test_saving_calls_the_instance_override(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    optimizer = model.optimizer
    calls = []
    original = optimizer.save_own_variables

    def save(store):
        calls.append("save")
        original(store)

    _keras.override(optimizer, "save_own_variables", save)
    assert _keras.overridden(optimizer, "save_own_variables")
    model.save(tmp_path / "m.keras")
    assert calls == ["save"]
    _keras.restore(optimizer, "save_own_variables")
    assert not _keras.overridden(optimizer, "save_own_variables")
    model.save(tmp_path / "m2.keras")
    assert calls == ["save"]


def test_fit_calls_the_instance_apply():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=False)
    optimizer = model.optimizer
    name = "stateless_apply" if keras.backend.backend() == "jax" else "apply"
    original = getattr(optimizer, name)
    traced = []

    def patched(*args, **kwargs):
        traced.append(name)
        return original(*args, **kwargs)

    _keras.override(optimizer, name, patched)
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    _keras.restore(optimizer, name)
    assert traced, f"fit did not call the optimizer's instance `{name}`"


def test_fit_reuses_a_train_function_that_is_set():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    first = model.train_function
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    assert model.train_function is first
    model.make_train_function(force=True)
    assert model.train_function is not first


def test_new_train_function_traces_the_step_afresh_and_update_step_overrides_are_called():
    # a patch installed after a first fit reaches only a train function traced afresh (on JAX
    # a second `make_train_function` alone replays the first trace)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=lambda y, p: ops.mean(p), jit_compile=True)
    x = np.ones((1, 1), "float32")
    model.fit(x, x, verbose=0)
    assert float(ops.convert_to_numpy(model.layers[0].kernel)[0, 0]) == pytest.approx(-0.5)
    optimizer = model.optimizer
    _keras.override(optimizer, "update_step", lambda g, v, lr: optimizer.assign_add(v, ops.ones(v.shape, v.dtype)))
    _keras.new_train_function(model)
    model.fit(x, x, verbose=0)
    assert float(ops.convert_to_numpy(model.layers[0].kernel)[0, 0]) == pytest.approx(0.5)
    _keras.restore(optimizer, "update_step")
    _keras.new_train_function(model)
    model.fit(x, x, verbose=0)
    assert float(ops.convert_to_numpy(model.layers[0].kernel)[0, 0]) == pytest.approx(0.0)


def test_backend_update_step_override_is_called_once_per_step():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=lambda y, p: ops.mean(p), jit_compile=True)
    calls = []

    def wrapper(update, grads, variables, learning_rate):
        calls.append(len(variables))
        update([g * 2.0 for g in grads], variables, learning_rate)

    _keras.wrap_update_step(model.optimizer, wrapper)
    x = np.ones((1, 1), "float32")
    model.fit(x, x, verbose=0)
    assert calls == [1]  # traced once, with every variable
    assert float(ops.convert_to_numpy(model.layers[0].kernel)[0, 0]) == pytest.approx(-1.0)
    _keras.unwrap_update_step(model.optimizer)
    assert not _keras.overridden(model.optimizer, "_backend_update_step")


def _keras_private_names() -> set:
    """Underscore names on Keras's public base classes (instances of them, built)."""
    optimizer, _ = _built_sgd()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    objects = [optimizer, model, model.layers[0], keras.callbacks.Callback(), keras.initializers.Orthogonal(seed=1)]
    return {name for obj in objects for name in dir(obj) if name.startswith("_") and not name.startswith("__")}


def test_metric_direction_is_declared_by_keras_metrics_inside_the_compiled_container():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(
        "sgd", "mse", metrics=[keras.metrics.R2Score(name="error_rate"), "mae", lambda y, p: p[:, 0]], jit_compile=True
    )
    assert _keras.metric_direction(model, "error_rate") is None  # not built before a step
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)
    assert _keras.metric_direction(model, "error_rate") == "up"
    assert _keras.metric_direction(model, "mae") == "down"
    assert _keras.metric_direction(model, "<lambda>") is None  # a function declares nothing
    assert _keras.metric_direction(model, "absent") is None and _keras.metric_direction(None, "mae") is None
    accuracy = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    accuracy.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
    accuracy.fit(np.ones((4, 3)), np.zeros(4), epochs=1, verbose=0)
    assert _keras.metric_direction(accuracy, "accuracy") == "up"


def test_output_layers_are_the_layers_that_make_the_outputs():
    head = keras.layers.Dense(2, activation="softmax", name="head")
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), head])
    assert _keras.output_layers(sequential) == [head]
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, name="hidden")(inputs)
    a, b = keras.layers.Dense(1, name="a"), keras.layers.Dense(2, name="b")
    functional = keras.Model(inputs, [a(hidden), b(hidden)])
    assert [layer.name for layer in _keras.output_layers(functional)] == ["a", "b"]

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    assert _keras.output_layers(Subclassed()) is None


def test_no_keras_private_name_outside_the_keras_module():
    """Every `x._name` in the package where `_name` is a Keras private name lives in `_keras.py`,
    unless kerasboost itself defines `_name` (assigns or defines it) for its own use."""
    import ast
    import pathlib

    import kerasboost

    package = pathlib.Path(kerasboost.__file__).parent
    private = _keras_private_names()
    sources = {path: ast.parse(path.read_text()) for path in package.rglob("*.py")}
    own = set()
    for path, tree in sources.items():
        if path.name == "_keras.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                own |= {t.attr for t in targets if isinstance(t, ast.Attribute)}
    found = []
    for path, tree in sources.items():
        if path.name == "_keras.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private and node.attr not in own:
                found.append(f"{path.relative_to(package)}:{node.lineno}: .{node.attr}")
    assert not found, "Keras private names used outside kerasboost/_keras.py:\n" + "\n".join(found)
