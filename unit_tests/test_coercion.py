from datetime import datetime, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from destination_twenty.config import ColumnMap
from destination_twenty.mapping.dates import iso_date_time, parse_moment
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.schema import FieldInfo, ObjectSchema

MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)


@given(MOMENTS)
def test_twentys_own_form_reads_back_to_the_same_millisecond(moment):
    text = iso_date_time(moment)
    assert len(text) == 24 and text.endswith("Z")  # four-digit year whatever the century
    parsed, date_only = parse_moment(text)
    assert not date_only
    assert iso_date_time(parsed) == text
    assert parsed == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# Seconds below 10^11 (the year 5138) read as seconds; their milliseconds are past 10^11 from 10^8 on (1973).
@given(
    st.integers(min_value=10**8, max_value=10**11 - 1)
    | st.integers(min_value=-62_135_596_800, max_value=-(10**8))  # down to the year 1
)
def test_epoch_seconds_and_milliseconds_name_the_same_moment(seconds):
    assert iso_date_time(parse_moment(seconds)[0]) == iso_date_time(parse_moment(seconds * 1000)[0])


@given(MOMENTS)
def test_a_naive_value_is_utc(moment):
    naive = moment.strftime("%m-%d %H:%M:%S")
    text = f"{moment.year:04d}-{naive}"
    assert parse_moment(text)[0] == moment.replace(microsecond=0)


def test_a_number_wider_than_64_bits_is_sent_as_the_double_twenty_keeps():
    schema = ObjectSchema("company", "companies", {"employees": FieldInfo("employees", "NUMBER")})
    mapper = Mapper([ColumnMap(column="v", field="employees")], schema)
    for value in ("1" + "0" * 29, 10**29, -(2**63) - 1):
        payload = mapper.map({"v": value})
        assert payload == {"employees": float(value)}
        orjson.dumps(payload)  # the writer encodes every payload: this raised TypeError before
    assert mapper.map({"v": 2**63 - 1}) == {"employees": 2**63 - 1}
