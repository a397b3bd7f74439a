"""Start-up time of each command of the console script, as a new process: `spec`, and `check` / `write` up to
the point where they would first call Twenty (a config error ends them there, so no server is needed).

Also times `import airbyte_cdk` alone: what every start cost before the connector stopped importing the CDK.
Prints the numbers and writes bench/results/startup.json. Usage: .venv/bin/python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR = Path(sys.executable).with_name("destination-twenty")
OUTPUT = ROOT / "bench" / "results" / "startup.json"


def timed(argv: list[str], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False)
        seconds.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3), "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # mode "none" fails validation: check and write stop right after loading the connector and the config.
        config, catalog = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config.write_text(json.dumps({"api_key": "startup-bench-key-0123", "mode": "none"}))
        catalog.write_text(json.dumps({"streams": []}))
        commands = {
            "spec": [str(CONNECTOR), "spec"],
            "check (until the first call)": [str(CONNECTOR), "check", "--config", str(config)],
            "write (until the first call)": [
                str(CONNECTOR),
                "write",
                "--config",
                str(config),
                "--catalog",
                str(catalog),
            ],
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import airbyte_cdk'": [sys.executable, "-c", "import airbyte_cdk"],
        }
        results = {name: timed(argv, args.runs) for name, argv in commands.items()}
    for name, result in results.items():
        print(
            f"{name:34} median {result['median_s']:.3f} s   min {result['min_s']:.3f} s   ({result['runs']} runs)"
        )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": f"{platform.machine()} / Python {platform.python_version()}",
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
