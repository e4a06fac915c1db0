"""A real Spark standalone cluster on this machine, from pyspark's own distribution: one master
and ``workers`` workers (one core each) on loopback, as ``spark-class`` starts them on a cluster's
nodes. Its logs are in ``root``; :meth:`StandaloneCluster.stop` ends every process."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port


def spark_home() -> Path:
    """pyspark's distribution (``bin/spark-class``, ``jars/``)."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class StandaloneCluster:
    root: Path
    port: int
    ui_port: int
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def state(self) -> dict:
        """The master's JSON status page (``aliveworkers``, ``cores``, ``activeapps`` ...)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as answer:
            return json.load(answer)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.root.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_cluster(root: Path, workers: int = 2, memory: str = "2g", timeout: float = 90.0) -> StandaloneCluster:
    """Start the master, then the workers; return once every worker has registered."""
    root.mkdir(parents=True, exist_ok=True)
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    cluster = StandaloneCluster(root, free_port(), free_port())

    def launch(name: str, *args: str) -> None:
        log = open(root / f"{name}.log", "w")
        cluster.processes.append(subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env,
                                                  stdout=log, stderr=subprocess.STDOUT, cwd=root))

    launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
           "--port", str(cluster.port), "--webui-port", str(cluster.ui_port))
    for i in range(workers):
        launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
               "--memory", memory, "--webui-port", str(free_port()), "--work-dir", str(root / f"work-{i}"),
               cluster.master)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cluster.state().get("aliveworkers") == workers:
                return cluster
        except OSError:
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in cluster.processes):
            logs = cluster.logs()
            cluster.stop()
            raise RuntimeError(f"the Spark standalone cluster did not come up with {workers} workers:\n{logs}")
        time.sleep(0.5)
