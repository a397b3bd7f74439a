"""One validation of the config, the same answer in check and write (issue 19, items 7 and 8): a misspelled key is
named with the closest valid name, and a password written into api_url is never printed back."""

import pytest

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

PASSWORD = "s3cret-Pw0rd"


def check_and_write(emulator, tmp_path, config):
    """check's message and write's error trace for one config; write is given a record it must not write."""
    checked = run_connector(["check"], tmp_path, config)
    written = run_connector(
        ["write"],
        tmp_path,
        config,
        catalog_for("people"),
        [record("people", {"city": "x"}), state("people", 1)],
    )
    return checked, written


@pytest.mark.parametrize(
    "mapping, where, closest",
    [
        ([{"column": "c", "field": "city", "transform": ["trim"]}], "column_mapping[0]", "transforms"),
        (
            [{"column": "c", "field": "city"}, {"colum": "d", "field": "jobTitle"}],
            "column_mapping[1]",
            "column",
        ),
        (
            [{"column": "c", "field": "city", "if_not_fund": "leave_unset"}],
            "column_mapping[0]",
            "if_not_found",
        ),
    ],
)
def test_a_misspelled_mapping_key_fails_check_and_write_alike_naming_the_closest(
    emulator, tmp_path, mapping, where, closest
):
    checked, written = check_and_write(
        emulator, tmp_path, config_for(emulator, "people", column_mapping=mapping)
    )
    assert checked.status["status"] == "FAILED"
    assert written.returncode == 1
    (error,) = written.errors
    assert error["failure_type"] == "config_error"
    assert error["message"] == checked.status["message"]  # one validation, one answer
    bad = next(k for m in mapping for k in m if k not in ("column", "field"))
    assert f"{where} has an unknown key '{bad}'" in error["message"]
    assert f"did you mean '{closest}'" in error["message"]
    assert emulator.records("people") == []


def test_a_misspelled_top_level_key_is_a_warning_naming_the_closest_in_check_and_write(emulator, tmp_path):
    # The top level is open (additionalProperties: true): the platform may add keys of its own, so an unknown key
    # never fails a sync; one a slip away from a real key is named, with that key, in check and write alike.
    config = config_for(emulator, "people", partial_sucess=True, some_platform_key={"x": 1})
    checked, written = check_and_write(emulator, tmp_path, config)
    assert checked.status["status"] == "SUCCEEDED" and written.returncode == 0, written.stdout
    for run in (checked, written):
        warnings = [m["log"]["message"] for m in run.of_type("LOG") if m["log"]["level"] == "WARN"]
        assert [w for w in warnings if "Config key" in w] == [
            "Config key 'partial_sucess' is not a setting of this connector and is ignored; did you mean "
            "'partial_success'?"
        ]


def test_a_value_the_spec_refuses_gets_the_same_answer_in_check_and_write(emulator, tmp_path):
    mapping = [{"column": "c", "field": "city", "transforms": [7]}]
    checked, written = check_and_write(
        emulator, tmp_path, config_for(emulator, "people", column_mapping=mapping)
    )
    assert (
        checked.status["status"] == "FAILED" and "column_mapping[0].transforms" in checked.status["message"]
    )
    (error,) = written.errors
    assert error["message"] == checked.status["message"]


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{PASSWORD}@127.0.0.1:9",
        f"http://user:{PASSWORD}@127.0.0.1:9/?x=1",
        f"ftp://user:{PASSWORD}@127.0.0.1",
        f"http://user:{PASSWORD}@127.0.0.1:99999",
        f"user:{PASSWORD}@127.0.0.1",
        f"http://user:{PASSWORD}@[::1",
        f"http://us@er:{PASSWORD}@127.0.0.1 x",
    ],
)
def test_a_password_in_api_url_is_never_printed(emulator, tmp_path, url):
    checked, written = check_and_write(emulator, tmp_path, config_for(emulator, "people", api_url=url))
    for run in (checked, written):
        assert PASSWORD not in run.stdout and PASSWORD not in run.stderr
    assert checked.status["status"] == "FAILED" and "api_url" in checked.status["message"]
    (error,) = written.errors
    assert error["failure_type"] == "config_error" and "api_url" in error["message"]
