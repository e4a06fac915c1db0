"""The process helpers the service scripts and ``fresco ui``'s training jobs share."""

from __future__ import annotations

import subprocess
import sys

from fresco.platform.services.process import command_line


def test_a_running_process_command_line_is_its_argv() -> None:
    argv = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)", "an argument"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"  # it runs its own program now (exec done)
        assert command_line(child.pid) == argv
    finally:
        child.kill()
        child.wait()
