"""Cold-start import time of every handler, each in a fresh interpreter as Lambda starts one:
``layers/common`` and the function's folder on the path, the template's Globals variables and
a Lambda-like environment (so Powertools' tracer patches as it does under active tracing).
The baseline is ``import boto3`` plus one client, in a fresh interpreter too."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

from bench import LAYER_ROOT, PROJECT_ROOT

FUNCTIONS_ROOT = PROJECT_ROOT / "functions"
RUNS = 5
REGION = "us-east-1"
# The template's Globals that are read at import time (the rest are read per invocation).
GLOBALS_AT_IMPORT = {
    "POWERTOOLS_SERVICE_NAME": "membership-lifecycle",
    "POWERTOOLS_METRICS_NAMESPACE": "MembershipLifecycle",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

_TIME_HANDLER_IMPORT = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
started = time.perf_counter()
import app
print(json.dumps({"import_seconds": time.perf_counter() - started}))
"""

_TIME_BOTO3_CLIENT = f"""
import json, time
started = time.perf_counter()
import boto3
imported = time.perf_counter()
boto3.client("dynamodb", region_name={REGION!r})
print(json.dumps({{"import_seconds": imported - started, "client_seconds": time.perf_counter() - imported}}))
"""


@dataclass(frozen=True)
class ColdStart:
    name: str
    median_seconds: float
    runs: list[float]


def handler_names() -> list[str]:
    return sorted(path.parent.name for path in FUNCTIONS_ROOT.glob("*/app.py"))


def _fresh_interpreter(code: str, *args: str, function_name: str = "bench") -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_ROOT / function_name),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **GLOBALS_AT_IMPORT,
    }
    answer = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def handler_cold_start(name: str, runs: int = RUNS) -> ColdStart:
    times = [
        _fresh_interpreter(_TIME_HANDLER_IMPORT, str(LAYER_ROOT), str(FUNCTIONS_ROOT / name), function_name=name)[
            "import_seconds"
        ]
        for _ in range(runs)
    ]
    return ColdStart(name, statistics.median(times), times)


def boto3_client_cold_start(runs: int = RUNS) -> ColdStart:
    times = []
    for _ in range(runs):
        measured = _fresh_interpreter(_TIME_BOTO3_CLIENT)
        times.append(measured["import_seconds"] + measured["client_seconds"])
    return ColdStart("import boto3 + one client", statistics.median(times), times)
