"""`kinerja`: the platform's command line (local stack, broker, migrations, workers, tokens, on-call tools)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

from runtime.config import DEFAULT_IDENTITY_URL, Settings, repo_root
from runtime.service import SERVICES


def _cmd_token(args) -> int:
    ttl = timedelta(hours=args.hours)
    if args.dev:
        from runtime.auth import mint_dev_token
        settings = Settings.from_env("identity")
        if not settings.jwt_dev_secret:
            print("--dev needs JWT_DEV_SECRET (the platform must be started with the same value)", file=sys.stderr)
            return 2
        print(mint_dev_token(settings.jwt_dev_secret, settings.jwt_issuer, args.sub, args.roles.split(","), ttl,
                             settings.jwt_audience))
        return 0
    from runtime.auth import platform_minter
    print(platform_minter(ttl)(args.sub, args.roles.split(",")))
    return 0


def _cmd_kafka(args) -> int:
    from runtime.broker import local_broker
    broker = local_broker()
    if args.action == "start":
        broker.start()
        print(f"Kafka broker ready on {broker.bootstrap}")
    elif args.action == "stop":
        broker.stop()
        print("Kafka broker stopped")
    else:  # run: foreground until a signal, for a process manager
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        broker.start()
        print(f"Kafka broker ready on {broker.bootstrap}", flush=True)
        stop.wait()
        broker.stop()
    return 0


def _cmd_migrate(args) -> int:
    from runtime.migrate import upgrade_service
    from runtime.service import service
    for name in args.services or sorted(SERVICES):
        service(name)  # refuses an unknown name
        upgrade_service(Settings.from_env(name))
        print(f"{name}: schema up to date")
    return 0


def _cmd_makemigration(args) -> int:
    from runtime.migrate import make_revision, upgrade
    url = f"sqlite:///{repo_root() / '.cache' / f'makemigration_{args.service}.db'}"
    upgrade(args.service, url)
    make_revision(args.service, url, args.message)
    return 0


def _cmd_consume(args) -> int:
    from runtime.workers import run_consumer
    run_consumer(args.service)
    return 0


def _cmd_relay(args) -> int:
    from runtime.workers import run_relay_process
    run_relay_process(args.service)
    return 0


def _cmd_work(args) -> int:
    from runtime.workers import run_jobs
    run_jobs(args.service)
    return 0


def _cmd_play_month(args) -> int:
    # A thin alias of `kinerja-play`: the demo lives in its own package, found only when asked for.
    from importlib import import_module
    return import_module("scenarios.cli").main(args.rest)


def _cmd_rebuild(args) -> int:
    from runtime.workers import rebuild_projections
    applied = rebuild_projections(args.service, Settings.from_env(args.service))
    print(f"{args.service}: {applied} reference events replayed")
    return 0


def _cmd_catch_up(args) -> int:
    from datetime import UTC, datetime, timedelta

    from runtime.workers import catch_up_point, rewind_consumer
    settings = Settings.from_env(args.service)
    if args.since:
        since = datetime.fromisoformat(args.since)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    else:
        since = catch_up_point(args.service, settings, timedelta(minutes=args.margin_minutes))
    offsets = rewind_consumer(args.service, settings, since)
    print(f"{args.service}: its consumer reads again from {since.isoformat() if since else 'the beginning'}")
    for partition, offset in offsets.items():
        print(f"  {partition} -> {offset}")
    return 0


def _cmd_policy(args) -> int:
    from runtime.policy import PolicyError, read_policy
    from runtime.policy_review import check_file, diff
    if args.action == "check":
        errors = check_file(args.files[0])
        for key, message in errors:
            print(f"{key}: {message}")
        print(f"{args.files[0]}: {len(errors)} error(s)" if errors else f"{args.files[0]}: valid")
        return 1 if errors else 0
    if len(args.files) != 2:
        print("policy diff needs two files: A B", file=sys.stderr)
        return 2
    names = [Path(path).stem for path in args.files]
    if names[0] == names[1]:
        names = [str(path) for path in args.files]
    try:
        lines = diff(read_policy(args.files[0]), read_policy(args.files[1]), *names)
    except PolicyError as exc:
        print(f"{exc} (run `kinerja policy check` on it)", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    print(f"{len(lines)} rule(s) differ" if lines else "the two policies set the same rules")
    return 0


def _cmd_status(args) -> int:
    from runtime.operations import problems, read_platform, render_status
    try:
        services = read_platform(args.services or sorted(SERVICES), os.environ, args.timeout)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    found = problems(services)
    print(render_status(services, found))
    return 1 if found else 0


def _cmd_dlq(args) -> int:
    import json

    from runtime.operations import DeadLetterDesk
    desk = DeadLetterDesk(Settings.from_env("directory").kafka_bootstrap_servers)
    try:
        if args.action == "list":
            for row in desk.summary():
                print(f"{row['topic']:<36} {row['waiting']:>6} waiting   newest {row['newest_at'] or '-'}")
        elif args.action == "audit":
            for entry in desk.audit_trail(args.limit):
                print(json.dumps(entry, ensure_ascii=False))
        elif args.action == "show":
            for record in desk.waiting(args.topic, args.limit):
                print(json.dumps(record.view(args.full), ensure_ascii=False, indent=2))
        else:
            act = desk.replay if args.action == "replay" else desk.discard
            done = act(args.topic, args.count, args.reason, args.by)
            print(f"{args.action}: {len(done)} record(s) of {args.topic}"
                  + "".join(f"\n  offset {r.offset} key {r.key}" for r in done))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        desk.close()
    return 0


def _cmd_audit(args) -> int:
    import json

    from runtime.audit_chain import streams_of
    from runtime.operations import audit_jwks, read_head_file, read_signed_heads, sign_audit_heads, verify_audit
    from runtime.service import service
    names = args.services or sorted(SERVICES)
    for name in names:
        service(name)  # refuses an unknown name
    names = [name for name in names if streams_of(name)]
    settings = Settings.from_env("identity")
    if args.action == "sign":
        heads = sign_audit_heads(names, os.environ)
        for head in heads:
            print(f"{head['stream']}: seq {head['seq']} hash {head['hash']} signed at {head['at']}")
        if args.head_file:
            Path(args.head_file).write_text(json.dumps(heads, indent=2) + "\n")
            print(f"heads written to {args.head_file}")
        return 0
    heads = read_head_file(args.head_file) if args.head_file else {}
    if not args.no_topic:
        try:
            heads = {**read_signed_heads(settings.kafka_bootstrap_servers), **heads}
        except Exception as exc:  # noqa: BLE001 - said plainly: verify without the topic is still possible
            print(f"could not read the signed heads from {settings.kafka_bootstrap_servers}: {exc!r} "
                  "(--no-topic, with --head-file, checks the chains without the broker)", file=sys.stderr)
            return 2
    jwks, source = audit_jwks(args.jwks, settings)
    print(f"signed heads checked against the keys of {source}")
    verdicts = verify_audit(names, os.environ, heads, jwks)
    for verdict in verdicts:
        print(verdict.line())
    broken = [v for v in verdicts if v.broken is not None]
    print(f"{len(broken)} of {len(verdicts)} audit stream(s) broken" if broken else
          f"{len(verdicts)} audit stream(s) whole")
    return 1 if broken else 0


def offset_env(env: dict, host: str, offset: int) -> dict:
    """The environment of a stack run `offset` ports up, beside another: the portal and `kinerja status` find its
    services, and every service fetches the identity service's keys, at the offset ports; the tokens' issuer
    stays the one the environment names (so `kinerja token` still mints tokens it accepts)."""
    if not offset:
        return env
    env.setdefault("JWT_ISSUER", env.get("IDENTITY_URL", DEFAULT_IDENTITY_URL).rstrip("/"))
    for name, port in SERVICES.items():
        env.setdefault(f"{name.upper()}_URL", f"http://{host}:{port + offset}")
    env.setdefault("JWKS_URL", f"{env['IDENTITY_URL']}/.well-known/jwks.json")
    return env


def _cmd_up(args) -> int:
    from runtime.broker import local_broker_on
    from runtime.kafka import ensure_topics
    from runtime.migrate import upgrade_service
    from runtime.supervision import Program, run

    env = offset_env(dict(os.environ), args.host, args.port_offset)
    programs = []
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"])
    else:
        # The local broker runs under supervision like every other process (restarted when it dies); the
        # relays and consumers wait for it and create the topics (runtime.workers._await_broker).
        broker = local_broker_on(args.kafka_port)
        programs.append(Program("kafka", broker.prepare(), log=str(broker.console_log), priority=1))
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
        print(f"local Kafka broker (supervised; log {broker.console_log})", flush=True)
    from runtime.service import has_jobs, service
    with_portal = not args.services or "portal" in args.services
    chosen = [name for name in args.services if name != "portal"] if args.services else sorted(SERVICES)
    for name in chosen:
        service(name)  # refuses an unknown name
        upgrade_service(Settings.from_env(name, env))
    print(f"Kafka: {env['KAFKA_BOOTSTRAP_SERVERS']}")
    for name, port in sorted(((n, SERVICES[n]) for n in chosen), key=lambda kv: kv[1]):
        metrics = {"PROMETHEUS_MULTIPROC_DIR": str(_fresh_metrics_dir(name))}
        programs.append(Program(f"{name}.web", _gunicorn(args, port, f"{name}.app:create_app()"), metrics))
        for role in ("relay", "consume") + (("work",) if has_jobs(name) else ()):
            label = "consumer" if role == "consume" else role
            programs.append(Program(f"{name}.{label}", [sys.executable, "-m", "runtime.cli", role, name], metrics))
        print(f"{name:<11} http://{args.host}:{port + args.port_offset}  (/readyz /metrics /openapi.json)"
              f"  db={Settings.from_env(name, env).database_url}")
    if with_portal:
        from portal.config import PORT
        programs.append(Program("portal.web", _gunicorn(args, PORT, "portal.app:create_app()"),
                                {"PROMETHEUS_MULTIPROC_DIR": str(_fresh_metrics_dir("portal"))}))
        print(f"{'portal':<11} http://{args.host}:{PORT + args.port_offset}  (the web app; /healthz /readyz /metrics)")
    run_dir = Path(Settings.from_env("up", env).data_dir) / "supervisor"
    print(f"supervised by supervisord: supervisorctl -c {run_dir / 'supervisord.conf'} status", flush=True)
    return run(run_dir, programs, env)


def _gunicorn(args, port: int, app: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(repo_root() / "deploy" / "gunicorn.conf.py"),
            "-b", f"{args.host}:{port + args.port_offset}", "-w", str(args.workers), app]


def _fresh_metrics_dir(name: str) -> Path:
    """The prometheus multiprocess folder of a service's processes, emptied of a previous run's files."""
    metrics = repo_root() / ".cache" / "prometheus" / name
    metrics.mkdir(parents=True, exist_ok=True)
    for stale in metrics.glob("*.db"):
        stale.unlink()
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kinerja` command."""
    parser = argparse.ArgumentParser(prog="kinerja", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="run the whole platform locally: broker, services, relays, consumers")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port-offset", type=int, default=0, help="added to every port, to run beside another stack")
    p.add_argument("--kafka-port", type=int, default=9092,
                   help="the supervised local broker's port (its controller on the next), without KAFKA_BOOTSTRAP_SERVERS")
    p.add_argument("services", nargs="*", metavar="service", help="default: every service and the portal")
    p.set_defaults(func=_cmd_up)
    p = sub.add_parser("kafka", help="the local Kafka broker")
    p.add_argument("action", choices=["start", "stop", "run"])
    p.set_defaults(func=_cmd_kafka)
    p = sub.add_parser("migrate", help="bring service databases to the latest schema")
    p.add_argument("services", nargs="*", metavar="service", help="default: every service")
    p.set_defaults(func=_cmd_migrate)
    p = sub.add_parser("makemigration", help="autogenerate a migration for a service (developers)")
    p.add_argument("service", choices=sorted(SERVICES))
    p.add_argument("-m", "--message", required=True)
    p.set_defaults(func=_cmd_makemigration)
    for name, func in (("consume", _cmd_consume), ("relay", _cmd_relay), ("work", _cmd_work)):
        p = sub.add_parser(name, help=f"run a service's {name} process")
        p.add_argument("service", choices=sorted(SERVICES))
        p.set_defaults(func=func)
    p = sub.add_parser("rebuild", help="re-apply the compacted directory topics to a service's projections")
    p.add_argument("service", choices=sorted(SERVICES))
    p.set_defaults(func=_cmd_rebuild)
    p = sub.add_parser("catch-up", help="after a database restore: make a service's consumer (stopped) read "
                                         "Kafka again from shortly before the last event the restored database applied")
    p.add_argument("service", choices=sorted(SERVICES))
    p.add_argument("--margin-minutes", type=float, default=60, help="read this much earlier (default 60)")
    p.add_argument("--since", help="an ISO time (UTC unless it names a zone), instead of the inbox's last event minus the margin")
    p.set_defaults(func=_cmd_catch_up)
    p = sub.add_parser("policy", help="check a policy file (every error by key) or diff two (the rules that differ)")
    p.add_argument("action", choices=["check", "diff"])
    p.add_argument("files", nargs="+", metavar="FILE", help="check: one policy file; diff: two, A and B")
    p.set_defaults(func=_cmd_policy)
    p = sub.add_parser("play-month", help="alias of `kinerja-play`: play a month on the running stack", add_help=False)
    p.set_defaults(func=_cmd_play_month)
    p = sub.add_parser("status", help="one screen: readiness, broker, lag, outbox, dead letters, ingest backlog, "
                       "silent devices; exit 1 when something needs attention")
    p.add_argument("services", nargs="*", metavar="service", help="default: every service")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each service")
    p.set_defaults(func=_cmd_status)
    p = sub.add_parser("dlq", help="events parked on the dead-letter topics: list, show, replay, discard, audit")
    dlq = p.add_subparsers(dest="action", required=True)
    dlq.add_parser("list", help="every dead-letter topic with the records waiting")
    q = dlq.add_parser("show", help="the records waiting on a dead-letter topic, oldest first")
    q.add_argument("topic")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--full", action="store_true", help="the whole payload")
    for action, what in (("replay", "publish the oldest waiting records again on their source topic (idempotent)"),
                         ("discard", "mark the oldest waiting records handled without replaying them")):
        q = dlq.add_parser(action, help=what + "; audited")
        q.add_argument("topic")
        q.add_argument("--count", type=int, default=1, help="how many of the oldest waiting records (default 1)")
        q.add_argument("--reason", required=True, help="why, for the audit trail")
        q.add_argument("--by", help="who, for the audit trail (default: the system user)")
    q = dlq.add_parser("audit", help="the latest replays and discards")
    q.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=_cmd_dlq)
    p = sub.add_parser("audit", help="the tamper-evident audit trails: verify the hash chains against their "
                       "signed heads (exit 1 on a broken link), or sign and publish the heads now")
    p.add_argument("action", choices=["verify", "sign"])
    p.add_argument("services", nargs="*", metavar="service", help="default: every service with an audit trail")
    p.add_argument("--head-file", help="verify: signed heads kept in this file (beside those on the topic); "
                                       "sign: also write the heads signed to this file")
    p.add_argument("--no-topic", action="store_true", help="verify: do not read the heads from the audit.heads topic")
    p.add_argument("--jwks", help="verify: a JWKS URL or file (default: JWKS_URL)")
    p.set_defaults(func=_cmd_audit)
    p = sub.add_parser("token", help="mint an access token for scripts, signed with the platform key of the data directory")
    p.add_argument("--sub", required=True, help="employee id (NIP)")
    p.add_argument("--roles", default="staff", help="comma-separated: staff,supervisor,verifier,finance,admin,ops")
    p.add_argument("--hours", type=float, default=8)
    p.add_argument("--dev", action="store_true", help="an HS256 development token signed with JWT_DEV_SECRET")
    p.set_defaults(func=_cmd_token)
    args, rest = parser.parse_known_args(argv)
    if rest and args.func is not _cmd_play_month:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    from runtime.metrics import use_process_files
    use_process_files()  # before any metric is created: this process's own metric files
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
