"""How `make test` shares tests among pytest-xdist workers, and why a skipped test fails the run.

Each test is its own unit of work, except in the modules listed here, whose tests build on each other (the
conformance replays bind ids in one case and use them in the next): those run on one worker, in order. Each
emulator_tests module goes to one worker too, for the emulator its tests share (MODULE_SCOPED).
xdist's own `xdist_group` marker would say the same, but it has no effect with pytest 9.

The repository carries everything its tests read (conformance/), so a test that skips is a test that silently
stopped checking: only the reasons in ALLOWED_SKIPS (a tool the machine may lack) may skip; any other skip fails
the run and is listed at the end. A known difference is an xfail(strict=True), never a skip.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import pytest

SEQUENTIAL_MODULES = ("emulator_tests/test_conformance.py", "emulator_tests/test_recordings.py")
# Modules whose tests share a module-scoped emulator (emulator_tests/conftest.py): on one worker it starts once, not
# once on every worker that runs one of their tests (each start costs about 0.15 s of CPU; the tests take ms). The
# packaging checks import the Airbyte CDK (about 1.7 s of CPU) in two tests: once is enough.
MODULE_SCOPED = ("emulator_tests/", "unit_tests/test_packaging.py")
WAITING = "integration_tests/"
ALLOWED_SKIPS = ("needs openssl",)

_unexpected_skips: list[tuple[str, str]] = []
# Every test starts the connector or the emulator as a subprocess, hundreds of times a run: with
# PYTHONDONTWRITEBYTECODE set (as in many shells) each start compiled these sources again, a fifth of its CPU.
COMPILED_PACKAGES = ("destination_twenty", "twenty_emulator", "conformance", "reliability")


def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):  # once, on the controller, before the workers start
        root = Path(__file__).resolve().parent
        for package in COMPILED_PACKAGES:
            compileall.compile_dir(root / package, quiet=1)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _note_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not any(allowed in reason for allowed in ALLOWED_SKIPS):
            _unexpected_skips.append((report.nodeid, reason))


def pytest_runtest_logreport(report) -> None:
    _note_skip(report)


def pytest_collectreport(report) -> None:
    _note_skip(report)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _unexpected_skips:
        terminalreporter.section("unexpected skips (each fails the run)", red=True)
        for nodeid, reason in _unexpected_skips:
            terminalreporter.line(f"{nodeid}: {reason}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    # On xdist workers the reports reach the controller too; only the controller decides the exit status.
    if _unexpected_skips and not hasattr(session.config, "workerinput") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(session, config, items) -> None:
    """Spread the integration tests evenly among the others, in their own order: most of their time is waiting on
    a subprocess (a retry pause, a latency, a deadline), and collected last they ran four at a time with the CPU
    idle, while the unit and emulator tests, quick but busy, had all run first. They are spread over the first
    four fifths, so that a long one does not start last: quick tests fill the end."""
    integration = [item for item in items if item.nodeid.startswith(WAITING)]
    others = [item for item in items if not item.nodeid.startswith(WAITING)]

    def spread(group, share):
        return [((n + 0.5) / len(group) * share, item) for n, item in enumerate(group)]

    order = sorted(spread(integration, 0.8) + spread(others, 1.0), key=lambda pair: pair[0])
    items[:] = [item for _, item in order]


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it, nothing to do
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SEQUENTIAL_MODULES or module.startswith(MODULE_SCOPED) else nodeid

    return Scheduler(config, log)
