"""The processes of `kinerja up`, supervised by supervisord: one crash restarts that process, never the platform.

The local Kafka broker `kinerja up` starts (when `KAFKA_BOOTSTRAP_SERVERS` names no broker of its own) is one
of the programs too: started first and stopped last (`priority`), restarted like the others when it dies.

supervisord (the `supervisor` package) is a maintained, widely deployed process supervisor that installs
from PyPI with no compiled parts and runs in the foreground. Each program is restarted whenever it exits
(`autorestart`); one that dies again within `START_SECONDS` of its start is retried after a pause that
grows by a second each time (supervisord's backoff), up to `START_RETRIES` times. Children run in their own
process groups and are stopped as groups (gunicorn's workers with their master). SIGINT or SIGTERM to
`kinerja up` stops every program (SIGTERM, then SIGKILL after `STOP_WAIT_SECONDS`) before it returns.
"""
from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

START_SECONDS = 3
START_RETRIES = 100
STOP_WAIT_SECONDS = 20


@dataclass(frozen=True)
class Program:
    """One supervised process: its name, its command line and the environment it adds to the platform's."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log: str = "/dev/stdout"  # where its output goes (the broker's is long: its own file)
    priority: int = 999  # lower starts first and stops last (the broker, before and after its clients)


def _escape(text: str) -> str:
    """A value for supervisord's ini files, where `%` starts an expansion."""
    return text.replace("%", "%%")


def _environment(env: dict[str, str]) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in sorted(env.items())
                    if '"' not in value and "\n" not in value)


def write_config(run_dir: Path, programs: list[Program]) -> Path:
    """supervisord's configuration for `programs`, with its socket and logs under `run_dir`; returns the file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[supervisord]", "nodaemon=true", f"logfile={run_dir / 'supervisord.log'}",
        f"pidfile={run_dir / 'supervisord.pid'}", f"childlogdir={run_dir}", "loglevel=info",
        "[unix_http_server]", f"file={socket_path(run_dir)}", "chmod=0700",
        "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "[supervisorctl]", f"serverurl=unix://{socket_path(run_dir)}",
    ]
    for program in programs:
        lines += [
            f"[program:{program.name}]",
            f"command={_escape(shlex.join(program.argv))}",
            "autostart=true", "autorestart=true", f"startsecs={START_SECONDS}", f"startretries={START_RETRIES}",
            "stopsignal=TERM", f"stopwaitsecs={STOP_WAIT_SECONDS}", "stopasgroup=true", "killasgroup=true",
            "redirect_stderr=true", f"stdout_logfile={_escape(program.log)}", "stdout_logfile_maxbytes=0",
            f"priority={program.priority}",
        ]
        if program.env:
            lines.append(f"environment={_environment(program.env)}")
    config = run_dir / "supervisord.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def socket_path(run_dir: Path) -> Path:
    """supervisord's control socket (what `supervisorctl -c <run_dir>/supervisord.conf` talks to)."""
    return run_dir / "supervisor.sock"


def run(run_dir: Path, programs: list[Program], env: dict[str, str]) -> int:
    """Run `programs` under supervisord in the foreground until SIGINT or SIGTERM; return its exit status."""
    config = write_config(run_dir, programs)
    supervisord = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", str(config)], env=env,
                                   start_new_session=True)  # signals reach it only through this process

    def forward(*_):
        if supervisord.poll() is None:
            supervisord.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return supervisord.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def states(run_dir: Path) -> dict[str, tuple[str, int]]:
    """{program: (state, pid)} as the running supervisord under `run_dir` reports them."""
    from xmlrpc.client import ServerProxy

    from supervisor.xmlrpc import SupervisorTransport
    proxy = ServerProxy("http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{socket_path(run_dir)}"))
    return {info["name"]: (info["statename"], info["pid"]) for info in proxy.supervisor.getAllProcessInfo()}
