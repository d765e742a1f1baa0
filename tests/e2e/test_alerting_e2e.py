"""A real Prometheus (Debian's package) scraping the services every second and evaluating the platform's
alert rules, with every `for:` shortened to one second in a copy generated from deploy/prometheus/alerts.yml
(the one source of the rules):

- scoring's consumer stops while events keep arriving on its topic: KinerjaConsumerLagGrowing fires;
- a poison event reaches scoring's consumer and is dead-lettered: KinerjaDeadLetters fires for its topic;
- a fingerprint device calls, then goes quiet: KinerjaDeviceSilent fires for it if it is working hours in
  its zone now (the alert is about working hours); when no zone is, the device is silent at once
  (ATTENDANCE_SILENT_MINUTES=0) and no alert may fire for it;
- no attendance job has built the latest finished date, finished three hours ago (ATTENDANCE_CLOSE_DAY_AFTER_HOURS
  chosen so): KinerjaNightlyBuildBehind fires; once the build closes the date, it resolves.
"""
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError
from ruamel.yaml import YAML
from werkzeug.serving import make_server

from runtime.consumer import EventConsumer
from runtime.db import make_engine, make_session_factory
from runtime.events import make_event
from runtime.kafka import make_consumer, make_producer
from contracts.registry import topics_of
from runtime.monitoring import Broker
from runtime.operations import DeadLetterDesk

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
SILENT_MINUTES = 1  # the shortest silence the attendance setting allows; the test's longest wait


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _rules_with_short_for(target: Path) -> set[str]:
    """alerts.yml with every `for:` set to 1s, written to `target`; returns the alert names."""
    yaml = YAML(typ="safe")
    rules = yaml.load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    names = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
            names.add(rule["alert"])
    with target.open("w") as out:
        yaml.dump(rules, out)
    return names


def _working_zone(now: datetime) -> str | None:
    """A zone whose national working hours include the next few minutes, if any does now."""
    from attendance.domain.schedule import default_schedule, planned_shift
    from contracts.directory import ZONES
    for zone in ZONES:
        shift = planned_shift(default_schedule(), now.astimezone(ZoneInfo(zone)).date(), set(), zone)
        if shift is not None and shift.start <= now and now + timedelta(minutes=SILENT_MINUTES + 2) <= shift.end:
            return zone
    return None


def _quiet_zone(now: datetime) -> str:
    """A zone whose working hours are not in the next few minutes (when no zone's are: the zones are an hour apart,
    so when one is in its last minutes of work, another has finished). Not simply WIB: in WIB's last minutes of work
    a device there is silent during working hours."""
    from attendance.domain.schedule import default_schedule, planned_shift
    from contracts.directory import ZONES
    until = now + timedelta(minutes=SILENT_MINUTES + 2)
    for zone in ZONES:
        shift = planned_shift(default_schedule(), now.astimezone(ZoneInfo(zone)).date(), set(), zone)
        if shift is None or shift.end <= now or until < shift.start:
            return zone
    raise AssertionError(f"every zone works within minutes of {now}")


