"""`make demo` as a newcomer meets it: a short screen, with the details in files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_demo_prints_a_short_summary_and_writes_the_functions_logs_to_files(tmp_path):
    # WHEN a newcomer runs the demo (here on a small population, for time)
    run = subprocess.run(
        [sys.executable, "-m", "ops", "demo", "--members", "200", "--months", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    # THEN the screen holds the funnel and where the files are, in under 60 lines, no JSON among them
    assert run.returncode == 0, run.stderr
    printed = run.stdout.splitlines()
    assert len(printed) < 60, run.stdout
    assert not [line for line in printed if line.lstrip().startswith("{")]
    assert run.stderr == ""
    assert any(str(tmp_path / "report.html") in line for line in printed)
    # AND each function's log lines and metrics are in its own JSONL file, in virtual time
    logs = sorted(path.name for path in (tmp_path / "logs").glob("*.jsonl"))
    assert "SweepFunction.jsonl" in logs and "NotifyFunction.jsonl" in logs
    first = json.loads((tmp_path / "logs" / "SweepFunction.jsonl").read_text().splitlines()[0])
    assert first["virtual_time"] == "2026-01-01T03:00:00Z" and first["message"] == "sweep started"
