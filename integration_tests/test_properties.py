"""Property: whatever records and mapping arrive, every record is either stored or rejected with a reason, and
the STATE counts add up. Random input, the real console script, the emulator's real validation."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

# Targets of People with different types; the mapping always includes a unique email so each record is findable.
FIELDS = [
    "jobTitle",
    "city",
    "name.firstName",
    "name.lastName",
    "companyId",
    "linkedinLink.primaryLinkUrl",
    "avatarUrl",
]
TRANSFORMS = [
    "uppercase",
    "lowercase",
    "trim",
    "round_int",
    "to_string",
    "yesno_to_bool",
    "null_if:x",
    "only_if:y",
]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["yes", "no", "x", "y", "7.5", "00000000-0000-4000-8000-00000000c0de", "https://A.example/"]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
mappings = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.lists(st.sampled_from(TRANSFORMS), max_size=2)),
    min_size=1,
    max_size=4,
    unique_by=lambda pair: pair[0],
)
batches = st.lists(st.lists(values, min_size=4, max_size=4), min_size=1, max_size=25)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mapping=mappings, rows=batches)
def test_every_record_is_written_or_rejected_with_a_reason(emulator_server, tmp_path_factory, mapping, rows):
    emulator_server.reset()
    column_mapping = [{"column": "email", "field": "emails.primaryEmail"}] + [
        {"column": f"c{i}", "field": target, "transforms": transforms}
        for i, (target, transforms) in enumerate(mapping)
    ]
    records = [
        {"email": f"r{n}@prop.example", **{f"c{i}": row[i] for i in range(len(mapping))}}
        for n, row in enumerate(rows)
    ]
    run = run_connector(
        ["write"],
        tmp_path_factory.mktemp("prop"),
        config_for(
            emulator_server, "people", column_mapping=column_mapping, partial_success=True, batch_size=7
        ),
        catalog_for("people"),
        [record("people", r) for r in records] + [state("people", len(records), 1)],
    )
    assert run.returncode == 0, run.stdout[-3000:]
    stored = {p["emails"]["primaryEmail"] for p in emulator_server.records("people")}
    rejected = {}
    for error in run.errors:
        words = error["message"].split()
        assert words[0] == "Record" and " was rejected" in error["message"], error["message"]
        reason = error["message"].split(": ", 1)[1]
        assert reason.strip(), error["message"]
        rejected[int(words[1])] = reason
    for n in range(len(records)):
        written = f"r{n}@prop.example" in stored
        assert written != (n + 1 in rejected), (
            f"record {n + 1}: stored={written}, rejected={rejected.get(n + 1)}"
        )
    (echoed,) = run.states
    stats = echoed["destinationStats"]
    assert stats["recordCount"] == len(stored)
    assert stats["recordCount"] + stats.get("rejectedRecordCount", 0) == len(records)
