"""The contract every public kerasboost object must pass.

One `ContractCase` describes an object: its class, a minimal valid config and
the invalid values its constructor must reject. The checks below take a case
and raise `ContractError` naming the case and the check when the object breaks
the contract:

1. `check_registry`: registered as `package>ClassName`; resolves by string.
2. `check_config`: every `__init__` parameter in `get_config()`;
   `from_config(get_config())` gives an equal config; the object survives
   `serialize_keras_object` -> `json.dumps` -> `deserialize_keras_object`
   with no `custom_objects`.
3. `check_xla`: a tiny model using the object compiles with
   `jit_compile=True` (Keras's fallback warning is an error and
   `model.jit_compile is True` is asserted), fits 2 steps, and matches the
   same 2 steps run eagerly (`jit_compile=False`, `run_eagerly=True`) within
   the case's tolerance. On PyTorch
   (no XLA) it fits 2 steps with Keras's default `jit_compile` instead, and
   every other check runs with that default too.
4. `check_saving`: `.keras` save, then in a fresh Python process that only
   imports kerasboost, `load_model(..., safe_mode=True)`: predictions equal,
   optimizer state (`iterations`, slots) restored, and one more training step
   equals the same step in the original process. With `xla=True` (and in
   `run_contract` when both checks are asked for) the model `check_xla`
   trained is the one saved: one XLA compile of the step serves both.
5. `check_precision`: under `mixed_float16` variables stay float32, outputs
   have the dtype `compute_output_spec` promises, schedules return float32;
   the 2 steps are traced as a graph but not compiled with XLA (the dtypes
   are the property; every case's XLA step is `check_xla`'s).
6. backends: run the same checks with `KERAS_BACKEND=jax` and `torch`.
7. `check_validation`: each listed invalid value raises `ValueError` whose
   message names the argument and the value (`arg=value`).

`check_exports` checks a whole table at once: the registered `kerasboost>`
keys equal the public exports, each resolves, and each has a case.

Example (extending kerasboost with an object of your own):

```python
from kerasboost.testing import ContractCase, run_contract

case = ContractCase(MySchedule, {"rate": 0.1}, invalid=[({"rate": -1.0}, "rate")],
                    package="my_package")
run_contract(case)   # raises ContractError on the first broken check
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np

from kerasboost import api_export

KINDS = ("schedule", "optimizer", "layer", "initializer", "regularizer", "constraint")
CHECKS = ("registry", "config", "xla", "saving", "precision", "validation")


class ContractError(AssertionError):
    """An object broke the contract; the message names the object and check."""


@dataclasses.dataclass(frozen=True)
class ContractCase:
    """One row of the contract table.

    Args:
        cls: the class under test.
        kwargs: a minimal valid config, or a zero-argument callable returning
            one (use a callable when the config holds objects, e.g. a nested
            schedule, so that each check gets fresh ones).
        invalid: `(overrides, argument)` pairs: `cls(**{**kwargs, **overrides})`
            must raise `ValueError` naming `argument` and its value.
        id: the case's name in reports (defaults to the class name).
        input_shape: the per-sample input shape of the tiny model (layers).
        tolerance: absolute and relative tolerance of the XLA vs non-XLA and
            fresh-process comparisons.
        package: the registration package (`kerasboost` for kerasboost's
            own objects).
        random_on_tensorflow: the object draws random numbers; TensorFlow's
            XLA and non-XLA kernels draw different streams from the same seed,
            so on TensorFlow the XLA check compares only that both runs give
            finite weights (on JAX the streams agree and the comparison stays).
        model: optional `obj -> keras.Model` building the tiny (uncompiled)
            model for objects the default one cannot hold (e.g. a convolution
            initializer); its input shape must be `input_shape` and its
            output `(batch, 3)`.
    """

    cls: type
    kwargs: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    invalid: Sequence[tuple[Mapping[str, Any], str]] = ()
    id: str | None = None
    input_shape: tuple[int, ...] = (6,)
    tolerance: float = 1e-5
    package: str = "kerasboost"
    model: Callable[[Any], keras.Model] | None = None
    random_on_tensorflow: bool = False

    @property
    def name(self) -> str:
        return self.id or self.cls.__name__

    @property
    def key(self) -> str:
        return f"{self.package}>{self.cls.__name__}"

    @property
    def kind(self) -> str:
        return kind_of(self.cls)

    def config(self) -> dict:
        return dict(self.kwargs() if callable(self.kwargs) else self.kwargs)

    def make(self) -> Any:
        return self.cls(**self.config())


def kind_of(cls: type) -> str:
    """The contract kind of a class (which tiny model and resolver to use): `api_export.kind_of`
    (a model is a layer to the contract), which must be one of `KINDS`."""
    kind = api_export.kind_of(cls) if isinstance(cls, type) else "function"
    kind = "layer" if kind == "model" else kind
    if kind not in KINDS:
        raise ContractError(f"{cls!r} is none of the contract kinds {KINDS}")
    return kind


@contextlib.contextmanager
def _check(case: ContractCase, check: str):
    """Turn any failure inside a check into a ContractError naming both."""
    try:
        yield
    except ContractError as e:
        if str(e).startswith(f"{case.name}: "):
            raise
        raise ContractError(f"{case.name}: check '{check}' failed: {e}") from e
    except Exception as e:  # every failure is a contract failure
        raise ContractError(f"{case.name}: check '{check}' failed: {type(e).__name__}: {e}") from e


def _fail(message: str):
    raise ContractError(message)


# ----------------------------------------------------------------------------- 1. registry


def _resolve_by_string(case: ContractCase, config: dict) -> Any:
    """Resolve the object the way users do, by its registered key."""
    spec = {"class_name": case.key, "config": config}
    kind = case.kind
    if kind == "schedule":
        return keras.optimizers.schedules.deserialize(spec)
    if kind == "optimizer":
        obj = keras.optimizers.get(spec)
        if not _required_params(case.cls):
            keras.optimizers.get(case.key)
        return obj
    if kind == "initializer":
        obj = keras.initializers.get(spec)
        if not _required_params(case.cls):
            layer = keras.layers.Dense(2, kernel_initializer=case.key)
            if not isinstance(layer.kernel_initializer, case.cls):
                _fail(f"Dense(kernel_initializer={case.key!r}) did not resolve")
        return obj
    if kind == "regularizer":
        return keras.regularizers.get(spec)
    if kind == "constraint":
        return keras.constraints.get(spec)
    return keras.layers.deserialize(spec)


def check_registry(case: ContractCase) -> None:
    """Registered as `package>ClassName`, and resolvable by that string."""
    with _check(case, "registry"):
        name = keras.saving.get_registered_name(case.cls)
        if name != case.key:
            _fail(f"registered name is {name!r}, expected {case.key!r} (not registered?)")
        if keras.saving.get_registered_object(case.key) is not case.cls:
            _fail(f"{case.key!r} does not resolve to {case.cls.__name__}")
        obj = _resolve_by_string(case, case.make().get_config())
        if not isinstance(obj, case.cls):
            _fail(f"resolving {case.key!r} gave {type(obj).__name__}")


# ----------------------------------------------------------------------------- 2. config


def _required_params(cls: type) -> list[str]:
    return [p.name for p in _init_params(cls) if p.default is inspect.Parameter.empty]


def _init_params(cls: type) -> list[inspect.Parameter]:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # type: ignore[misc]
    return [p for p in params if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


def _same(a: Any, b: Any) -> bool:
    """Deep equality of configs (floats compared exactly, NaN equal to NaN)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def check_config(case: ContractCase) -> None:
    """Every `__init__` argument in the config; equal round trips, JSON included."""
    with _check(case, "config"):
        obj = case.make()
        config = obj.get_config()
        missing = [p.name for p in _init_params(case.cls) if p.name not in config]
        if missing:
            _fail(f"__init__ arguments missing from get_config(): {missing}")
        rebuilt = case.cls.from_config(config).get_config()  # type: ignore[attr-defined]
        if not _same(rebuilt, config):
            _fail(f"from_config(get_config()) changed the config:\n{config}\n!=\n{rebuilt}")
        text = json.dumps(keras.saving.serialize_keras_object(obj))
        restored = keras.saving.deserialize_keras_object(json.loads(text))
        if type(restored) is not case.cls:
            _fail(f"JSON round trip gave {type(restored).__name__}")
        if not _same(restored.get_config(), config):
            _fail(f"JSON round trip changed the config:\n{config}\n!=\n{restored.get_config()}")


