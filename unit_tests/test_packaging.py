"""Packaging checks: Dockerfile, .dockerignore, metadata.yaml, acceptance-test-config.yml, spec.json, console script.

Everything here runs offline. The Docker image itself cannot be built in CI (no engine), so the Dockerfile is
parsed, and the wheel that `pip install .` would build inside the image is built from exactly the files the
Dockerfile copies (filtered through .dockerignore).
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata
import json
import re
import shlex
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT_NAME = "destination-twenty"
SCRIPT_TARGET = "destination_twenty.airbyte.cli:run"
PACKAGE = "destination_twenty"
SYNC_SPEC_HINT = "Run `cp destination_twenty/spec.json spec.json` to resync the top-level copy."

EXPECTED_PROPERTIES = {
    "streams",
    "api_key",
    "mode",
    "api_url",
    "custom_object",
    "upsert",
    "partial_success",
    "column_mapping",
    "batch_size",
    "requests_per_minute",
    "max_concurrent_requests",
    "max_retry_seconds",
    "dry_run",
    "rejected_records_path",
    "default_phone_country",
    "identity_scope",
}
EXPECTED_DEFAULTS = {
    "api_url": "https://api.twenty.com",
    "upsert": True,
    "partial_success": False,
    "column_mapping": [],
    "batch_size": 200,
    "requests_per_minute": 100,
    "max_concurrent_requests": 4,
    "max_retry_seconds": 300,
    "dry_run": False,
}
EXPECTED_MODES = ["people", "companies", "opportunities", "notes", "tasks", "custom"]
# Paths that must never end up in the image (tests, benchmarks, secrets, local environments).
NOT_IN_IMAGE = [
    "unit_tests",
    "emulator_tests",
    "integration_tests",
    "bench",
    "scripts",
    "reliability",
    "secrets",
    ".venv",
    ".git",
]


# --------------------------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def version(pyproject: dict[str, Any]) -> str:
    return pyproject["project"]["version"]


@pytest.fixture(scope="module")
def packaged_spec() -> dict[str, Any]:
    return _read_json(ROOT / PACKAGE / "spec.json")


@pytest.fixture(scope="module")
def top_spec() -> dict[str, Any]:
    return _read_json(ROOT / "spec.json")


@pytest.fixture(scope="module")
def connection_spec(packaged_spec: dict[str, Any]) -> dict[str, Any]:
    return packaged_spec["connectionSpecification"]


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text(encoding="utf-8"))


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; joins `\\` continuations and drops comments. No heredoc support."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "Dockerfile ends with a dangling line continuation"
    return instructions


def _key_values(args: str) -> dict[str, str]:
    """ENV/LABEL arguments: `K=V K2="V 2"`, or the legacy `K V` form."""
    tokens = shlex.split(args)
    if tokens and "=" not in tokens[0]:
        return {tokens[0]: " ".join(tokens[1:])}
    return dict(token.split("=", 1) for token in tokens)


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _all(dockerfile: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in dockerfile if kw == keyword]


def _merged(dockerfile: list[tuple[str, str]], keyword: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for args in _all(dockerfile, keyword):
        merged.update(_key_values(args))
    return merged


def _copies(dockerfile: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY/ADD from the build context (not `--from=` stages)."""
    result = []
    for kw, args in dockerfile:
        if kw not in {"COPY", "ADD"}:
            continue
        tokens = shlex.split(args)
        if tokens and tokens[0].startswith("["):
            tokens = json.loads(args)
        flags = [t for t in tokens if t.startswith("--")]
        if any(flag.startswith("--from") for flag in flags):
            continue
        paths = [t for t in tokens if not t.startswith("--")]
        result.append((paths[:-1], paths[-1]))
    return result


