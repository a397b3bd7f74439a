"""A skipped test fails `make test` unless its reason is allowed (conftest.py at the root), shown on a tiny suite."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    shutil.copy(ROOT_CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_tiny.py").write_text("import pytest\n\n" + body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skip_for_missing_data_fails_the_run(tmp_path: Path) -> None:
    run = _run(
        tmp_path, "def test_a():\n    pytest.skip('recording not found')\n\n\ndef test_b():\n    pass\n"
    )
    assert run.returncode == 1, run.stdout
    assert "unexpected skips" in run.stdout and "recording not found" in run.stdout


def test_an_allowed_skip_and_a_strict_xfail_pass(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        "def test_a():\n    pytest.skip('needs openssl to make a test certificate')\n\n\n"
        "@pytest.mark.xfail(strict=True, reason='known difference')\ndef test_b():\n    assert False\n",
    )
    assert run.returncode == 0, run.stdout
    assert "unexpected skips" not in run.stdout