# ----------------------------------------------------------------------------- tiny models

_BATCH, _SAMPLES, _OUTPUTS = 8, 16, 3


def _data(case: ContractCase) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    x = rng.normal(size=(_SAMPLES, *case.input_shape)).astype("float32")
    y = rng.normal(size=(_SAMPLES, _OUTPUTS)).astype("float32")
    return x, y


def _build(case: ContractCase, obj: Any) -> tuple[keras.Model, Any]:
    """A tiny model that uses `obj`, and the optimizer to compile it with."""
    kind = case.kind
    inputs = keras.Input(case.input_shape)
    hidden_kwargs = {}
    optimizer: Any = keras.optimizers.Adam(learning_rate=0.01)
    if kind == "schedule":
        optimizer = keras.optimizers.Adam(learning_rate=obj)
    elif kind == "optimizer":
        optimizer = obj
    elif kind == "initializer":
        hidden_kwargs["kernel_initializer"] = obj
    elif kind == "regularizer":
        hidden_kwargs["kernel_regularizer"] = obj
    elif kind == "constraint":
        hidden_kwargs["kernel_constraint"] = obj
    if case.model is not None:
        return case.model(obj), optimizer
    x = inputs
    if kind == "layer":
        x = obj(x)
        if len(x.shape) > 2:
            x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(8, activation="tanh", **hidden_kwargs)(x)
    outputs = keras.layers.Dense(_OUTPUTS)(x)
    return keras.Model(inputs, outputs, name=f"contract_{case.cls.__name__}"), optimizer


