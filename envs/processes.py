"""Ending the helper processes an env starts (Xvfb, launched apps) without leaving any."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    """Ask ``process`` to exit (SIGTERM), kill it after ``timeout`` seconds, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
