"""Compile cost, counted rather than timed: traces of the train step across `fit` calls, and ops
per variable in the compiled graphs of GradientStatistics and the optimizer wrappers."""

import keras
import numpy as np
import pytest

from kerasboost import optimizers
from kerasboost.callbacks import GradientStatistics, LearningRateWarmup, ReduceLROnPlateau
from kerasboost.callbacks._gradients import graph
from kerasboost.utils.flat import FlatLayout


def _mlp(depth=3, width=6):
    layers = [keras.Input((5,))]
    layers += [keras.layers.Dense(width, activation="tanh", name=f"hidden{i}") for i in range(depth)]
    layers += [keras.layers.Dense(1, name="out")]
    return keras.Sequential(layers, name="mlp")


def _data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 5)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _counting(model):
    """Count the Python-side traces of the model's train step (the body runs only when Keras
    traces a new train function; a compiled one reused runs no Python)."""
    traces = []
    original = model.train_step

    def train_step(*args):
        traces.append(1)
        return original(*args)

    model.train_step = train_step
    return traces


def _fit(model, callbacks, epochs=1):
    return model.fit(*_data(), batch_size=8, epochs=epochs, shuffle=False, callbacks=callbacks, verbose=0)


def test_second_fit_with_gradient_statistics_reuses_the_compiled_step():
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    traces = _counting(model)
    first = GradientStatistics(read_every_n_steps=2)
    _fit(model, [first])
    once = len(traces)
    # once: the optimizer is built before the first trace (a plain first fit on TensorFlow
    # traces twice, the second time because the optimizer created its variables in the first)
    assert once == 1
    second = GradientStatistics(read_every_n_steps=2)  # another instance, same configuration
    history = _fit(model, [second])
    assert len(traces) == once  # no new trace: the step compiled in the first fit served
    assert [r["step"] for r in second.records] == [4, 5, 6, 7]  # and it records, steps continuing
    assert history.history["grad_norm"][0] > 0
    _fit(model, [])  # the plain step: traced the first time it is used
    assert len(traces) == 2
    _fit(model, [first])
    _fit(model, [])
    assert len(traces) == 2
    _fit(model, [GradientStatistics(every_n_steps=2, read_every_n_steps=2)])  # another configuration
    assert len(traces) == 3


def test_recompiling_the_model_drops_the_kept_steps():
    model = _mlp()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
    stats = GradientStatistics(read_every_n_steps=2)
    _fit(model, [stats])
    plain_loss = stats.records[-1]["grad_norm"]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mae", jit_compile=True)
    traces = _counting(model)
    history = _fit(model, [stats])
    assert len(traces) >= 1  # the new loss is traced, not the step kept from the first compile
    x, y = _data()
    np.testing.assert_allclose(history.history["loss"][0], np.mean(np.abs(model.predict(x, verbose=0) - y)), rtol=0.5)
    assert stats.records[-1]["grad_norm"] != plain_loss


@pytest.mark.parametrize(
    "make",
    [
        lambda: [LearningRateWarmup(8)],
        lambda: [ReduceLROnPlateau("loss", patience=0)],
        lambda: [GradientStatistics(read_every_n_steps=2), LearningRateWarmup(8)],
    ],
    ids=["LearningRateWarmup", "ReduceLROnPlateau", "both"],
)
def test_second_fit_with_in_graph_learning_rate_callbacks_reuses_the_compiled_step(make):
    model = _mlp()
    model.compile(
        optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)),
        loss="mse",
        jit_compile=True,
    )
    traces = _counting(model)
    _fit(model, make())
    count = len(traces)
    _fit(model, make())
    _fit(model, make())
    assert len(traces) == count


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.SkipNonFinite(keras.optimizers.Adam()),
        lambda: optimizers.GradientNoise(keras.optimizers.SGD(0.01), seed=0),
        lambda: optimizers.Lookahead(keras.optimizers.Adam()),
        lambda: optimizers.AdaptiveGradientClipping(keras.optimizers.SGD(0.01)),
        lambda: optimizers.RectifiedAdam(),
        lambda: optimizers.LARS(),
    ],
    ids=["SkipNonFinite", "GradientNoise", "Lookahead", "AdaptiveGradientClipping", "RectifiedAdam", "LARS"],
)
def test_second_fit_with_an_optimizer_wrapper_does_not_trace_again(make):
    model = _mlp()
    model.compile(optimizer=make(), loss="mse", jit_compile=True)
    traces = _counting(model)
    _fit(model, [])
    once = len(traces)
    _fit(model, [])
    assert len(traces) == once >= 1


# ---------------------------------------------------------------- ops per variable

REDUCTIONS = ("Sum", "Max", "MatMul", "Segment", "reduce_", "dot_general", "scatter", "argmax")


