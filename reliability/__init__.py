"""Reliability scenarios (fault injection, kill -9 and resume) run against the emulator through the console
script: asserted by integration_tests/test_reliability.py, reported by scripts/reliability_report.py."""