def _compiles() -> bool:
    """Whether the backend compiles the step with XLA (TensorFlow, JAX). PyTorch's
    `jit_compile=True` is `torch.compile`, not what the contract checks: there every fit runs
    with Keras's default (eager)."""
    return keras.backend.backend() != "torch"


def _train(
    case: ContractCase, jit_compile: bool, weights: list | None = None, run_eagerly: bool = False
) -> keras.Model:
    """Fit the case's tiny model 2 steps. `run_eagerly=True` (the reference of the XLA check)
    runs the steps op by op: the same values as a traced non-XLA step, without tracing it."""
    jit_compile = jit_compile and _compiles()
    keras.utils.set_random_seed(0)
    model, optimizer = _build(case, case.make())
    if weights is not None:
        model.set_weights(weights)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*jit_compile.*")
        model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile, run_eagerly=run_eagerly)
    if model.jit_compile is not jit_compile:
        _fail(f"model.jit_compile is {model.jit_compile!r} after compile(jit_compile={jit_compile})")
    x, y = _data(case)
    model.fit(x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0)
    return model


def compare_arrays(what: str, expected: Any, actual: Any, tolerance: float) -> None:
    """Raise `ContractError` unless `actual` has `expected`'s shape and values (rtol = atol = tolerance)."""
    e, a = np.asarray(expected, dtype="float64"), np.asarray(actual, dtype="float64")
    if e.shape != a.shape:
        _fail(f"{what}: shape {a.shape} != {e.shape}")
    if not np.allclose(a, e, rtol=tolerance, atol=tolerance):
        _fail(f"{what} differs (max abs diff {np.max(np.abs(a - e))}, tolerance {tolerance})")


def _compare(name: str, expected: Sequence, actual: Sequence, tolerance: float) -> None:
    if len(expected) != len(actual):
        _fail(f"{name}: {len(expected)} arrays expected, got {len(actual)}")
    for i, (e, a) in enumerate(zip(expected, actual)):
        compare_arrays(f"{name}[{i}]", e, a, tolerance)


# ----------------------------------------------------------------------------- 3. XLA


def check_xla(case: ContractCase) -> None:
    """Fits 2 steps under `jit_compile=True` and matches the same 2 steps run eagerly (PyTorch:
    fits 2 steps with Keras's default `jit_compile`, and the weights stay finite)."""
    _xla_trained(case)


