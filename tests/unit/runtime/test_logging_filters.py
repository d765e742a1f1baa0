"""kafka-python's coordinator chatter at start-up is quieted; the same warning later is kept."""
import logging

from runtime.web import _StartupCoordinatorNoise


def _record(name, message):
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), None)


def test_coordinator_warnings_are_dropped_only_while_the_process_starts():
    starting = _StartupCoordinatorNoise(quiet_for_s=60)
    noise = _record("kafka.coordinator", "Marking the coordinator dead (node 1) for group g: NotCoordinatorError.")
    assert not starting.filter(noise)
    assert starting.filter(_record("kafka.coordinator", "Heartbeat session expired"))
    assert starting.filter(_record("attendance.jobs", "NotCoordinatorError in a message of ours"))
    assert _StartupCoordinatorNoise(quiet_for_s=-1).filter(noise)
