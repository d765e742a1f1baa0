"""The bursty inputs are applied in runs, not one event at a time: the consumers register batched handlers.

Punches arrive by the thousand in a morning peak and each one rebuilds a day that scoring then re-checks;
applied one by one, the attendance consumer kept up with about 200 events/s (the days are now built by the
ingest job as it stores the punches, batch by batch). What the batched handlers compute is proven equal to the
one-at-a-time path in tests/integration/{attendance,scoring}/*_batched.py.
"""
from runtime.consumer import ManyHandler
from runtime.service import service
from tests.conftest import make_settings


def _handlers(name, tmp_path):
    settings = make_settings(name, f"sqlite:///{tmp_path / name}.db", data_dir=str(tmp_path / name))
    return service(name).consumer_handlers(settings)


def test_the_attendance_consumer_does_not_consume_its_own_punches(tmp_path):
    """Their days are built where they are stored, in the same transaction (`punches.build_days_of`)."""
    handlers = _handlers("attendance", tmp_path)
    assert not any(event_type.startswith("attendance.") for event_type in handlers)


def test_the_scoring_consumer_applies_a_run_of_attendance_days_at_once(tmp_path):
    handlers = _handlers("scoring", tmp_path)
    assert isinstance(handlers["attendance.day.built"], ManyHandler)


def test_the_scoring_consumer_applies_runs_of_entries_decisions_and_verifications_at_once(tmp_path):
    handlers = _handlers("scoring", tmp_path)
    for event_type in ("activities.entry.submitted", "activities.entry.revised", "activities.entry.withdrawn",
                       "approvals.decision.made", "approvals.verification.made"):
        assert isinstance(handlers[event_type], ManyHandler), event_type
