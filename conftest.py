"""How `make test` shares tests among pytest-xdist workers.

Each test is its own unit of work, except in the modules listed here, whose tests build on each other (the
conformance replay binds ids in one case and uses them in the next): those run on one worker, in order.
xdist's own `xdist_group` marker would say the same, but it has no effect with pytest 9.
"""

from __future__ import annotations

import pytest

SEQUENTIAL_MODULES = ("emulator_tests/test_conformance.py",)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it, nothing to do
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SEQUENTIAL_MODULES else nodeid

    return Scheduler(config, log)
