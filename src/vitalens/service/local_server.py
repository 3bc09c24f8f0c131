"""`vitalens serve` in a child process on a free loopback port, for the tests and the load benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_server(*serve_args: str, startup_timeout_s: float = 120.0) -> Iterator[str]:
    """Start `vitalens serve` with `serve_args`, yield its base URL once /healthz answers, stop it after."""
    port = free_port()
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "vitalens.cli", "serve", "--port", str(port), *serve_args]
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server must never block on a full pipe
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base, process, log, startup_timeout_s)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until_healthy(base: str, process: subprocess.Popen, log, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"`vitalens serve` exited with {process.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"`vitalens serve` did not answer {base}/healthz within {timeout_s:.0f} s")
