"""Private helpers shared across kerasboost subpackages (may change freely)."""
