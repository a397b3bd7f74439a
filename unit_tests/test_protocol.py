"""The message layer keeps what the CDK's dataclasses would drop, and survives bad input lines."""

import io
import json

from destination_twenty.airbyte import protocol
from destination_twenty.write.messages import Record, State, UnparseableRecord, Unreadable


def lines(*messages):
    return [m if isinstance(m, str) else json.dumps(m) for m in messages]


def test_a_state_keeps_the_platform_id_and_unknown_keys_when_echoed():
    raw = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "people"}, "stream_state": {"cursor": 3}},
        "sourceStats": {"recordCount": 2.0},
        "id": 17,
        "futureField": {"x": 1},
    }
    (state,) = protocol.read_messages(lines({"type": "STATE", "state": raw}))
    assert state.streams == ["people"]
    echoed = protocol.state_with_stats(state, written=2, rejected=1)
    assert echoed == {
        "type": "STATE",
        "state": {**raw, "destinationStats": {"recordCount": 2.0, "rejectedRecordCount": 1.0}},
    }
    assert "destinationStats" not in raw  # the input is not mutated


def test_global_and_legacy_states_cover_every_stream():
    messages = list(
        protocol.read_messages(
            lines(
                {"type": "STATE", "state": {"type": "GLOBAL", "global": {"stream_states": []}}},
                {"type": "STATE", "state": {"type": "LEGACY", "data": {"a": 1}}},
            )
        )
    )
    assert [m.streams for m in messages] == [None, None]


def test_bad_lines_become_readable_reasons_not_crashes():
    messages = list(
        protocol.read_messages(
            lines(
                "not json at all",
                "[1, 2]",
                {"type": "RECORD", "record": {"data": {}}},
                {"type": "STATE", "state": "x"},
                {"type": "TRACE", "trace": {}},
                "",
                {"type": "RECORD", "record": {"stream": "s", "data": [1, 2]}},
            )
        )
    )
    reasons = [m.reason for m in messages if isinstance(m, Unreadable)]
    assert reasons == [
        "input line 1 is not JSON; ignored",
        "input line 2 is not a JSON object; ignored",
        "input line 3 is a RECORD without a stream name; ignored",
        "input line 4 is a STATE without a state object; ignored",
    ]
    (record,) = [m for m in messages if isinstance(m, Record)]
    assert record.stream == "s" and record.data == [1, 2]  # the writer rejects it with a reason


def test_emit_writes_one_line_per_message():
    out = io.StringIO()
    protocol.emit(protocol.log_message("INFO", "hello"), out)
    protocol.emit(protocol.error_trace("boom", failure_type="config_error", stream="s"), out)
    first, second = out.getvalue().splitlines()
    assert json.loads(first) == {"type": "LOG", "log": {"level": "INFO", "message": "hello"}}
    error = json.loads(second)["trace"]["error"]
    assert error["message"] == "boom" and error["failure_type"] == "config_error"
    assert error["stream_descriptor"] == {"name": "s"} and "stack_trace" not in error


def test_lines_orjson_refuses_are_read_by_the_standard_library_or_become_records_to_reject():
    deep = (
        '{"type":"RECORD","record":{"data":{"a":'
        + "[" * 5000
        + "]" * 5000
        + '},"stream":"s","namespace":"n"}}'
    )
    messages = list(
        protocol.read_messages(
            [
                json.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": {"c": "\ud800"}}}),
                json.dumps({"type": "RECORD", "record": {"stream": "s", "data": {"x": ["ok", "b\udc00"]}}}),
                deep,
                '{"type":"RECORD","record":{"stream":"s","data":{"n":NaN}}}',
                '{"type":"RECORD","record":{"data":{"a":1e999}, "stream":"s"}}',
                b'{"type":"RECORD","record":{"stream":"s","data":{"a":"\xff"}}}',
                '{"type":"RECORD","record":{"data":{"stream":"inner"},',  # no stream of its own: not a record
                '{"type":"STATE","state":' + "[" * 5000 + "]" * 5000 + "}",
            ]
        )
    )
    state, surrogate, too_deep, nan, huge, not_utf8, nameless, deep_state = messages
    assert isinstance(state, State) and state.raw["data"] == {"c": "\ud800"}
    assert isinstance(surrogate, UnparseableRecord) and "column 'x[1]'" in surrogate.reason
    assert isinstance(too_deep, UnparseableRecord) and "deeper" in too_deep.reason
    assert (too_deep.stream, too_deep.namespace) == ("s", "n")  # read from the tokens, after the deep data
    assert isinstance(nan, UnparseableRecord) and "NaN" in nan.reason
    assert isinstance(huge, UnparseableRecord) and "too large" in huge.reason
    assert isinstance(not_utf8, UnparseableRecord) and not_utf8.stream == "s"
    assert isinstance(nameless, Unreadable) and "names no stream" in nameless.reason
    assert isinstance(deep_state, Unreadable) and "a STATE message that cannot be parsed" in deep_state.reason


def test_a_lone_surrogate_in_an_echoed_state_is_written_as_its_escape():
    out = io.StringIO()
    (state,) = protocol.read_messages(
        [json.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": "\ud800"}})]
    )
    protocol.emit(protocol.state_with_stats(state, 1, 0), out)
    assert "\\ud800" in out.getvalue() and json.loads(out.getvalue())["state"]["data"] == "\ud800"


def test_the_key_is_masked_in_text_fields_only_in_any_case(monkeypatch):
    monkeypatch.setattr(protocol, "_secrets", set())
    monkeypatch.setattr(protocol, "_secret_pattern", None)
    protocol.register_secret("1")  # too short to be a key: never a mask
    key = "Abc-Real-Key-0123456789"
    protocol.register_secret(f"  {key} ")
    out = io.StringIO()
    for message in (
        protocol.log_message("INFO", f"echo {key.lower()} and {key.upper()}; 1 record"),
        protocol.error_trace(f"bad {key}", internal_message=key.lower(), stream="s"),
        protocol.connection_status(False, f"Token invalid: {key.lower()}"),
        {"type": "STATE", "state": {"type": "LEGACY", "data": {"cursor": key, "n": 1}}},
    ):
        protocol.emit(message, out)
    log, trace, status, echoed = (json.loads(line) for line in out.getvalue().splitlines())
    assert log["log"]["message"] == "echo **** and ****; 1 record"
    assert (trace["trace"]["error"]["message"], trace["trace"]["error"]["internal_message"]) == (
        "bad ****",
        "****",
    )
    assert status["connectionStatus"]["message"] == "Token invalid: ****"
    assert echoed["state"]["data"] == {"cursor": key, "n": 1}  # a state goes out as it came
