from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destination_twenty.errors import ConfigError, RecordRejected
from destination_twenty.mapping.transforms import (
    TRANSFORM_NAMES,
    compile_transforms,
    text_form,
    to_micros,
    yesno_to_bool,
)


def apply(specs, value):
    return compile_transforms(specs)(value)


@pytest.mark.parametrize(
    "specs, value, expected",
    [
        (["uppercase"], "active", "ACTIVE"),
        (["lowercase"], "Ada@Example.COM", "ada@example.com"),
        (["trim"], "  x y \t\n", "x y"),
        (["uppercase"], 42, 42),
        (["lowercase"], True, True),
        (["trim"], 7.5, 7.5),
        (["trim", "uppercase"], "  in progress ", "IN PROGRESS"),
        ([], "unchanged", "unchanged"),
    ],
)
def test_string_transforms(specs, value, expected):
    assert apply(specs, value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (7.5, 8),
        (-2.5, -3),
        (7.22, 7),
        ("7.5", 8),
        (" -7.5 ", -8),
        (0.5, 1),
        (-0.4, 0),
        (2.675, 3),
        (42, 42),
        (Decimal("1.49999"), 1),
        ("1e3", 1000),
        (123456789012345678901234567890.5, 123456789012345680000000000000),
        ("123456789012345678901234567890.5", 123456789012345678901234567891),
    ],
)
def test_round_int(value, expected):
    result = apply(["round_int"], value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, "abc", "", "1,5", float("nan"), float("inf"), {"a": 1}, [1]])
def test_round_int_rejects(value):
    with pytest.raises(RecordRejected) as err:
        apply(["round_int"], value)
    assert err.value.field is None


@pytest.mark.parametrize(
    "value, expected",
    [
        (42, "42"),
        (42.0, "42"),
        (7.25, "7.25"),
        (True, "true"),
        (False, "false"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "0.00000015"),
        (-0.0, "0"),
        (-3.5, "-3.5"),
        (Decimal("7.250"), "7.25"),
        (Decimal("1E+3"), "1000"),
        (10**30, "1000000000000000000000000000000"),
        ("  kept as is ", "  kept as is "),
        ({"a": 1}, '{"a":1}'),
        (["x", 2], '["x",2]'),
    ],
)
def test_to_string(value, expected):
    assert apply(["to_string"], value) == expected
    assert text_form(value) == expected


def test_text_form_of_none_is_empty():
    assert text_form(None) == ""


@pytest.mark.parametrize(
    "value, expected",
    [
        ("yes", True),
        ("No", False),
        (" Y ", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        (" 0 ", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
    ],
)
def test_yesno_to_bool(value, expected):
    assert apply(["yesno_to_bool"], value) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", 2, -1, "oui", {"x": 1}])
def test_yesno_to_bool_rejects_quoting_value(value):
    with pytest.raises(RecordRejected) as err:
        yesno_to_bool(value)
    quoted = "an object" if isinstance(value, dict) else repr(value)
    assert err.value.reason == f"expected yes/no, y/n, true/false or 1/0, got {quoted}"


def test_a_huge_bad_value_gives_a_short_reason():
    with pytest.raises(RecordRejected) as err:
        yesno_to_bool("x" * 100_000)
    assert len(err.value.reason) < 200 and "100,002 characters" in err.value.reason


def test_yesno_reason_example():
    with pytest.raises(RecordRejected, match=r"^expected yes/no, y/n, true/false or 1/0, got 'maybe'$"):
        apply(["yesno_to_bool"], "maybe")


@pytest.mark.parametrize(
    "specs, value, expected",
    [
        (["null_if:-"], "-", None),
        (["null_if:-"], "x", "x"),
        (["null_if:0"], 0, None),
        (["null_if:0"], 0.0, None),
        (["null_if:42"], 42.0, None),
        (["null_if:true"], True, None),
        (["null_if:N/A"], "n/a", "n/a"),
        (["null_if:a:b"], "a:b", None),
        (["trim", "null_if:-"], "  -  ", None),
        (["null_if:"], "", None),
        (["only_if:yes"], "yes", "yes"),
        (["only_if:yes"], "no", None),
        (["only_if:1"], 1, 1),
        (["only_if:1"], 2, None),
        (["only_if:ACTIVE", "lowercase"], "ACTIVE", "active"),
    ],
)
def test_null_if_only_if(specs, value, expected):
    assert apply(specs, value) == expected


@pytest.mark.parametrize(
    "specs", [[name] for name in TRANSFORM_NAMES] + [["null_if:-", "round_int", "to_string"]]
)
def test_none_passes_through_every_transform(specs):
    specs = [s.replace("<x>", "z") for s in specs]
    assert apply(specs, None) is None


def test_transforms_run_in_order():
    assert apply(["round_int", "to_string"], "7.5") == "8"
    assert apply(["to_string", "null_if:8"], 8.0) is None
    assert apply(["null_if:-", "round_int"], "-") is None


def test_names_are_case_insensitive():
    assert apply(["UpperCase"], "a") == "A"


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("foo", "Unknown transform 'foo'"),
        ("trim:x", "Unknown transform 'trim:x'"),
        ("null_if", "Transform 'null_if' needs the value to compare after a colon"),
        ("only_if", "Transform 'only_if' needs the value to compare after a colon"),
    ],
)
def test_bad_transform_is_config_error_listing_valid_ones(spec, fragment):
    with pytest.raises(ConfigError) as err:
        compile_transforms(["trim", spec])
    message = str(err.value)
    assert fragment in message
    assert (
        "uppercase, lowercase, trim, round_int, to_string, yesno_to_bool, null_if:<x>, only_if:<x>" in message
    )


