"""A moto server in a process of its own on 127.0.0.1, so the benchmark's process spends its
CPU on the client side only (what a Lambda function would pay for), never on serving."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
READY_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def moto_server_command(port: int) -> list[str]:
    """moto's own ``moto_server`` script from this virtualenv (or its module when the script is missing)."""
    script = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    launcher = [script] if script else [sys.executable, "-m", "moto.server"]
    return [*launcher, "-H", "127.0.0.1", "-p", str(port)]


def client_environment(endpoint_url: str) -> dict[str, str]:
    """What every AWS client of this process needs to talk to the server (fake credentials)."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        # moto 5 with current botocore: account-based endpoints would miss the server
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        **FAKE_CREDENTIALS,
    }


@contextmanager
def moto_server() -> Iterator[str]:
    """Start ``moto_server`` on a free port, point this process's AWS clients at it, and yield its
    URL; on exit stop that server (by its own process id) and restore the environment."""
    port = free_port()
    endpoint_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        moto_server_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    saved = {name: os.environ.get(name) for name in client_environment(endpoint_url)}
    try:
        _wait_until_ready(endpoint_url, server)
        os.environ.update(client_environment(endpoint_url))
        yield endpoint_url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_ready(endpoint_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer on {endpoint_url} within {READY_TIMEOUT_SECONDS:.0f} s")
