"""The attendance service's context: its policy section and its own settings, read once where a process
starts (the app in `app.py`, the consumer in `consumers.py`, the job in `jobs.py`) and handed to the use cases."""
from __future__ import annotations

from dataclasses import dataclass

from attendance.domain.policy import AttendancePolicy, load_policy
from contracts.directory import ZONES
from runtime.config import Settings
from runtime.policy import PolicyError, load_section


@dataclass(frozen=True)
class AttendanceConfig:
    """What the use cases need besides the database: the regional policy and the service's settings."""

    policy: AttendancePolicy
    default_zone: str = "Asia/Jakarta"  # a device's zone until an admin sets it
    silent_minutes: int = 30  # an approved device not heard from this long during working hours is silent
    close_day_after_hours: int = 12  # a local date is built for everyone this long after it ends (night shifts)
    # the largest body a device may post: a 128-record ATTLOG batch is about 10 KB, photo and template
    # tables reach a few hundred KB (push 3.x firmware posts at most its MaxPostSize, 1 MB by default)
    max_device_body_bytes: int = 4 * 1024 * 1024


def load_config(settings: Settings) -> AttendanceConfig:
    """Validate the `[attendance]` policy and the ATTENDANCE_DEFAULT_ZONE, _SILENT_MINUTES,
    _CLOSE_DAY_AFTER_HOURS and _MAX_DEVICE_BODY_BYTES settings."""
    policy = load_section(settings.policy_file, "attendance", load_policy)
    zone = settings.extra.get("ATTENDANCE_DEFAULT_ZONE", "Asia/Jakarta")
    if zone not in ZONES:
        raise PolicyError(f"ATTENDANCE_DEFAULT_ZONE must be one of {', '.join(ZONES)}, not {zone!r}")
    try:
        silent = int(settings.extra.get("ATTENDANCE_SILENT_MINUTES", "30"))
    except ValueError:
        raise PolicyError("ATTENDANCE_SILENT_MINUTES must be a whole number of minutes") from None
    try:
        close_after = int(settings.extra.get("ATTENDANCE_CLOSE_DAY_AFTER_HOURS", "12"))
    except ValueError:
        raise PolicyError("ATTENDANCE_CLOSE_DAY_AFTER_HOURS must be a whole number of hours") from None
    if not 0 <= close_after <= 72:
        raise PolicyError("ATTENDANCE_CLOSE_DAY_AFTER_HOURS must be between 0 and 72")
    try:
        max_body = int(settings.extra.get("ATTENDANCE_MAX_DEVICE_BODY_BYTES", str(4 * 1024 * 1024)))
    except ValueError:
        raise PolicyError("ATTENDANCE_MAX_DEVICE_BODY_BYTES must be a whole number of bytes") from None
    if max_body < 64 * 1024:
        raise PolicyError("ATTENDANCE_MAX_DEVICE_BODY_BYTES must be at least 65536 (a full ATTLOG batch)")
    return AttendanceConfig(policy=policy, default_zone=zone, silent_minutes=silent, close_day_after_hours=close_after,
                            max_device_body_bytes=max_body)
