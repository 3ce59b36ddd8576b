"""Kubernetes resource quantities (``500m``, ``1Gi``), parsed by the official client's own parser.

The parser lives in ``kubernetes/utils/quantity.py`` and needs nothing but ``decimal``; importing it the
usual way would first import the whole client package (over a second on this machine), which every
``gitops-gen init`` would pay for. So the file is loaded on its own, by location. A test guards that it still
imports nothing else from the client.
"""

from __future__ import annotations

import importlib.util
import math
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType


@cache
def _official_parser() -> ModuleType:
    package = importlib.util.find_spec("kubernetes")
    if package is None or not package.submodule_search_locations:
        raise ImportError("the kubernetes package is not installed")
    location = Path(next(iter(package.submodule_search_locations))) / "utils" / "quantity.py"
    spec = importlib.util.spec_from_file_location("gitops_gen._kubernetes_quantity", location)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {location}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the quantity as a number; raise ``ValueError`` for what Kubernetes would reject.

    >>> parse_quantity("500m") == parse_quantity(0.5)
    True
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    parsed: Decimal = _official_parser().parse_quantity(value)
    return parsed


# The shape the API server accepts (resource.Quantity's grammar: a decimal number, then a binary or decimal SI
# suffix or an exponent). The Python client's parser is laxer — it hands the number to Decimal(), which also
# takes "Infinity", "1_000" and spaces — so the text must have this shape before the parser reads its value.
_QUANTITY_SHAPE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?")


def is_valid_resource_quantity(value: object) -> bool:
    """A quantity that a container's requests or limits accept: the API server's shape, and not negative."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, str) and not _QUANTITY_SHAPE.fullmatch(value):
        return False
    try:
        return parse_quantity(value) >= 0
    except (ValueError, ArithmeticError):
        return False
