"""Small helpers shared across the package: optional dependencies (extras) and Hub resolution."""

from .import_utils import MissingExtraError, require

__all__ = ["MissingExtraError", "require"]
