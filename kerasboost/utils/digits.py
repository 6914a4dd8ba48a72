"""The offline classification data of the demo and of the planted sick models, and how they compile.

Scikit-learn's bundled digits (or the mnist1d generator), standardized and split 80/20, and a
compile for their classes. Both the command-line demo and `kerasboost.testing.sick_models` use
them; here, on the lowest floor, neither imports the other.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def load_data(name: str, seed: int, standardize: bool = True):
    """(x_train, y_train, x_val, y_val): a seeded 80/20 split of digits or mnist1d, standardized
    with the training rows' statistics unless `standardize=False` (the raw features)."""
    # scikit-learn and mnist1d are imported when data is loaded (start-up cost: `import kerasboost`
    # loads neither)
    if name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
    else:
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())
        x, y = np.concatenate([data["x"], data["x_test"]]), np.concatenate([data["y"], data["y_test"]])
    x = x.astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order].astype("int32")
    n_val = len(x) // 5
    if standardize:
        mean, std = x[n_val:].mean(0), x[n_val:].std(0) + 1e-6
        x = (x - mean) / std
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def compile_model(model: Any, optimizer: Any, jit_compile: bool | str = True) -> Any:
    """Compile for the digits classes: sparse cross-entropy on logits, accuracy; XLA unless
    `jit_compile` says otherwise (`False` or `"auto"`, as in `keras.Model.compile`)."""
    model.compile(
        optimizer,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model
