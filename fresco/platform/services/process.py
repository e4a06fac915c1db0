"""What every local service shares: its JVM, pid file, ports, logs and locks.

The Cassandra node and the Kafka broker are both JVM daemons Fresco starts in their own
session (they outlive the Python process that started them), finds again by pid file or by
their command line, and stops with SIGTERM then SIGKILL. Those rules live here once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A local service could not be downloaded, started or stopped; the message says why."""


def java_executable(needs: str) -> str:
    """``$JAVA_HOME/bin/java``, else ``java`` on PATH; ``needs`` says which JDK the service wants."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise ServiceError(f"no `java` on PATH and no $JAVA_HOME: {needs} (apt-get install "
                           "openjdk-17-jdk-headless)")
    return java


def java_major_version(java: str) -> int:
    """The major version ``java -version`` reports (8 for "1.8.0")."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        raise ServiceError(f"cannot tell the version of {java}: {out.strip()}")
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def spawn_daemon(cmd: list[str], *, cwd: Path, stdout_path: Path,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session (it outlives this process and ignores its Ctrl-C); its
    output is appended to ``stdout_path`` after a header line."""
    with open(stdout_path, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env or dict(os.environ), start_new_session=True,
                                close_fds=True)
    return proc


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM the process group, wait, then SIGKILL. True when the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_exists(pid):  # wait for every thread, so the ports are free again
                return True
            time.sleep(0.2)
    return not pid_exists(pid)


def pid_exists(pid: int) -> bool:
    """True until the process is gone entirely (a zombie, or a JVM whose threads still exit, counts)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child once all its threads are done
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_alive(pid: int) -> bool:
    """True while the process runs (not a zombie)."""
    if not pid_exists(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


def command_line(pid: int) -> list[str] | None:
    """The arguments ``pid`` runs with (its ``argv``), or None when /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # each argument ends with a NUL: split, the terminator left out (no empty last argument)
    return [a.decode(errors="replace") for a in raw.removesuffix(b"\0").split(b"\0")] if raw else []


def live_pid(pid_path: Path, is_ours: Callable[[int, bool], bool], stale: list[Path]) -> int | None:
    """The pid in ``pid_path`` when that process runs and ``is_ours(pid, trust_unreadable)``; else a
    daemon of ours whose pid file was lost (deleted, or its starter killed mid-start), adopted;
    else None, and the stale files (``stale``) are removed."""
    try:
        raw = pid_path.read_text().strip()
    except FileNotFoundError:
        return _adopt_orphan(pid_path, is_ours)
    try:
        pid = int(raw)
    except ValueError:
        pid = -1
    if pid > 0 and pid_alive(pid) and is_ours(pid, True):
        return pid
    remove_files(stale)
    return None


def _adopt_orphan(pid_path: Path, is_ours: Callable[[int, bool], bool]) -> int | None:
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            pid = int(entry.name)
            with contextlib.suppress(OSError):
                if is_ours(pid, False) and pid_alive(pid):
                    atomic_write(pid_path, f"{pid}\n")
                    return pid
    return None


def remove_files(files: list[Path]) -> None:
    for f in files:
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Does something accept TCP connections on ``host:port``?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_loopback(host: str, variable: str) -> None:
    """Local services bind to loopback only; ``variable`` is the setting that named ``host``."""
    try:
        addr = socket.gethostbyname(host)
    except OSError:
        raise ServiceError(f"cannot resolve {variable}={host!r}") from None
    if not addr.startswith("127."):
        raise ServiceError(f"local services bind to loopback only; {variable}={host} ({addr}) is not a "
                           "127.x address")


def int_env(name: str, default: int) -> int:
    """``$name`` as a port number, else ``default``."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(f"${name} must be a port number, got {raw!r}") from None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file (at most its last 64 KiB)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (starts, stops and downloads of one service)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def say(message: str, quiet: bool = False) -> None:
    """A progress line of ``fresco services`` on stderr."""
    if not quiet:
        print(f"[fresco services] {message}", file=sys.stderr, flush=True)


def _home_record(service: str, port: int) -> Path:
    from fresco.platform.state import cache_dir

    return cache_dir() / "services" / f"{service}-{port}.json"


def record_home(service: str, home: Path, port: int) -> None:
    """Remember, machine-wide, that ``service`` on ``port`` runs from ``home`` (its state folder
    holds its pid file): a command run under another ``FRESCO_HOME`` finds it there."""
    import json

    record = _home_record(service, port)
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(record, json.dumps({"home": str(home), "port": port}) + "\n")


def running_home(service: str, port: int, pid_file: str) -> Path | None:
    """The home of ``service`` running on ``port`` as recorded by :func:`record_home`, when its
    pid file there names a live process; else None."""
    import json

    try:
        record = json.loads(_home_record(service, port).read_text())
        home = Path(record["home"])
        pid = int((home / pid_file).read_text().strip())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return home if int(record.get("port", -1)) == port and pid_alive(pid) else None
