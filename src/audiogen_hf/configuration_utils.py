"""The one field check of every configuration (model configs, the spectrogram converter, image settings): a bad value
raises a ``ValueError`` that names the owner, the field, the value and what is allowed."""


def check_field(owner: str, ok: bool, field: str, value, allowed: str) -> None:
    """Raise ``ValueError("<owner>: invalid <field>=<value>; it must be <allowed>")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{owner}: invalid {field}={value!r}; it must be {allowed}")


def check_fields(owner: str, checks: list) -> None:
    """``check_field`` for each ``(ok, field, value, allowed)`` tuple of ``checks``, in order."""
    for ok, field, value, allowed in checks:
        check_field(owner, ok, field, value, allowed)