def _xla_trained(case: ContractCase) -> keras.Model:
    """`check_xla`, returning the model it trained under XLA (PyTorch: the eager one), so that
    `check_saving(..., xla=True)` saves that model instead of compiling another."""
    with _check(case, "xla"):
        if not _compiles():
            model = _train(case, jit_compile=False)
            for w in model.get_weights():
                if not np.all(np.isfinite(w)):
                    _fail("non-finite weights after 2 steps")
            return model
        keras.utils.set_random_seed(0)
        initial = _build(case, case.make())[0].get_weights()
        xla = _train(case, jit_compile=True, weights=initial)
        plain = _train(case, jit_compile=False, weights=initial, run_eagerly=True)
        if case.random_on_tensorflow and keras.backend.backend() == "tensorflow":
            for w in xla.get_weights() + plain.get_weights():
                if not np.all(np.isfinite(w)):
                    _fail("non-finite weights after 2 steps")
            return xla
        _compare("weights after 2 XLA steps vs non-XLA", plain.get_weights(), xla.get_weights(), case.tolerance)
        return xla


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The model's inference output on `x`, called directly (no compiled predict function:
    the checks compare values, and each `predict` under XLA would be a compile of its own)."""
    return keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(x), training=False))


# ----------------------------------------------------------------------------- 4. saving

_LOADER = "kerasboost.testing._fresh_load"


def _optimizer_state(model: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]


def check_saving(
    cases: Iterable[ContractCase],
    workdir: str | None = None,
    imports: Sequence[str] = (),
    xla: bool = False,
) -> dict[str, str | None]:
    """Save each case's trained model; load all in ONE fresh process.

    The fresh process imports `kerasboost` and the modules named in `imports`
    (for objects defined outside kerasboost: the module that registers them),
    nothing else. Returns `{case.name: None or the failure message}`;
    `run_contract` and the test sweep raise on a message. One process serves
    every case because a fresh Python that imports TensorFlow costs seconds.

    With `xla=True` each case first passes `check_xla`, and the model that check
    trained under XLA is the one saved: both checks for one XLA compile of the
    training step (a failure of either is the case's message).
    """
    cases = list(cases)
    results: dict[str, str | None] = {}
    workdir = workdir or tempfile.mkdtemp(prefix="kerasboost-contract-")
    manifest = []
    for i, case in enumerate(cases):
        try:
            trained = _xla_trained(case) if xla else None
            with _check(case, "saving"):
                model = trained if trained is not None else _train(case, jit_compile=True)
                path = os.path.join(workdir, f"case{i}.keras")
                model.save(path)
                x, y = _data(case)
                prediction = predict(model, x)
                state = _optimizer_state(model)
                model.fit(x, y, batch_size=_BATCH, epochs=1, shuffle=False, verbose=0)
                arrays: dict[str, Any] = {"x": x, "y": y, "prediction": prediction}
                arrays.update({f"state{j}": s for j, s in enumerate(state)})
                arrays.update({f"resumed{j}": w for j, w in enumerate(model.get_weights())})
                np.savez(os.path.join(workdir, f"case{i}.npz"), **arrays)
                manifest.append(
                    {
                        "name": case.name,
                        "model": path,
                        "arrays": os.path.join(workdir, f"case{i}.npz"),
                        "state": len(state),
                        "weights": len(model.get_weights()),
                        "tolerance": case.tolerance,
                        "batch_size": _BATCH,
                        "jit_compile": model.jit_compile,
                    }
                )
                results[case.name] = None
        except ContractError as e:
            results[case.name] = str(e)
    if not manifest:
        return results
    manifest_path = os.path.join(workdir, "manifest.json")
    report_path = os.path.join(workdir, "report.json")
    with open(manifest_path, "w") as f:
        json.dump({"imports": list(imports), "cases": manifest}, f)
    env = dict(
        os.environ,
        KERAS_BACKEND=keras.backend.backend(),
        TF_CPP_MIN_LOG_LEVEL="2",
        # the caller's import path, so that `imports` resolve as they do here
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
    )
    proc = subprocess.run(
        [sys.executable, "-m", _LOADER, manifest_path, report_path],
        cwd=workdir,  # nothing of the caller's importable but installed packages
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = {}
    if os.path.exists(report_path):
        with open(report_path) as f:
            report = json.load(f)
    for entry in manifest:
        name = entry["name"]
        if name not in report:
            tail = (proc.stdout + proc.stderr)[-2000:]
            results[name] = f"{name}: check 'saving' failed: the fresh process gave no result:\n{tail}"
        elif report[name] is not None:
            results[name] = f"{name}: check 'saving' failed in a fresh process: {report[name]}"
    return results


# ----------------------------------------------------------------------------- 5. precision


def check_precision(case: ContractCase) -> None:
    """Under `mixed_float16`: float32 variables and schedules, promised output dtypes."""
    with _check(case, "precision"):
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            obj = case.make()
            if case.kind == "schedule":
                value = obj(keras.ops.convert_to_tensor(3, "int64"))
                dtype = keras.backend.standardize_dtype(value.dtype)
                if dtype != "float32":
                    _fail(f"the schedule returned {dtype}, expected float32")
            if case.kind == "layer" and case.model is None:
                x, _ = _data(case)
                spec = obj.compute_output_spec(keras.KerasTensor(x.shape, "float32"))
                out = obj(x, training=False)
                got = keras.backend.standardize_dtype(out.dtype)
                if got != spec.dtype:
                    _fail(f"output dtype {got} differs from compute_output_spec's {spec.dtype}")
            model = _train(case, jit_compile=False)
            for v in model.trainable_variables + model.optimizer.variables:
                dtype = keras.backend.standardize_dtype(v.dtype)
                if "float" in dtype and dtype != "float32":
                    _fail(f"variable {v.path} is {dtype}, expected float32")
            x, _ = _data(case)
            if not np.all(np.isfinite(predict(model, x))):
                _fail("non-finite predictions after a mixed-precision fit")
        finally:
            keras.mixed_precision.set_global_policy(previous)


# ----------------------------------------------------------------------------- 7. validation


def check_validation(case: ContractCase) -> None:
    """Each invalid value raises ValueError naming the argument and the value."""
    with _check(case, "validation"):
        if not case.invalid and _init_params(case.cls):
            _fail("the case lists no invalid values; every constructor must be probed")
        for overrides, argument in case.invalid:
            kwargs = {**case.config(), **overrides}
            shown = f"{argument}={overrides[argument]!r}" if argument in overrides else argument
            try:
                case.cls(**kwargs)
            except ValueError as e:
                message = str(e)
                if argument not in message:
                    _fail(f"the error for {shown} does not name `{argument}`: {message!r}")
                if argument in overrides and repr(overrides[argument]) not in message:
                    _fail(f"the error for {shown} does not show the value: {message!r}")
            except Exception as e:
                _fail(f"{shown} raised {type(e).__name__} instead of ValueError: {e}")
            else:
                _fail(f"{shown} was accepted; it must raise ValueError")


# ----------------------------------------------------------------------------- the whole table


def check_exports(cases: Iterable[ContractCase], package: str = "kerasboost") -> None:
    """Registered `package>` keys == public exports, and each has a case."""
    registered = {key for key in keras.saving.get_custom_objects() if key.startswith(package + ">")}
    exported = set(api_export.registered_exports().values())
    if registered != exported:
        raise ContractError(
            f"registered keys and public exports differ: registered only "
            f"{sorted(registered - exported)}, exported only {sorted(exported - registered)}"
        )
    covered = {case.key for case in cases}
    uncovered = exported - covered
    if uncovered:
        raise ContractError(f"public objects without a contract case: {sorted(uncovered)}")


PER_CASE_CHECKS: dict[str, Callable[[ContractCase], None]] = {
    "registry": check_registry,
    "config": check_config,
    "xla": check_xla,
    "precision": check_precision,
    "validation": check_validation,
}


def run_contract(case: ContractCase, checks: Sequence[str] = CHECKS, imports: Sequence[str] = ()) -> None:
    """Run the named checks on one case; raise `ContractError` on the first failure.

    `imports` are the modules the fresh process of `check_saving` imports
    besides kerasboost (those that register objects defined elsewhere).
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ValueError(f"`checks` must be a subset of {CHECKS}. Received: checks={checks!r}")
    both = "xla" in checks and "saving" in checks  # one XLA-trained model serves both
    for check in checks:
        if check == "xla" and both:
            continue
        if check == "saving":
            message = check_saving([case], imports=imports, xla=both)[case.name]
            if message:
                raise ContractError(message)
        else:
            PER_CASE_CHECKS[check](case)
            keras.backend.clear_session()
