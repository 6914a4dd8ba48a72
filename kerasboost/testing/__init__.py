"""The contract harness: the checks every public kerasboost object passes.

Public, so that code extending kerasboost can hold its own objects to the same
contract; see `kerasboost.testing.contract` for what each check asserts.
"""

from kerasboost.testing.contract import (
    CHECKS,
    ContractCase,
    ContractError,
    check_config,
    check_exports,
    check_precision,
    check_registry,
    check_saving,
    check_validation,
    check_xla,
    run_contract,
)

__all__ = [
    "CHECKS",
    "ContractCase",
    "ContractError",
    "check_config",
    "check_exports",
    "check_precision",
    "check_registry",
    "check_saving",
    "check_validation",
    "check_xla",
    "run_contract",
]
