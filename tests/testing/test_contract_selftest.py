"""The harness tests itself: planted broken objects must fail the right check.

Without these, a green contract sweep would mean nothing.
"""

import keras
import pytest

from kerasboost.testing import (
    ContractCase,
    ContractError,
    check_config,
    check_exports,
    check_precision,
    check_registry,
    check_saving,
    check_validation,
    check_xla,
)
from tests.testing.planted import (
    PLANTED,
    AcceptsAnything,
    DropsArg,
    Float16Schedule,
    NoJit,
    NumpyInCall,
    PythonBranch,
    Unregistered,
    UntrackedState,
    VagueError,
)

IMPORTS = ["tests.testing.planted"]  # the fresh process may import the planted classes


def case(cls, **kwargs):
    return ContractCase(cls, kwargs.pop("kwargs", {"rate": 0.01}), package=PLANTED, **kwargs)


def assert_fails(check, contract_case, *fragments):
    with pytest.raises(ContractError) as info:
        check(contract_case)
    message = str(info.value)
    assert message.startswith(f"{contract_case.name}: check '"), message
    for fragment in fragments:
        assert fragment in message, message


def test_config_check_catches_a_dropped_argument():
    assert_fails(check_config, case(DropsArg), "check 'config'", "['decay']")
    check_xla(case(DropsArg))  # the other checks do not mask it: only config is broken


def test_xla_check_catches_numpy_inside_call():
    assert_fails(check_xla, case(NumpyInCall, kwargs={}), "NumpyInCall: check 'xla'")
    check_config(case(NumpyInCall, kwargs={}))


def test_xla_check_catches_keras_falling_back_from_jit_compile():
    assert_fails(check_xla, case(NoJit, kwargs={}), "NoJit: check 'xla'", "doesn't support `jit_compile=True`")


def test_xla_check_catches_python_branching_on_the_step():
    assert_fails(check_xla, case(PythonBranch), "PythonBranch: check 'xla'")


def test_registry_check_catches_an_unregistered_object():
    assert_fails(check_registry, case(Unregistered), "check 'registry'", "not registered")


def test_saving_check_catches_an_unregistered_object_and_state_outside_variables_in_a_fresh_process(tmp_path):
    # both planted objects saved and loaded by one fresh process, as the sweep does for its groups
    results = check_saving([case(Unregistered), case(UntrackedState, kwargs={})], str(tmp_path), imports=IMPORTS)
    assert results["Unregistered"] is not None
    assert "Unregistered: check 'saving' failed" in results["Unregistered"]
    assert "predictions after loading differ" in results["UntrackedState"]


def test_saving_with_the_xla_check_reports_the_xla_failure_and_saves_nothing(tmp_path):
    results = check_saving([case(NoJit, kwargs={})], str(tmp_path), imports=IMPORTS, xla=True)
    assert "NoJit: check 'xla' failed" in results["NoJit"], results
    assert not list(tmp_path.glob("*.keras"))  # the fresh process never ran


def test_validation_check_catches_accepted_bad_values():
    bad = case(AcceptsAnything, invalid=[({"rate": -1.0}, "rate")])
    assert_fails(check_validation, bad, "rate=-1.0 was accepted")


def test_validation_check_catches_a_message_without_the_argument():
    bad = case(VagueError, invalid=[({"rate": -1.0}, "rate")])
    assert_fails(check_validation, bad, "does not name `rate`")


def test_validation_check_demands_invalid_values():
    assert_fails(check_validation, case(AcceptsAnything), "lists no invalid values")


def test_precision_check_catches_a_float16_schedule():
    assert_fails(check_precision, case(Float16Schedule), "float16, expected float32")


def test_exports_check_catches_a_registration_outside_api_export():
    class Ghost(Unregistered):
        pass

    objects = keras.saving.get_custom_objects()
    keras.saving.register_keras_serializable("kerasboost")(Ghost)
    try:
        with pytest.raises(ContractError, match=r"registered only \['kerasboost>Ghost'\]"):
            check_exports([])
    finally:
        del objects["kerasboost>Ghost"]


def test_exports_check_catches_a_public_object_without_a_case():
    from tests.test_contract import CASES

    with pytest.raises(ContractError, match="without a contract case: \\['kerasboost>OneCycle'\\]"):
        check_exports([c for c in CASES if c.cls.__name__ != "OneCycle"])