class Prometheus:
    def __init__(self, binary, tmp: Path, targets: list[str]):
        self.port = _free_port()
        self.rules = _rules_with_short_for(tmp / "rules.yml")
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
                  "rule_files": [str(tmp / "rules.yml")],
                  "scrape_configs": [{"job_name": "kinerja", "static_configs": [{"targets": targets}]}]}
        YAML(typ="safe").dump(config, (tmp / "prometheus.yml").open("w"))
        self.process = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"], stdout=subprocess.DEVNULL,
            stderr=(tmp / "prometheus.log").open("w"))

    def firing(self) -> list[dict]:
        alerts = requests.get(f"http://127.0.0.1:{self.port}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return [a["labels"] for a in alerts if a["state"] == "firing"]

    def query(self, expr: str) -> list:
        return requests.get(f"http://127.0.0.1:{self.port}/api/v1/query", params={"query": expr},
                            timeout=5).json()["data"]["result"]

    def wait_for(self, predicate, what: str, timeout_s: float = 60):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; firing: {self.firing()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def _fires(alertname, **labels):
    return lambda alerts: any(a["alertname"] == alertname and all(a.get(k) == v for k, v in labels.items())
                              for a in alerts)


def test_a_real_prometheus_fires_the_lag_dead_letter_silent_device_and_nightly_build_alerts(
        new_database, make_app, kafka_bootstrap, token, new_nip, tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("prometheus is missing (apt-get install prometheus)")
    from attendance.consumers import handlers as attendance_handlers
    from scoring.consumers import handlers as scoring_handlers
    from scoring.tables import metadata as scoring_tables

    # scoring, with its own consumer group on the session's broker, caught up with its topics
    group = f"scoring-alerting-{uuid.uuid4().hex[:8]}"
    scoring_url = new_database("scoring")
    scoring = make_app("scoring", scoring_url, kafka=kafka_bootstrap, extra={"SCORING_CONSUMER_GROUP": group})
    handlers = scoring_handlers(scoring.config["SETTINGS"])
    broker = Broker(kafka_bootstrap, "alerting-test")
    from kafka.structs import OffsetAndMetadata
    partitions = broker.partitions(topics_of(handlers))
    ends = {tp: OffsetAndMetadata(end, "", -1) for tp, end in broker.end_offsets(partitions).items()}
    deadline = time.monotonic() + 30
    while True:  # a fresh broker's group coordinator may not be known yet (its offsets topic made on first use)
        try:
            broker.admin.alter_group_offsets(group, ends)
            break
        except (CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    broker.close()
    desk = DeadLetterDesk(kafka_bootstrap)  # what earlier tests parked on attendance.days.dlq is handled
    desk.discard("attendance.days.dlq", 100000, "alerting test: start from an empty dead-letter topic", actor="test")
    producer = make_producer(kafka_bootstrap, "alerting-test")
    kafka_consumer = make_consumer(kafka_bootstrap, group, "scoring-consumer")
    kafka_consumer.subscribe(topics_of(handlers))
    consumer = EventConsumer(group, kafka_consumer, producer,
                             make_session_factory(make_engine(scoring_url), scoring_tables), handlers, max_attempts=1)
    stop_consumer = threading.Event()
    consuming = threading.Thread(target=consumer.run, args=(stop_consumer,), daemon=True)
    consuming.start()

    # attendance, with a device in a zone where it is working hours now (if there is one), and its latest finished
    # date finished three to four hours ago: a local date finishes this many hours after it ends in WIB
    now = datetime.now(UTC)
    zone = _working_zone(now)
    device_zone = zone or _quiet_zone(now)
    close_after = (datetime.now(ZoneInfo("Asia/Jakarta")).hour - 3) % 24
    attendance_url = new_database("attendance")
    attendance = make_app("attendance", attendance_url, kafka=kafka_bootstrap,
                          extra={"ATTENDANCE_SILENT_MINUTES": str(SILENT_MINUTES if zone else 0),
                                 "ATTENDANCE_CLOSE_DAY_AFTER_HOURS": str(close_after)})
    serial, nip = "ALERT" + uuid.uuid4().hex[:6].upper(), new_nip()
    directory = EventConsumer("attendance", None, None, attendance.extensions["kinerja"].sessions,
                              attendance_handlers(attendance.config["SETTINGS"]))
    directory.apply(make_event("directory.employee.upserted", nip, {
        "employee_id": nip, "name": "Siti", "unit_id": "dinkes", "status": "PNS", "zone": device_zone}, "t"))
    directory.apply(make_event("directory.enrolment.upserted", f"{serial}:46", {
        "device_serial": serial, "pin": "46", "employee_id": nip}, "t"))
    client = attendance.test_client()
    assert client.post("/devices", json={"device_serial": serial, "zone": device_zone, "location": "Lobi"},
                       headers=token(new_nip(), "admin")).status_code == 201
    assert client.get(f"/iclock/cdata?SN={serial}&options=all").status_code == 200  # it calls, then goes quiet

    servers = [_serve(scoring), _serve(attendance)]
    prometheus = Prometheus(binary, tmp_path, [f"127.0.0.1:{s.server_port}" for s in servers])
    try:
        assert prometheus.rules >= {"KinerjaConsumerLagGrowing", "KinerjaDeadLetters", "KinerjaDeviceSilent"}
        prometheus.wait_for(lambda: len(prometheus.query('up{job="kinerja"} == 1')) == 2, "both targets scraped")
        prometheus.wait_for(lambda: prometheus.query('kinerja_consumer_lag{service="scoring"}'), "scoring's lag")
        quiet = prometheus.firing()
        assert not _fires("KinerjaConsumerLagGrowing", service="scoring")(quiet)
        assert not _fires("KinerjaDeadLetters", topic="attendance.days.dlq")(quiet)
        assert not _fires("KinerjaDeviceSilent", device=serial)(quiet)

        producer.send("attendance.days", key=nip, value=b"{poison: not an event").get(timeout=30)
        prometheus.wait_for(lambda: _fires("KinerjaDeadLetters", topic="attendance.days.dlq")(prometheus.firing()),
                            "the dead-letter alert")

        stop_consumer.set()  # the consumer stops; events keep arriving
        consuming.join(timeout=30)
        for i in range(3):
            producer.send("attendance.days", key=f"{nip}-{i}", value=b"{}").get(timeout=30)
        prometheus.wait_for(lambda: _fires("KinerjaConsumerLagGrowing", service="scoring",
                                           topic="attendance.days")(prometheus.firing()), "the lag alert")

        device_alert = _fires("KinerjaDeviceSilent", device=serial, unit="dinkes")
        if zone is not None:
            prometheus.wait_for(lambda: device_alert(prometheus.firing()), "the silent device alert",
                                timeout_s=SILENT_MINUTES * 60 + 30)
        else:  # no zone is in working hours now: a quiet device is no problem, and no alert says otherwise
            assert not device_alert(prometheus.firing())
            assert prometheus.query(f'kinerja_attendance_device_silent{{device="{serial}"}} == 0')

        # no job has built the latest finished date (this fresh database's first): the build is behind
        build_behind = _fires("KinerjaNightlyBuildBehind", job="kinerja", severity="warning")
        prometheus.wait_for(lambda: build_behind(prometheus.firing()), "the nightly build alert")
        [overdue] = prometheus.query("kinerja_attendance_date_build_overdue_seconds")
        assert 3 * 3600 <= float(overdue["value"][1]) < 5 * 3600
        from attendance.jobs import close_finished_dates
        assert len(close_finished_dates(attendance.extensions["kinerja"].sessions,
                                        attendance.extensions["kinerja"].service, datetime.now(UTC))) == 1
        prometheus.wait_for(lambda: not build_behind(prometheus.firing()), "the nightly build alert resolved")
        assert prometheus.query("kinerja_attendance_date_build_overdue_seconds == 0")
    finally:
        stop_consumer.set()
        prometheus.stop()
        for server in servers:
            server.shutdown()
        desk.discard("attendance.days.dlq", 100000, "alerting test: its poison event", actor="test")
        desk.close()
        producer.close()
