"""A real two-node Ray cluster on this machine, started the way the README's cluster section says (for the tests,
`bench/ray.py`, or by hand).

    python tests/local_ray.py [--cpus 1 1]      # runs until Ctrl-C; prints what a driver needs to reach it

A head and a worker, each a `ray start` process with `--node-ip-address=127.0.0.1` and its own `--num-cpus`, with
token authentication on (`RAY_AUTH_MODE=token` on both and for the driver; the token made by
`ray get-auth-token --generate` and read from the file `RAY_AUTH_TOKEN_PATH` names, so the user's ~/.ray is left
alone). Beyond the README's commands, for a machine that others share: free ports, a `--temp-dir` per node, no
dashboard, a small object store, no 30 s drain on SIGTERM (`RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0`), and
`--block`, which keeps each node's processes (GCS, raylet, agents, workers) under one process, so that stopping the
cluster is signalling the two process ids it started. (On Linux, Ray takes `--node-ip-address=127.0.0.1` for the
machine's own outward address; connections still stay on this machine.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# `ray` beside this Python (a venv's bin/ need not be on PATH), else the one on PATH
RAY = shutil.which("ray", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])) or "ray"
STEP_TASK = ":task_name:MapBatches(_run_batch)"  # how a Ray worker's log names each step task it ran


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # the environment of the nodes, and of a driver: RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH
    workdir: Path
    nodes: list[Node] = field(default_factory=list)

    def status(self) -> str:
        """`ray status` against the head, as the README checks a cluster."""
        done = subprocess.run(
            [RAY, "status", f"--address={self.address}"], env=self.env, capture_output=True, text=True, timeout=60
        )
        return done.stdout if done.returncode == 0 else ""

    def node_ids(self) -> set[str]:
        """The active nodes `ray status` lists."""
        return set(re.findall(r"^ 1 node_(\w+)", self.status(), flags=re.M))

    def step_tasks(self) -> Counter:
        """Step tasks (Ray Data `map_batches`) run per node id, from the workers' logs: `worker-{id}-*.out` names
        the tasks a worker ran, `python-core-worker-{id}_*.log` its node. (Ray before 2.60 keeps the logs of all the
        nodes on a machine in the head's `--temp-dir`.)"""
        logs = {p.resolve() for p in self.workdir.glob("*/session_*/logs")}
        node_of = {}
        for path in (p for folder in logs for p in folder.glob("python-core-worker-*.log")):
            node_of.update(re.findall(r"worker_id=(\w+) node_id=(\w+)", path.read_text(errors="replace")))
        tasks = Counter()
        for path in (p for folder in logs for p in folder.glob("worker-*.out")):
            tasks[node_of.get(path.name.split("-")[1])] += path.read_text(errors="replace").count(STEP_TASK)
        return +tasks

    def stop(self, timeout: float = 30) -> list[int]:
        """SIGTERM to each `ray start --block` (the worker first), SIGKILL to whatever of their process trees is
        left after `timeout`; returns the process ids that were still running at the end (none, normally)."""
        import psutil

        tree = []
        for node in reversed(self.nodes):
            with contextlib.suppress(psutil.NoSuchProcess):
                tree += [psutil.Process(node.process.pid), *psutil.Process(node.process.pid).children(recursive=True)]
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=timeout)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=1)
        return [p.pid for p in alive]


def _node_command(cpus: int, temp_dir: Path, head_port: int, head: bool) -> list[str]:
    head_or_join = (
        ["--head", f"--port={head_port}", "--include-dashboard=false"] if head else [f"--address=127.0.0.1:{head_port}"]
    )
    return [
        RAY,
        "start",
        *head_or_join,
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={cpus}",
        "--block",
        f"--temp-dir={temp_dir}",
        f"--dashboard-agent-listen-port={free_port()}",
        "--object-store-memory=100000000",
        "--disable-usage-stats",
    ]


def _make_token(workdir: Path, env: dict[str, str]) -> Path:
    """`ray get-auth-token --generate`, as on the head, into a home of its own."""
    home = workdir / "home"
    subprocess.run(
        [RAY, "get-auth-token", "--generate"],
        env={**env, "HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    token = home / ".ray" / "auth_token"
    token.chmod(0o600)
    return token


def _start_node(name: str, command: list[str], workdir: Path, env: dict[str, str]) -> Node:
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Node(name, process, log_path)


def _wait(cluster: Cluster, nodes: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for node in cluster.nodes:
            if node.process.poll() is not None:
                raise RuntimeError(
                    f"`ray start` of the {node.name} exited ({node.process.returncode}):\n" + node.log_tail()
                )
        if len(cluster.node_ids()) == nodes:
            return
        time.sleep(1)
    raise RuntimeError(
        f"the cluster did not show {nodes} nodes within {timeout:.0f} s:\n"
        + "\n".join(n.log_tail() for n in cluster.nodes)
    )


def start(workdir: Path, cpus: tuple[int, int] = (1, 1), timeout: float = 180) -> Cluster:
    """Head, then worker; returns once `ray status` lists both nodes."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update({"RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"})
    env["RAY_AUTH_TOKEN_PATH"] = str(_make_token(workdir, env))
    port = free_port()
    cluster = Cluster(f"127.0.0.1:{port}", env, workdir)
    try:
        for name, n in zip(("head", "worker"), cpus):
            command = _node_command(n, workdir / name, port, head=name == "head")
            cluster.nodes.append(_start_node(name, command, workdir, env))
            _wait(cluster, len(cluster.nodes), timeout)
        return cluster
    except BaseException:  # not up (or Ctrl-C while starting): nothing is left running
        cluster.stop()
        raise


@contextlib.contextmanager
def local_cluster(cpus: tuple[int, int] = (1, 1)) -> Iterator[Cluster]:
    """A cluster in a short temporary folder (Ray's socket paths under `--temp-dir` must stay under 108 bytes),
    stopped and removed at the end."""
    with tempfile.TemporaryDirectory(prefix="curate-ray-") as workdir:
        cluster = start(Path(workdir), cpus)
        try:
            yield cluster
        finally:
            cluster.stop()


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a two-node Ray cluster on this machine (head and worker).")
    parser.add_argument("--cpus", type=int, nargs=2, default=(1, 1), metavar=("HEAD", "WORKER"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped like Ctrl-C
    try:
        with local_cluster(tuple(args.cpus)) as cluster:
            exports = " ".join(f"{k}={cluster.env[k]}" for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"))
            print(
                f"Ray cluster at {cluster.address}, {sum(args.cpus)} CPUs on 2 nodes\n"
                f"  export RAY_ADDRESS={cluster.address} {exports}\nCtrl-C stops it.",
                flush=True,
            )
            while all(node.process.poll() is None for node in cluster.nodes):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
