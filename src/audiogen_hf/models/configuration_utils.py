"""Validation shared by the model configurations."""


def check_fields(config_name: str, checks: list) -> None:
    """Raise a ``ValueError`` naming the first failing field of ``checks``: ``(ok, field, value, allowed)`` tuples."""
    for ok, field, value, allowed in checks:
        if not ok:
            raise ValueError(f"{config_name}: invalid {field}={value!r}; it must be {allowed}")