def _docker_pattern(pattern: str) -> re.Pattern[str]:
    """moby/patternmatcher semantics: `**` spans directories, `*` and `?` stay within one path segment."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


@pytest.fixture(scope="module")
def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:].strip() if negate else line
        rules.append((negate, _docker_pattern(pattern.strip("/"))))
    return rules


def is_ignored(relpath: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """A path is excluded when the last rule matching it, or one of its parent directories, is not a `!` rule."""
    parts = relpath.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for negate, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


def _context_files(source: str) -> list[Path]:
    path = ROOT / source
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------- spec.json


def test_top_level_spec_is_identical_to_packaged_spec() -> None:
    top = (ROOT / "spec.json").read_bytes()
    packaged = (ROOT / PACKAGE / "spec.json").read_bytes()
    assert json.loads(top) == json.loads(packaged), (
        f"spec.json differs from destination_twenty/spec.json. {SYNC_SPEC_HINT}"
    )
    assert top == packaged, (
        f"spec.json is not byte-identical to destination_twenty/spec.json. {SYNC_SPEC_HINT}"
    )


def test_spec_is_declared_package_data(pyproject: dict[str, Any]) -> None:
    setuptools_cfg = pyproject["tool"]["setuptools"]
    included = setuptools_cfg["packages"]["find"]["include"]
    assert any(fnmatch.fnmatch(PACKAGE, pattern) for pattern in included)
    assert "spec.json" in setuptools_cfg["package-data"][PACKAGE], (
        "destination_twenty/spec.json must be listed in [tool.setuptools.package-data] or the CDK cannot load it"
    )


def test_spec_shape(packaged_spec: dict[str, Any], connection_spec: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(connection_spec)
    assert sorted(packaged_spec["supported_destination_sync_modes"]) == ["append", "append_dedup"]
    assert connection_spec["type"] == "object"
    assert connection_spec["required"] == ["api_key", "mode"]
    assert set(connection_spec["properties"]) == EXPECTED_PROPERTIES
    assert connection_spec["properties"]["api_key"].get("airbyte_secret") is True
    assert connection_spec["properties"]["mode"]["enum"] == EXPECTED_MODES


def _walk_properties(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, prop in schema.get("properties", {}).items():
        found.append((f"{path}{name}", prop))
        found.extend(_walk_properties(prop, f"{path}{name}."))
        if isinstance(prop.get("items"), dict):
            found.extend(_walk_properties(prop["items"], f"{path}{name}[]."))
    return found


def test_every_spec_property_has_title_and_description(connection_spec: dict[str, Any]) -> None:
    missing = [
        name
        for name, prop in _walk_properties(connection_spec)
        if not prop.get("title") or not prop.get("description")
    ]
    assert not missing, f"properties without a title or description: {missing}"


@pytest.mark.parametrize(("name", "default"), sorted(EXPECTED_DEFAULTS.items()))
def test_spec_default(connection_spec: dict[str, Any], name: str, default: Any) -> None:
    prop = connection_spec["properties"][name]
    assert prop.get("default") == default
    assert type(prop["default"]) is type(default)
    # The default must itself be accepted by the property's schema.
    jsonschema.Draft7Validator(prop).validate(default)


def test_spec_bounds(connection_spec: dict[str, Any]) -> None:
    props = connection_spec["properties"]
    assert (props["batch_size"]["minimum"], props["batch_size"]["maximum"]) == (1, 200)
    assert props["requests_per_minute"]["minimum"] == 1
    validator = jsonschema.Draft7Validator(connection_spec)
    base = {"api_key": "k", "mode": "people"}
    assert validator.is_valid(base)
    for bad in ({"batch_size": 0}, {"batch_size": 201}, {"requests_per_minute": 0}, {"mode": "leads"}):
        assert not validator.is_valid({**base, **bad}), bad
    assert not validator.is_valid({"mode": "people"}), "api_key must be required"


# --------------------------------------------------------------------------------------------- metadata.yaml


def _metadata_schema() -> dict[str, Any]:
    models = pytest.importorskip("airbyte_connector_models")
    path = Path(models.__file__).parent / "metadata" / "v0" / "ConnectorMetadataDefinitionV0.json"
    assert path.is_file(), f"Airbyte's metadata schema not found at {path}"
    return _without_nested_ids(_read_json(path))


def _without_nested_ids(node: Any, top: bool = True) -> Any:
    """Drop `$id` below the root of the bundled schema.

    The published file inlines sub-schemas that keep their own `$id` while their `$ref`s are written as
    pointers into the bundled root (`#/properties/data/...`). Under draft-07 a nested `$id` rebases those
    pointers onto the sub-schema, where they resolve to nothing; without the nested ids they resolve as intended.
    """
    if isinstance(node, dict):
        return {k: _without_nested_ids(v, False) for k, v in node.items() if top or k != "$id"}
    if isinstance(node, list):
        return [_without_nested_ids(v, False) for v in node]
    return node


def test_metadata_validates_against_airbyte_json_schema(metadata: dict[str, Any]) -> None:
    schema = _metadata_schema()
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(metadata)]
    assert not errors, "metadata.yaml does not match ConnectorMetadataDefinitionV0:\n" + "\n".join(errors)


def test_metadata_parses_with_airbyte_models(metadata: dict[str, Any]) -> None:
    pytest.importorskip("airbyte_connector_models")
    from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import (
        ConnectorMetadataDefinitionV0,
    )

    model = ConnectorMetadataDefinitionV0.model_validate(metadata)
    assert model.data.connector_type.value == "destination"
    assert str(model.data.definition_id) == metadata["data"]["definitionId"]

    # What `airbyte-cdk image build` reads.
    from airbyte_cdk.models.connector_metadata import ConnectorLanguage, MetadataFile

    cdk_view = MetadataFile.from_file(ROOT / "metadata.yaml")
    assert cdk_view.data.language is ConnectorLanguage.PYTHON


def test_metadata_values(
    metadata: dict[str, Any], version: str, packaged_spec: dict[str, Any], connection_spec: dict[str, Any]
) -> None:
    data = metadata["data"]
    assert metadata["metadataSpecVersion"] == "1.0"
    assert data["dockerImageTag"] == version, "metadata.yaml dockerImageTag must equal the pyproject version"
    parsed = uuid.UUID(data["definitionId"])
    assert str(parsed) == data["definitionId"] and parsed.version == 4
    assert data["connectorType"] == "destination"
    assert data["dockerRepository"] == "airbyte/destination-twenty"
    assert data["githubIssueLabel"] == "destination-twenty"
    assert data["documentationUrl"] == packaged_spec["documentationUrl"]
    assert {"language:python", "cdk:python"} <= set(data["tags"])
    assert re.fullmatch(
        r"docker\.io/airbyte/python-connector-base:4\.\d+\.\d+(@sha256:[0-9a-f]{64})?",
        data["connectorBuildOptions"]["baseImage"],
    )
    assert {s["suite"] for s in data["connectorTestSuitesOptions"]} >= {"unitTests", "integrationTests"}
    # Every `${...}` in allowedHosts must name a config property, or the platform blocks the real host.
    hosts = data["allowedHosts"]["hosts"]
    placeholders = [m for host in hosts for m in re.findall(r"\$\{([^}]+)\}", host)]
    assert "api_url" in placeholders
    for name in placeholders:
        assert name in connection_spec["properties"], f"allowedHosts references unknown config field {name!r}"


def test_icon_is_an_svg(metadata: dict[str, Any]) -> None:
    icon = ROOT / metadata["data"]["icon"]
    assert icon.is_file()
    root = ET.fromstring(icon.read_text(encoding="utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


# --------------------------------------------------------------------------------------------- acceptance-test-config.yml


def test_acceptance_test_config(metadata: dict[str, Any], top_spec: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text(encoding="utf-8"))
    assert config["connector_image"] == f"{metadata['data']['dockerRepository']}:dev"
    tests = config["acceptance_tests"]
    # Destinations only have spec and connection suites.
    assert set(tests) <= {"spec", "connection"}
    spec_entries = tests["spec"]["tests"]
    assert spec_entries and all(_read_json(ROOT / e["spec_path"]) == top_spec for e in spec_entries)
    assert all(e.get("config_path") for e in spec_entries), "give the spec entry a config_path"
    connection_entries = tests["connection"]["tests"]
    assert connection_entries
    assert all(e["status"] in {"succeed", "failed", "exception"} for e in connection_entries)
    assert any(
        e["config_path"] == "secrets/config.json" and e["status"] == "succeed" for e in connection_entries
    )

    # The CDK standard tests reject keys they do not read; use their own check.
    from airbyte_cdk.test.models.scenario import entry_key_problems

    problems = [
        p for section in tests for e in tests[section]["tests"] for p in entry_key_problems(e, (section,))
    ]
    assert not problems, problems


# --------------------------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_image_matches_metadata(
    dockerfile: list[tuple[str, str]], metadata: dict[str, Any]
) -> None:
    froms = _all(dockerfile, "FROM")
    assert len(froms) == 1, "keep the image single-stage (one FROM)"
    # The base is an argument (a stand-in base for `make image-test`) whose default is the pinned real base.
    assert froms[0].split()[0] == "${BASE_IMAGE}"
    args = dict(a.partition("=")[::2] for a in _all(dockerfile, "ARG"))
    assert args.get("BASE_IMAGE") == metadata["data"]["connectorBuildOptions"]["baseImage"]


def test_dockerfile_entrypoint_is_the_console_script(dockerfile: list[tuple[str, str]]) -> None:
    entrypoints = _all(dockerfile, "ENTRYPOINT")
    assert len(entrypoints) == 1
    # Exec form, so the connector is PID 1 and gets SIGTERM from the platform.
    assert json.loads(entrypoints[0]) == [SCRIPT_NAME]
    assert _merged(dockerfile, "ENV").get("AIRBYTE_ENTRYPOINT") == SCRIPT_NAME


def test_dockerfile_runs_as_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    """The base image creates `airbyte` (uid 1000) but does not switch to it, so the Dockerfile must."""
    keywords = [kw for kw, _ in dockerfile]
    users = _all(dockerfile, "USER")
    assert users, "Dockerfile must switch to a non-root USER (the base image's `airbyte` user)"
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, kw in enumerate(keywords) if kw == "USER")
    assert all(kw != "USER" or i == last_user for i, kw in enumerate(keywords))
    assert last_user > max(i for i, kw in enumerate(keywords) if kw == "RUN"), (
        "USER must come after the install"
    )


def test_dockerfile_labels_and_workdir(
    dockerfile: list[tuple[str, str]], version: str, metadata: dict[str, Any]
) -> None:
    labels = _merged(dockerfile, "LABEL")
    assert labels.get("io.airbyte.name") == metadata["data"]["dockerRepository"]
    assert labels.get("io.airbyte.version") == version
    assert _all(dockerfile, "WORKDIR") == ["/airbyte/integration_code"]
    runs = " ".join(_all(dockerfile, "RUN"))
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", runs)


def test_dockerfile_copies_the_package_and_nothing_else(dockerfile: list[tuple[str, str]]) -> None:
    copies = _copies(dockerfile)
    sources = [src.rstrip("/") for srcs, _ in copies for src in srcs]
    assert {"pyproject.toml", PACKAGE} <= set(sources)
    assert "." not in sources, "copy named paths, not the whole context"
    for src in sources:
        assert src.split("/")[0] not in NOT_IN_IMAGE, f"{src} must not be copied into the image"
        assert (ROOT / src).exists(), (
            f"Dockerfile copies {src}, which does not exist: `docker build` would fail"
        )
    for srcs, dest in copies:
        # The layout under WORKDIR mirrors the repo, so `pip install .` sees what it sees here.
        for src in srcs:
            assert dest.rstrip("/") in {".", f"./{src.rstrip('/')}", src.rstrip("/")}, (src, dest)


def test_dockerignore_keeps_what_is_copied_and_drops_the_rest(
    dockerfile: list[tuple[str, str]], dockerignore: list[tuple[bool, re.Pattern[str]]]
) -> None:
    for srcs, _ in _copies(dockerfile):
        for src in srcs:
            for file in _context_files(src):
                rel = file.relative_to(ROOT).as_posix()
                if "__pycache__" in rel:
                    continue
                assert not is_ignored(rel, dockerignore), (
                    f".dockerignore drops {rel}, which the Dockerfile needs"
                )
    for rel in [
        ".venv/bin/python",
        "secrets/config.json",
        ".git/HEAD",
        "unit_tests/test_packaging.py",
        "emulator_tests/test_x.py",
        "bench/run_all.py",
        "destination_twenty/__pycache__/run.cpython-311.pyc",
    ]:
        assert is_ignored(rel, dockerignore), f".dockerignore should exclude {rel}"


def test_image_install_builds_from_the_copied_files_only(
    tmp_path: Path, dockerfile: list[tuple[str, str]], dockerignore: list[tuple[bool, re.Pattern[str]]]
) -> None:
    """Build the wheel `pip install .` builds in the image, from the Docker build context only (offline)."""
    context = tmp_path / "integration_code"
    context.mkdir()
    for srcs, _ in _copies(dockerfile):
        for src in srcs:
            if not (ROOT / src).exists():
                continue  # reported by test_dockerfile_copies_the_package_and_nothing_else
            if (ROOT / src).is_dir():
                (context / src).mkdir(parents=True, exist_ok=True)  # COPY creates even an empty directory
            for file in _context_files(src):
                rel = file.relative_to(ROOT).as_posix()
                if is_ignored(rel, dockerignore):
                    continue
                (context / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, context / rel)
    out = tmp_path / "dist"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        str(out),
        str(context),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"`pip install .` would fail in the image:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        assert f"{PACKAGE}/spec.json" in names
        assert f"{PACKAGE}/airbyte/cli.py" in names
        assert json.loads(wheel.read(f"{PACKAGE}/spec.json")) == _read_json(ROOT / PACKAGE / "spec.json")
        entry_points = wheel.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    assert re.search(rf"^{re.escape(SCRIPT_NAME)}\s*=\s*{re.escape(SCRIPT_TARGET)}\s*$", entry_points, re.M)
    assert not [n for n in names if n.split("/")[0] in NOT_IN_IMAGE]


# --------------------------------------------------------------------------------------------- console script


def test_pyproject_declares_the_console_script(pyproject: dict[str, Any]) -> None:
    assert pyproject["project"]["scripts"][SCRIPT_NAME] == SCRIPT_TARGET


def test_installed_console_script_points_at_run() -> None:
    matches = [
        ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == SCRIPT_NAME
    ]
    assert matches, "console script not installed: run `.venv/bin/pip install -e '.[dev]'`"
    assert matches[0].value == SCRIPT_TARGET, "stale install: rerun `.venv/bin/pip install -e '.[dev]'`"


def test_run_target_is_importable_and_callable() -> None:
    module_name, _, attr = SCRIPT_TARGET.partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr))


def test_console_script_spec_prints_the_spec(tmp_path: Path, top_spec: dict[str, Any]) -> None:
    script = Path(sys.executable).parent / SCRIPT_NAME
    assert script.is_file(), f"{script} missing: run `.venv/bin/pip install -e '.[dev]'`"
    # Run from an unrelated directory: the spec must come from the package, not the working directory.
    proc = subprocess.run([str(script), "spec"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    specs = [m for m in messages if m.get("type") == "SPEC"]
    assert len(specs) == 1, proc.stdout
    spec = specs[0]["spec"]
    assert spec["connectionSpecification"] == top_spec["connectionSpecification"]
    assert sorted(spec["supported_destination_sync_modes"]) == ["append", "append_dedup"]


# What each command loads, checked in a fresh interpreter: `spec` must not pay for the HTTP client or the writer,
# and no command may load the Airbyte CDK, whose package imports all of itself (about a second per start).
_LOADED = """
import sys
import {module}
print(",".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    "module, absent",
    [
        (
            "destination_twenty.airbyte.cli",
            {"airbyte_cdk", "requests", "jsonschema", "destination_twenty.write.writer"},
        ),
        ("destination_twenty.airbyte.commands", {"airbyte_cdk", "pydantic", "jsonschema"}),
    ],
)
def test_start_up_imports_only_what_the_command_needs(module: str, absent: set[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED.format(module=module)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip().split(",")
    found = sorted(m for m in loaded if any(m == name or m.startswith(name + ".") for name in absent))
    assert not found, found


def test_every_third_party_import_of_the_connector_is_declared(pyproject: dict[str, Any]) -> None:
    declared = {
        re.split(r"[<>=!~ \[]", d)[0].lower().replace("-", "_") for d in pyproject["project"]["dependencies"]
    }
    imported = set()
    for path in (ROOT / PACKAGE).glob("*.py"):
        for match in re.finditer(
            r"^\s*(?:import|from) ([a-zA-Z_]\w*)", path.read_text(encoding="utf-8"), re.M
        ):
            imported.add(match.group(1))
    third_party = imported - set(sys.stdlib_module_names) - {PACKAGE, "__future__"}
    assert third_party <= declared, sorted(third_party - declared)
