"""The message layer keeps what the CDK's dataclasses would drop, and survives bad input lines."""

import io
import json

from destination_twenty import protocol


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
    reasons = [m.reason for m in messages if isinstance(m, protocol.Unreadable)]
    assert reasons == [
        "input line 1 is not JSON; ignored",
        "input line 2 is not a JSON object; ignored",
        "input line 3 is a RECORD without a stream name; ignored",
        "input line 4 is a STATE without a state object; ignored",
    ]
    (record,) = [m for m in messages if isinstance(m, protocol.Record)]
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
