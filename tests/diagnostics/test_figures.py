"""Every figure the package draws explains itself: labelled axes, a legend or colorbar where colour
carries meaning, titles and tick labels that do not overlap (checked on the drawn matplotlib objects)."""

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from kerasboost import diagnostics


def _boxes_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_readable(fig, legends=(), colorbar_labels=(), shared_labels=False):
    """Labels on every plotting axes (or, with `shared_labels`, on the figure); no title over
    another axes; no tick label over another one; the named axes have legends; the colorbars
    carry the given labels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    plots = [ax for ax in fig.axes if ax not in colorbars and ax.axison]
    if shared_labels:
        assert fig.get_supxlabel() and fig.get_supylabel()
    for ax in plots:
        if not shared_labels:
            assert ax.get_xlabel() or ax.get_xticklabels() == [], f"no x label on {ax.get_title()!r}"
            assert ax.get_ylabel(), f"no y label on {ax.get_title()!r}"
        title = ax.title.get_window_extent(renderer)
        for other in plots:
            if other is not ax and ax.get_title():
                assert not _boxes_overlap(title, other.get_window_extent(renderer)), (
                    f"title {ax.get_title()!r} overlaps"
                )
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1 :]:
                    assert not _boxes_overlap(a, b), f"tick labels overlap on {ax.get_title()!r}"
    for index in legends:
        legend = plots[index].get_legend()
        assert legend is not None and legend.get_texts(), f"no legend on axes {index}"
    labels = {ax.get_ylabel() or ax.get_xlabel() for ax in colorbars}
    assert set(colorbar_labels) <= labels, labels


def _records(layers, steps=12):
    return [
        {
            "step": s,
            **{f"grad_norm/{name}": 10.0 ** (-6 + j * 5 / len(layers)) / (1 + s) for j, name in enumerate(layers)},
        }
        for s in range(steps)
    ]


def test_gradient_flow_by_depth_with_moments_bands_and_a_colorbar():
    layers = [f"model/dense_{i:02d}" for i in range(40)]
    fig = diagnostics.plot_gradient_flow(_records(layers), layers)
    assert_readable(fig, legends=[0], colorbar_labels=["layer depth (0 = input side)"])
    main = fig.axes[0]
    texts = [t.get_text() for t in main.get_legend().get_texts()]
    assert texts[:3] == ["step 0", "step 6", "step 11"] and any("vanishing" in t for t in texts)
    assert [len(line.get_xdata()) for line in main.get_lines()] == [40, 40, 40]  # one point per layer
    assert len(main.get_xticklabels()) <= 25  # thinned to stay readable


def test_gradient_flow_before_any_record_is_a_clear_error():
    with pytest.raises(ValueError, match="run `fit` with GradientStatistics first"):
        diagnostics.plot_gradient_flow([], ["a"])


def test_activations_by_depth_with_percentile_bands_and_fractions():
    model = keras.Sequential(
        [keras.Input((6,))]
        + [keras.layers.Dense(16, activation="relu") for _ in range(6)]
        + [keras.layers.Dense(16, activation="tanh") for _ in range(6)]
    )
    report = diagnostics.activation_report(model, np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    fig = diagnostics.plot_activations(report)
    assert_readable(fig, legends=[0, 1])
    top, bottom = fig.axes
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == ["dead units (rectifiers)", "saturated outputs"]
    low, high = top.get_ylim()
    values = np.concatenate([row.values for row in report])
    assert low <= np.percentile(values, 5) and high >= np.percentile(values, 95)


def test_schedule_plot_is_labelled():
    from kerasboost import schedules

    fig = diagnostics.plot_schedule(schedules.OneCycle(0.1, 100), 100)
    assert_readable(fig)


def test_trials_plot_shows_what_varied_ranked_with_readable_ticks(tmp_path):
    import keras_tuner

    from kerasboost.tuning import plot_trials

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")

    def build(hp):
        hp.Fixed("unused", 3)  # one value: never a panel
        units = hp.Choice("units", [2, 4])
        learning_rate = hp.Float("learning_rate", 2.8e-4, 3e-4)  # close small floats: the overlap case
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(learning_rate), "mse")
        return model

    tuner = keras_tuner.RandomSearch(build, objective="loss", max_trials=4, directory=str(tmp_path), seed=1)
    tuner.search(x, y, epochs=1, verbose=0)
    fig = plot_trials(tuner)
    assert_readable(fig, legends=[0])
    titles = [ax.get_title() for ax in fig.axes[1:]]
    assert sorted(t.split(" (")[0] for t in titles) == ["learning_rate", "units"]
    trial_ticks = [t for t in fig.axes[0].get_xticks() if t == int(t)]
    assert len(trial_ticks) == len(fig.axes[0].get_xticks())  # whole trials only


def test_schedule_gallery_is_labelled_once_for_all_panels():
    from kerasboost.diagnostics.gallery import schedule_gallery

    assert_readable(schedule_gallery(), shared_labels=True)


def test_learning_rate_finder_plot_names_its_suggestions():
    from kerasboost.callbacks import LearningRateFinder

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e-3), "mse")
    x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    finder = LearningRateFinder(min_lr=1e-4, max_lr=1.0, num_steps=32)
    model.fit(x, x @ np.ones((4, 1), "float32"), batch_size=8, epochs=1, verbose=0, callbacks=[finder])
    fig = finder.plot()
    assert_readable(fig, legends=[0])
    assert fig.axes[0].get_xscale() == "log"
