"""Fuzzed constructor arguments for every public object of the contract sweep.

Each generated config replaces some of a valid config's scalar arguments with extreme floats,
NaN, infinities, huge integers, strings, None, booleans or lists. The object must either be
built — holding exactly the values it was given (nothing silently clamped) and surviving a
config round trip — or raise `ValueError` naming one of the replaced arguments. Any other
exception is a failure. 100 configs per object (`HYPOTHESIS_PROFILE=thorough`: 1000).

Of the accepted configs, the most extreme ones (most replaced values at 0, below 1e-6 or above
1e6 in magnitude) then train one XLA step in the contract's tiny model: the most extreme one per
object in CI, 10 with `thorough`. Every config's compile costs about a second on a 2-core CPU, hence the sample.
"""

import dataclasses
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasboost.testing.contract import _train
from tests.test_contract import CASES

# the slow tier: 100 fuzzed configs and an XLA fit per object (~2-5 s each); the inner tier
# checks every constructor's listed bad values (test_contract.py, check "validation")
pytestmark = pytest.mark.slow

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
XLA_STEPS = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1

VALUES = st.one_of(
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-300, -1e300, 1e300, 0.5, -1.0, 2.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=2),
)


def _scalar_keys(config):
    return sorted(k for k, v in config.items() if v is None or isinstance(v, (bool, int, float, str)))


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return (a == b and type(a) is type(b)) or (
        isinstance(a, (int, float))
        and not isinstance(a, bool)
        and isinstance(b, (int, float))
        and not isinstance(b, bool)
        and a == b
    )


# Keras's own build-time message for a convolution kernel larger than its input
SHAPE_ERRORS = {"kernel_size": ("kernel shape=",)}


def _extremeness(replaced):
    return sum(
        isinstance(v, (int, float)) and not isinstance(v, bool) and (v == 0 or not 1e-6 <= abs(v) <= 1e6)
        for v in replaced.values()
    )


def _round_trip(obj):
    config = obj.get_config()
    again = type(obj).from_config(config)
    assert again.get_config().keys() == config.keys()
    return config


FUZZABLE = [c for c in CASES if _scalar_keys(c.config())]


@pytest.mark.parametrize("case", FUZZABLE, ids=[c.name for c in FUZZABLE])
def test_fuzzed_arguments_build_exactly_or_fail_with_a_named_value_error(case):
    keys = _scalar_keys(case.config())
    accepted = []  # (-extremeness, draw order, replaced values)

    @given(st.data())
    def check(data):
        chosen = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=min(3, len(keys)), unique=True))
        config = case.config()
        replaced = {k: data.draw(VALUES, label=k) for k in chosen}
        config.update(replaced)
        try:
            obj = case.cls(**config)
        except ValueError as e:
            message = str(e)
            assert any(f"`{k}`" in message or k in message for k in replaced), (
                f"{case.name}: ValueError names none of {sorted(replaced)}: {message}"
            )
            return
        except Exception as e:  # the point: nothing but ValueError
            pytest.fail(f"{case.name}({replaced}) raised {type(e).__name__}: {e}")
        saved = _round_trip(obj)
        for k, v in replaced.items():  # numbers are kept exactly (names may be normalized: None -> "linear")
            if (
                k in saved
                and isinstance(v, (int, float))
                and not isinstance(v, bool)
                and isinstance(saved[k], (int, float))
            ):
                # float32 storage may round (16777217 -> 16777216), never clamp (1e-300 -> 0)
                assert _same(saved[k], v) or math.isclose(float(saved[k]), float(v), rel_tol=1e-7), (
                    f"{case.name}: {k}={v!r} was accepted but saved as {saved[k]!r}"
                )
        accepted.append((-_extremeness(replaced), len(accepted), replaced))

    check()
    for _, _, replaced in sorted(accepted, key=lambda a: a[:2])[:XLA_STEPS]:
        try:  # an accepted config trains: one compiled (XLA) fit of the contract's tiny model
            _train(
                dataclasses.replace(case, kwargs=lambda replaced=replaced: {**case.config(), **replaced}),
                jit_compile=True,
            )
        except ValueError as e:  # checks against the input's shape happen at build: they must name the argument
            message = str(e)
            named = [k for k in replaced if f"`{k}`" in message or any(m in message for m in SHAPE_ERRORS.get(k, ()))]
            assert named, f"{case.name}({replaced}) failed at build with a ValueError naming none of them: {message}"
        except Exception as e:
            pytest.fail(
                f"{case.name}({replaced}) was accepted but one XLA training step raised {type(e).__name__}: {e}"
            )
