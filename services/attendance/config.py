"""The attendance service's configuration: its policy section and its own settings, read once at start-up."""
from __future__ import annotations

from attendance.domain.policy import load_policy
from attendance.handlers import AttendanceConfig
from contracts.directory import ZONES
from runtime.config import Settings
from runtime.policy import PolicyError, load_section


def load_config(settings: Settings) -> AttendanceConfig:
    """Validate the `[attendance]` policy and the ATTENDANCE_DEFAULT_ZONE, _SILENT_MINUTES and
    _CLOSE_DAY_AFTER_HOURS settings."""
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
    return AttendanceConfig(policy=policy, default_zone=zone, silent_minutes=silent, close_day_after_hours=close_after)