def test_transform_names():
    assert TRANSFORM_NAMES == [
        "uppercase",
        "lowercase",
        "trim",
        "round_int",
        "to_string",
        "yesno_to_bool",
        "null_if:<x>",
        "only_if:<x>",
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        (49.99, 49990000),
        ("0.1", 100000),
        (1250000.00, 1250000000000),
        ("  12.5 ", 12500000),
        (0, 0),
        (0.0, 0),
        (-49.99, -49990000),
        ("-0.000001", -1),
        ("0.0000005", 1),
        ("-0.0000005", -1),
        ("0.0000004999", 0),
        ("1.23456789", 1234568),
        ("1e-400", 0),
        (5e-324, 0),
        (0.1 + 0.2, 300000),
        (Decimal("2.5"), 2500000),
        ("+3", 3000000),
        (".5", 500000),
        ("5.", 5000000),
        ("1e3", 1000000000),
        (1e20, 100000000000000000000000000),
        ("123456789012345678901234567890.123456", 123456789012345678901234567890123456),
        (10**30, 10**36),
    ],
)
def test_to_micros(value, expected):
    result = to_micros(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        "",
        "  ",
        "abc",
        "1,000",
        "1_000",
        "NaN",
        "Infinity",
        "١٢",
        "12 EUR",
        "$12",
        None,
        {"amount": 1},
        [1],
        "1e999",
    ],
)
def test_to_micros_rejects(value):
    with pytest.raises(RecordRejected):
        to_micros(value)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15, places=8))
def test_to_micros_matches_decimal_from_string(amount):
    expected = int((amount * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert to_micros(str(amount)) == expected
    assert to_micros(f"  {amount}  ") == expected


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_to_micros_of_float_uses_its_shortest_repr(amount):
    expected = int((Decimal(repr(amount)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert to_micros(amount) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_text_form_of_float_round_trips_without_exponent(value):
    text = text_form(value)
    assert "e" not in text.lower()
    assert float(text) == value


@given(st.integers())
def test_text_form_of_int_round_trips(value):
    assert int(text_form(value)) == value


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_text_form_of_decimal_round_trips(value):
    text = text_form(value)
    assert "e" not in text.lower()
    assert Decimal(text) == value


def test_the_spec_form_accepts_exactly_the_transforms_the_connector_compiles():
    """The form's pattern (spec.json) and compile_transforms must agree, or check and write would disagree."""
    import json
    import re
    from pathlib import Path

    from destination_twenty.errors import ConfigError
    from destination_twenty.mapping.transforms import compile_transforms

    spec = json.loads((Path(__file__).resolve().parents[1] / "spec.json").read_text())
    item = spec["connectionSpecification"]["properties"]["column_mapping"]["items"]["properties"][
        "transforms"
    ]
    pattern = re.compile(item["items"]["pattern"], re.S)
    for sample in [
        "uppercase",
        "LOWERCASE",
        " trim ",
        "round_int",
        "to_string",
        "yesno_to_bool",
        "null_if:-",
        "Only_If:VIP",
        "null_if:",
        "shout",
        "null_if",
        "trim:x",
        "titlecase",
        "lower case",
        "",
    ]:
        try:
            compile_transforms([sample])
            compiles = True
        except ConfigError:
            compiles = False
        assert (pattern.match(sample) is not None) == compiles, sample
