"""Every event type the platform knows: type -> (topic, data schema class)."""
from contracts import activities, approvals, attendance, audit, directory, identity, payroll, scoring

EVENTS: dict[str, tuple[str, type]] = {
    **directory.EVENTS, **attendance.EVENTS, **activities.EVENTS, **approvals.EVENTS, **scoring.EVENTS,
    **payroll.EVENTS, **identity.EVENTS, **audit.EVENTS,
}


def topics_of(event_types) -> list[str]:
    """The topics carrying these event types, sorted."""
    return sorted({EVENTS[t][0] for t in event_types})
