"""Validation shared by the model configurations (the library-wide helper, re-exported where model configs find it)."""

from ..configuration_utils import check_field, check_fields  # noqa: F401
