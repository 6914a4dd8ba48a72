"""kerasboost.initializers (components arrive with their issues; see the CHANGELOG)."""

__all__: list[str] = []
