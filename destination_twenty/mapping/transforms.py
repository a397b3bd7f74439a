"""Value transforms named in `column_mapping[].transforms`, and the exact number helpers they share.

Pure functions: a value in, a value out. A value a transform cannot handle raises RecordRejected (field=None;
the mapper adds the Twenty field), a bad transform name raises ConfigError when the configuration is read.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from destination_twenty.errors import ConfigError, RecordRejected

TRANSFORM_NAMES = [
    "uppercase",
    "lowercase",
    "trim",
    "round_int",
    "to_string",
    "yesno_to_bool",
    "null_if:<x>",
    "only_if:<x>",
]
_VALID = ", ".join(TRANSFORM_NAMES)

# Plain decimal notation only: Decimal() alone would also take "1_000", "NaN", "Infinity" and non-ASCII digits.
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Amounts beyond 10^60 are not money; the bound keeps the exact arithmetic below within _EXACT's precision.
_MAX_ADJUSTED = 60
_EXACT = Context(prec=200, rounding=ROUND_HALF_UP)
_ONE = Decimal(1)
_MICROS = Decimal(1_000_000)

_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0"})


def to_decimal(value: Any) -> Decimal:
    """The exact decimal a number or numeric string denotes; RecordRejected for anything else."""
    if isinstance(value, bool):
        raise RecordRejected(f"expected a number, got the boolean {text_form(value)}")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RecordRejected(f"expected a finite number, got {_describe(value)}")
        # repr is the shortest text that round-trips, so 49.99 stays 49.99 instead of 49.98999999999999843...
        result = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise RecordRejected(f"expected a finite number, got {_describe(value)}")
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER_RE.fullmatch(text):
            raise RecordRejected(
                f"expected a number (digits, optional sign and decimal point), got {_describe(value)}"
            )
        result = Decimal(text)
    else:
        raise RecordRejected(f"expected a number, got {_describe(value)}")
    if result.adjusted() > _MAX_ADJUSTED:
        raise RecordRejected(f"the number {_describe(value)} is too large to send")
    return result


def to_micros(value: Any) -> int:
    """Currency units to Twenty's amountMicros, exactly: 49.99 → 49990000 (half away from zero below a micro)."""
    amount = to_decimal(value)
    return int(_EXACT.multiply(amount, _MICROS).quantize(_ONE, context=_EXACT))


def round_int(value: Any) -> int:
    """Nearest integer, ties away from zero (7.5 → 8, -2.5 → -3), computed in Decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(to_decimal(value).quantize(_ONE, context=_EXACT))


def text_form(value: Any) -> str:
    """The text a value is sent as: 42.0 → "42", 1e20 → "100000000000000000000", True → "true", None → ""."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return str(int(value))
        # format, not normalize(): normalize rounds to the context's 28 digits.
        return format(value, "f").rstrip("0")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def yesno_to_bool(value: Any) -> bool:
    """yes/no, y/n, true/false, 1/0 (any case, surrounding spaces), real booleans, and the numbers 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise RecordRejected(f"expected yes/no, y/n, true/false or 1/0, got {_describe(value)}")


def compile_transforms(specs: Sequence[str]) -> Callable[[Any], Any]:
    """Validate transform names now (ConfigError) and return one function applying them in order."""
    steps = [_compile_one(spec) for spec in specs]
    if not steps:
        return _identity
    if len(steps) == 1:
        only = steps[0]
        return lambda value: None if value is None else only(value)

    def apply(value: Any) -> Any:
        for step in steps:
            if value is None:
                return None
            value = step(value)
        return value

    return apply


def _compile_one(spec: str) -> Callable[[Any], Any]:
    if not isinstance(spec, str):
        raise ConfigError(f"Transform {spec!r} is not a transform name; valid transforms: {_VALID}.")
    name, colon, argument = spec.partition(":")
    name = name.strip().lower()
    if name in ("null_if", "only_if"):
        if not colon:
            raise ConfigError(
                f"Transform {spec!r} needs the value to compare after a colon, e.g. {name}:-; "
                f"valid transforms: {_VALID}."
            )
        if name == "null_if":
            return lambda value: None if text_form(value) == argument else value
        return lambda value: value if text_form(value) == argument else None
    simple = _SIMPLE.get(name)
    if simple is None or colon:
        raise ConfigError(f"Unknown transform {spec!r}; valid transforms: {_VALID}.")
    return simple


def _identity(value: Any) -> Any:
    return value


def _string_only(method: Callable[[str], str]) -> Callable[[Any], Any]:
    return lambda value: method(value) if isinstance(value, str) else value


def describe_value(value: Any, limit: int = 80) -> str:
    """The one way a bad value is quoted in a reason: short, whatever its size (a 100,000-character value must
    not become a 100,000-character rejection)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters)"


def shorten(text: str, limit: int = 500) -> str:
    """Cap a message we did not write (Twenty's may echo the whole value back)."""
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text):,} characters in all)"


_describe = describe_value


_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "uppercase": _string_only(str.upper),
    "lowercase": _string_only(str.lower),
    "trim": _string_only(str.strip),
    "round_int": round_int,
    "to_string": text_form,
    "yesno_to_bool": yesno_to_bool,
}
