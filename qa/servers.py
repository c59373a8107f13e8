"""Local servers the benchmark and the tests start and stop: a real Chroma server, and the
process-group handling that makes sure nothing they start outlives them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMA_START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until `url` answers 200; fail with the server's log if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{tail}")
        time.sleep(0.3)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process started with `start_new_session`, and its children; kill if stuck."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@contextmanager
def chroma_server(path: Path, log_file: Path | None = None) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1 (free port, data in `path`); stopped on exit, always."""
    with chroma_process(path, log_file) as (url, _):
        yield url


@contextmanager
def chroma_process(
    path: Path, log_file: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`chroma_server`, with its process too (a test can stop it early)."""
    chroma = Path(sys.executable).parent / "chroma"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = log_file or path.with_suffix(".log")
    path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", process, log_file, CHROMA_START_TIMEOUT_S)
        yield url, process
    finally:
        stop_process_group(process)