def _op_types(fn, *args):
    """The op types of `fn` traced on `args`: a TensorFlow graph or a JAX jaxpr."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        graph_def = tf.function(fn).get_concrete_function(*args).graph
        return [op.type for op in graph_def.get_operations()]
    if keras.backend.backend() == "jax":
        import jax

        jaxpr = jax.make_jaxpr(fn)(*args)
        return [str(eqn.primitive) for eqn in jaxpr.jaxpr.eqns]
    pytest.skip("counts TensorFlow graph ops or JAX jaxpr equations")


def _statistics_ops(depth):
    model = _mlp(depth, width=16)
    variables = model.trainable_variables
    layout = graph.Layout(variables)
    values = [keras.ops.convert_to_tensor(v) for v in variables]
    record = keras.ops.convert_to_tensor(True)

    def fn(grads, before, after):
        return graph.step_statistics(layout, grads, before, after, record, 1)

    return _op_types(fn, values, values, values), len(variables)


def test_gradient_statistics_graph_has_a_fixed_number_of_reductions_and_a_few_ops_per_variable():
    (small, n_small), (large, n_large) = _statistics_ops(10), _statistics_ops(50)
    reductions = lambda types: sorted(t for t in types if any(r in t for r in REDUCTIONS))  # noqa: E731
    assert reductions(small) == reductions(large)  # the same reductions for 22 and 102 variables
    per_variable = (len(large) - len(small)) / (n_large - n_small)
    # reading each of the gradient, old and new weights: a reshape and a pad (and a cast) each
    assert per_variable <= 12, per_variable


def _apply_ops(make, depth):
    model = _mlp(depth, width=16)
    optimizer = make()
    variables = model.trainable_variables
    optimizer.build(variables)
    grads = [keras.ops.ones(v.shape) for v in variables]

    def fn(grads):
        optimizer.apply(grads, variables)
        return keras.ops.convert_to_tensor(0.0)

    if keras.backend.backend() != "tensorflow":
        pytest.skip("counts the ops of a TensorFlow graph (JAX's apply is traced through stateless_apply)")
    return _op_types(fn, grads), len(variables)


@pytest.mark.parametrize(
    "make,inner",
    [
        (lambda: optimizers.SkipNonFinite(keras.optimizers.Adam()), lambda: keras.optimizers.Adam()),
        (lambda: optimizers.GradientNoise(keras.optimizers.SGD(0.01), seed=0), lambda: keras.optimizers.SGD(0.01)),
        (lambda: optimizers.RectifiedAdam(), lambda: keras.optimizers.Adam()),
    ],
    ids=["SkipNonFinite", "GradientNoise", "RectifiedAdam"],
)
def test_optimizer_ops_per_variable_stay_close_to_the_plain_optimizer(make, inner):
    (small, n_small), (large, n_large) = _apply_ops(make, 10), _apply_ops(make, 50)
    (base_small, _), (base_large, _) = _apply_ops(inner, 10), _apply_ops(inner, 50)
    slope = (len(large) - len(small)) / (n_large - n_small)
    base_slope = (len(base_large) - len(base_small)) / (n_large - n_small)
    # per-step work (a finiteness test, the noise draw, RAdam's rectification) is not repeated
    # per variable: at most a few ops per variable more than the plain optimizer (LARS's trust
    # ratio is per variable by definition, and not tested here)
    assert slope <= base_slope + 12, (slope, base_slope)
    random_ops = [t for t in large if "Random" in t or "random" in t]
    assert len(random_ops) == len([t for t in small if "Random" in t or "random" in t])


def test_flat_layout_group_sums_and_maxima_match_numpy():
    rng = np.random.default_rng(0)
    shapes = [(3, 70), (70,), (129,), (1,), (5, 5, 2)]
    groups = [1, 1, 0, 2, 0]
    tensors = [rng.normal(size=s).astype("float32") for s in shapes]
    layout = FlatLayout(shapes, groups)
    x = layout.flat([keras.ops.convert_to_tensor(t) for t in tensors])
    sums = keras.ops.convert_to_numpy(layout.group_sums(layout.row_sums([keras.ops.square(x)])))[:, 0]
    maxima = keras.ops.convert_to_numpy(layout.group_maxima(keras.ops.max(keras.ops.abs(x), axis=1)))
    for g in range(3):
        members = np.concatenate([t.ravel() for t, k in zip(tensors, groups) if k == g])
        np.testing.assert_allclose(sums[g], (members.astype("float64") ** 2).sum(), rtol=1e-5)
        assert maxima[g] == np.abs(members).max()
    np.testing.assert_array_equal(layout.group_sizes, [129 + 50, 210 + 70, 1])
    np.testing.assert_array_equal(layout.group_padding, [2 * 128 - 129 + 128 - 50, 2 * 128 - 210 + 128 - 70, 127])
