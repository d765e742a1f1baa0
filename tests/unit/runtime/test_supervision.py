"""supervisord's configuration for `kinerja up`: every program restarted with backoff, stopped as a group."""
import configparser

from runtime.supervision import START_RETRIES, Program, write_config


def test_every_program_restarts_and_stops_as_a_group_with_its_environment(tmp_path):
    config = write_config(tmp_path, [
        Program("attendance.web", ["python", "-m", "gunicorn", "-b", "127.0.0.1:8001", "attendance.app:create_app()"],
                {"PROMETHEUS_MULTIPROC_DIR": "/tmp/m 100%"}),
        Program("attendance.relay", ["python", "-m", "runtime.cli", "relay", "attendance"])])
    parser = configparser.RawConfigParser()
    parser.read(config)
    assert parser.get("supervisord", "nodaemon") == "true"
    assert parser.get("supervisorctl", "serverurl") == f"unix://{tmp_path / 'supervisor.sock'}"
    for name in ("attendance.web", "attendance.relay"):
        section = f"program:{name}"
        assert parser.get(section, "autorestart") == "true"
        assert parser.get(section, "startretries") == str(START_RETRIES)
        assert parser.get(section, "stopasgroup") == parser.get(section, "killasgroup") == "true"
    assert parser.get("program:attendance.web", "command").endswith("'attendance.app:create_app()'")
    assert parser.get("program:attendance.web", "environment") == 'PROMETHEUS_MULTIPROC_DIR="/tmp/m 100%%"'
    assert not parser.has_option("program:attendance.relay", "environment")


def test_the_broker_program_starts_first_stops_last_and_writes_its_own_log(tmp_path):
    config = write_config(tmp_path, [
        Program("kafka", ["java", "-cp", "libs/*", "kafka.Kafka", "server.properties"], log=str(tmp_path / "k.log"),
                priority=1),
        Program("attendance.relay", ["python", "-m", "runtime.cli", "relay", "attendance"])])
    parser = configparser.RawConfigParser()
    parser.read(config)
    assert parser.get("program:kafka", "autorestart") == "true"
    assert parser.get("program:kafka", "stdout_logfile") == str(tmp_path / "k.log")
    assert int(parser.get("program:kafka", "priority")) < int(parser.get("program:attendance.relay", "priority"))
    assert parser.get("program:attendance.relay", "stdout_logfile") == "/dev/stdout"
