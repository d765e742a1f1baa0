"""A real single-node Apache Kafka broker for local runs and tests, from the jars Maven fetches.

`deploy/kafka/pom.xml` pins the broker; its jars go to an ignored cache. Storage is formatted once
(`kafka.tools.StorageTool format`); `kafka.Kafka` runs on 127.0.0.1; start returns only when the broker
answers a metadata request.
"""
from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from runtime.config import repo_root
from runtime.kafka import broker_answers

KAFKA_DIR = repo_root() / "deploy" / "kafka"


def cache_dir() -> Path:
    """Where jars and broker instances live (ignored by git)."""
    return Path(os.environ.get("KINERJA_CACHE", repo_root() / ".cache"))


def fetch_jars() -> Path:
    """Fetch the broker's jars with Maven into the cache once; return the folder."""
    libs = cache_dir() / "kafka" / "libs"
    marker = libs / ".complete"
    if not marker.exists():
        libs.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml"), "dependency:copy-dependencies",
             f"-DoutputDirectory={libs}", "-DincludeScope=runtime"], check=True)
        marker.write_text("ok\n")
    return libs


@dataclass
class Broker:
    """A broker instance: its folder, ports and process."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    process: subprocess.Popen | None = None
    node_id: int = 1
    voters: str | None = None  # the controller quorum of a cluster; this broker alone when None
    cluster_id: str | None = None  # shared by a cluster's brokers; a new one when None
    overrides: dict = field(default_factory=dict)  # more server.properties (a cluster's replication settings)
    heap: str = "768m"
    collector: str = "-XX:+UseParallelGC"  # see `_java`; bench/broker_gc.py compares others

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use."""
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        overrides = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.quorum.voters": self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "node.id": str(self.node_id),
            "log.dirs": str(self.home / "data"),
            **self.overrides,
        }
        lines = []
        for line in (KAFKA_DIR / "server.properties").read_text().splitlines():
            key = line.split("=", 1)[0].strip()
            lines.append(f"{key}={overrides.pop(key)}" if key in overrides else line)
        lines += [f"{k}={v}" for k, v in overrides.items()]
        config = self.home / "server.properties"
        config.write_text("\n".join(lines) + "\n")
        return config

    # The parallel collector by default: on a heap this small G1's barriers and concurrent work cost the broker about a third more
    # CPU per record (400,000 records of 500 bytes produced idempotently and consumed: 16.6-20.7 µs a record against
    # 9.6-16.1, docs/PERFORMANCE.md), and its young collections of a few hundred MB pause for milliseconds.
    def _java(self, libs: Path, main: str, *args: str, **popen) -> list[str]:
        return ["java", "-Xms256m", f"-Xmx{self.heap}", self.collector, "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.xml'}", f"-Dkafka.logs.dir={self.home / 'logs'}",
                "-cp", f"{libs}/*", main, *args]

    def start(self, timeout_s: float = 90.0) -> "Broker":
        """Format storage if new, start the broker and wait until it answers a metadata request."""
        self.launch()
        return self.wait_ready(timeout_s)

    def prepare(self) -> list[str]:
        """Fetch the jars, write the configuration and format storage if new; return the broker's command line
        (what `launch` runs, or a supervisor runs and restarts: `kinerja up`)."""
        libs = fetch_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        config = self._write_config()
        if not (self.home / "data" / "meta.properties").exists():
            subprocess.run(self._java(libs, "kafka.tools.StorageTool", "format", "-t", self.cluster_id or new_cluster_id(),
                                      "-c", str(config), "--ignore-formatted"),
                           check=True, stdout=subprocess.DEVNULL)
        return self._java(libs, "kafka.Kafka", str(config))

    @property
    def console_log(self) -> Path:
        """Where the broker's console output goes."""
        return self.home / "logs" / "console.log"

    def launch(self) -> None:
        """Format storage if new and start the broker process, without waiting (a cluster's brokers answer
        only once their controller quorum has formed)."""
        argv = self.prepare()
        log = open(self.console_log, "ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        (self.home / "broker.pid").write_text(str(self.process.pid))

    def wait_ready(self, timeout_s: float = 90.0) -> "Broker":
        """Wait until the launched broker answers a metadata request."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"broker exited with {self.process.returncode}; see {self.home / 'logs'}")
            if broker_answers(self.bootstrap, timeout_s=2.0):
                return self
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"broker did not answer within {timeout_s:.0f}s; see {self.home / 'logs'}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the broker cleanly (SIGTERM: controlled shutdown), killing it if it hangs."""
        pid = self.process.pid if self.process else _read_pid(self.home)
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid, self.process):
            time.sleep(0.2)
        if _alive(pid, self.process):
            os.killpg(pid, signal.SIGKILL)
        if self.process:
            self.process.wait(timeout=10)
        (self.home / "broker.pid").unlink(missing_ok=True)

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL: no controlled shutdown), as a crash would; `start` brings it back."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        (self.home / "broker.pid").unlink(missing_ok=True)

    def wipe(self) -> None:
        """Remove the instance's data (after stop)."""
        shutil.rmtree(self.home, ignore_errors=True)


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes in URL-safe base64 without padding (22 characters).

    One starting with "-" would be read as an option by the storage tool, so those are drawn again.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _read_pid(home: Path) -> int | None:
    try:
        return int((home / "broker.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int, process: subprocess.Popen | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


CLUSTER_SETTINGS = {
    # every partition, the consumer offsets and the transaction log on three brokers; a write is acknowledged
    # (acks=all) once two of them have it, so one broker may be lost without losing or refusing a write
    "default.replication.factor": "3", "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3", "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2", "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2", "unclean.leader.election.enable": "false",
}


@dataclass
class Cluster:
    """A KRaft cluster of brokers that are also its controller quorum, from the same jars (tests, drills)."""

    brokers: list[Broker]

    @classmethod
    def at(cls, home: Path, ports: list[tuple[int, int]], heap: str = "512m") -> "Cluster":
        """Brokers 1..n under `home`, each with its (client port, controller port)."""
        voters = ",".join(f"{n}@127.0.0.1:{controller}" for n, (_, controller) in enumerate(ports, 1))
        cluster_id = new_cluster_id()
        return cls([Broker(home=home / f"broker{n}", port=port, controller_port=controller, node_id=n, voters=voters,
                           cluster_id=cluster_id, overrides=dict(CLUSTER_SETTINGS), heap=heap)
                    for n, (port, controller) in enumerate(ports, 1)])

    @property
    def bootstrap(self) -> str:
        """Every broker's address, as clients are given them."""
        return ",".join(broker.bootstrap for broker in self.brokers)

    def start(self, timeout_s: float = 180.0) -> "Cluster":
        """Start every broker, then wait until each answers."""
        for broker in self.brokers:
            broker.launch()
        for broker in self.brokers:
            broker.wait_ready(timeout_s)
        return self

    def stop(self) -> None:
        """Stop every broker."""
        for broker in self.brokers:
            broker.stop()

    def wipe(self) -> None:
        """Remove every broker's data (after stop)."""
        for broker in self.brokers:
            broker.wipe()


def local_broker(name: str = "local", port: int = 9092, controller_port: int = 9093) -> Broker:
    """The broker instance called `name` under the cache."""
    return Broker(home=cache_dir() / "kafka" / name, port=port, controller_port=controller_port)


def local_broker_on(port: int) -> Broker:
    """The local broker of `kinerja up` on `port` (its controller on the next port): the usual instance on
    9092, one of its own on any other port (a stack beside another)."""
    return local_broker("local" if port == 9092 else f"local-{port}", port, port + 1)
