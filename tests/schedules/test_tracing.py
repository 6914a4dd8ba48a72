"""A schedule is traced once per step and graph under TensorFlow (Keras asks for the learning rate
once per variable in weight decay), and gives the same values as calling it each time."""

import keras
import numpy as np
import pytest

from kerasboost.schedules import OneCycle, SequentialSchedule, Warmup

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow graphs")


def _schedule():
    return Warmup(OneCycle(1e-2, total_steps=100), warmup_steps=10)


def test_calls_with_one_step_in_one_graph_share_one_trace_and_the_value():
    import tensorflow as tf

    schedule = _schedule()
    step = tf.Variable(3, dtype="int64")

    @tf.function(autograph=False)
    def many():
        return tf.stack([schedule(step) for _ in range(40)])

    graph = many.get_concrete_function().graph
    once = tf.function(lambda: schedule(step), autograph=False).get_concrete_function().graph
    # 40 calls cost the ops of one call (plus the stack), not 40 times them
    assert len(graph.get_operations()) < len(once.get_operations()) + 10
    np.testing.assert_allclose(many().numpy(), np.full(40, float(schedule(3))), rtol=1e-6)
    step.assign(12)  # the traced graph reads the step each time it runs
    np.testing.assert_allclose(many().numpy(), np.full(40, float(schedule(12))), rtol=1e-6)


def test_the_step_counter_assigned_in_between_is_read_again():
    import tensorflow as tf

    schedule = _schedule()
    step, weight = tf.Variable(0, dtype="int64"), tf.Variable(1.0)
    shared = []

    @tf.function(autograph=False)
    def step_twice():
        first = schedule(step)
        weight.assign(2.0)  # a weight's update (weight decay) keeps the step's value
        again = schedule(step)
        shared.append(again is first)
        step.assign_add(5)  # the step counter's does not
        return first, again, schedule(step)

    first, again, second = step_twice()
    assert shared == [True]
    assert float(first) == float(again) == pytest.approx(float(schedule(0)))
    assert float(second) == pytest.approx(float(schedule(5))) and float(first) != float(second)


def test_eager_calls_follow_the_variable():
    import tensorflow as tf

    schedule = SequentialSchedule([Warmup(1e-3, 5), OneCycle(1e-3, 50)], boundaries=[5])
    step = tf.Variable(0, dtype="int64")
    values = []
    for _ in range(8):
        values.append(float(schedule(step)))
        step.assign_add(1)
    np.testing.assert_allclose(values, [float(schedule(i)) for i in range(8)], rtol=1e-6)
    assert len(set(values)) == 8


def test_adamw_first_fit_traces_the_schedule_once_per_step_not_per_variable():
    calls = []
    schedule = _schedule()
    inner = type(schedule.schedule).__call__
    # count the traces of the inner schedule: one per trace of the step, whatever the variables
    type(schedule.schedule).__call__ = lambda self, step: calls.append(1) or inner(self, step)
    try:
        model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(6)])
        model.compile(keras.optimizers.AdamW(schedule), "mse", jit_compile=True)
        model.fit(np.ones((8, 4)), np.ones((8, 4)), batch_size=8, epochs=1, verbose=0)
    finally:
        type(schedule.schedule).__call__ = inner
    # 12 variables; Keras traces the step twice and evaluates the rate once for the update and
    # once per variable for the weight decay; Warmup calls its schedule twice per evaluation
    assert 0 < len(calls) <= 2 * 2 * 2, len(calls)
