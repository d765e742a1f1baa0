"""`kinerja status`: what counts as a problem, from each service's readiness and scrape-time metrics."""
from runtime.operations import ServiceStatus, problems, render_status


def _service(name, ready=True, **metrics):
    samples = [(metric, labels, value) for metric, series in metrics.items() for labels, value in series]
    return ServiceStatus(name, f"http://127.0.0.1/{name}", ready, {"database": "ok", "kafka": "ok"}, samples)


def test_a_healthy_platform_has_no_problem_and_a_lag_alone_is_not_one():
    services = [_service("payroll", kinerja_consumer_lag=[({"topic": "scoring.months", "partition": "0"}, 12)],
                         kinerja_outbox_oldest_age_seconds=[({"service": "payroll"}, 3)])]
    assert problems(services) == []
    assert "OK: nothing needs attention" in render_status(services, [])


def test_each_kind_of_problem_is_named_once():
    dlq = [({"service": "scoring", "topic": "attendance.days.dlq"}, 2)]
    services = [
        ServiceStatus("identity", "http://127.0.0.1:8007"),  # did not answer
        _service("scoring", ready=False, kinerja_dead_letters=dlq),
        _service("payroll", kinerja_dead_letters=[({"service": "payroll", "topic": "attendance.days.dlq"}, 2)],
                 kinerja_outbox_oldest_age_seconds=[({"service": "payroll"}, 900)]),
        _service("attendance", kinerja_attendance_device_silent=[({"device": "CQUJ1", "unit": "DINKES"}, 1),
                                                                  ({"device": "CQUJ2", "unit": "DINKES"}, 0)],
                 kinerja_attendance_ingest_waiting=[({}, 40)], kinerja_attendance_ingest_oldest_age_seconds=[({}, 1800)],
                 kinerja_attendance_date_build_overdue_seconds=[({}, 26 * 3600)]),
    ]
    services[1].checks = {"database": "ok", "kafka": "unreachable"}
    found = problems(services)
    assert found == [
        "identity: does not answer at http://127.0.0.1:8007",
        "scoring: not ready (kafka unreachable)",
        "payroll: outbox not draining (oldest row 900 s)",
        "attendance: 40 uploads waiting for the ingest job, the oldest 1800 s",
        "attendance: the nightly build of everyone's days is 26.0 h behind (docs/OPERATIONS.md, KinerjaNightlyBuildBehind)",
        "attendance: device CQUJ1 (unit DINKES) silent in working hours",
        "attendance.days.dlq: 2 dead letter(s) waiting (kinerja dlq show attendance.days.dlq)",
    ]
    screen = render_status(services, found)
    assert "DOWN" in screen and "NOT READY" in screen and "7 problem(s):" in screen and "CQUJ1" in screen
    assert "nightly build: 26.0 h behind" in screen


def test_a_nightly_build_within_its_alert_threshold_is_not_a_problem():
    services = [_service("attendance", kinerja_attendance_date_build_overdue_seconds=[({}, 3600)])]
    assert problems(services) == []
    assert "nightly build: 1.0 h behind" in render_status(services, [])
    services = [_service("attendance", kinerja_attendance_date_build_overdue_seconds=[({}, 0)])]
    assert "nightly build: up to date" in render_status(services, [])
