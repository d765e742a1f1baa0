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
    # a pending (unknown or unapproved) serial: at most this many uploads of at most this many bytes in all
    # are kept as a sample for the admin to judge; the rest are answered "not stored, send it again later"
    pending_sample_uploads: int = 3
    pending_sample_bytes: int = 16 * 1024
    pending_retry_seconds: int = 300  # the ErrorDelay a pending device is told, and the Retry-After it gets
    # requests one serial may make per window, per process (`limits`' syntax, `runtime.ratelimit`); a full history
    # re-send is about one upload every few seconds, a poll every 10 s
    device_rate_limit: str = "300 per minute"


def whole_setting(settings: Settings, key: str, default: int, low: int, high: int, unit: str = "") -> int:
    """The whole-number setting `key`, between `low` and `high` (PolicyError otherwise)."""
    try:
        value = int(settings.extra.get(key, str(default)))
    except ValueError:
        raise PolicyError(f"{key} must be a whole number {unit}".rstrip()) from None
    if not low <= value <= high:
        raise PolicyError(f"{key} must be between {low} and {high} {unit}".rstrip())
    return value


def load_config(settings: Settings) -> AttendanceConfig:
    """Validate the `[attendance]` policy and the ATTENDANCE_DEFAULT_ZONE, _SILENT_MINUTES,
    _CLOSE_DAY_AFTER_HOURS, _MAX_DEVICE_BODY_BYTES, _PENDING_SAMPLE_UPLOADS, _PENDING_SAMPLE_BYTES,
    _PENDING_RETRY_SECONDS and _DEVICE_RATE_LIMIT settings."""
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
    rate_limit = settings.extra.get("ATTENDANCE_DEVICE_RATE_LIMIT", "300 per minute")
    try:
        from limits import parse_many
        parse_many(rate_limit)
    except ValueError:
        raise PolicyError("ATTENDANCE_DEVICE_RATE_LIMIT must read like '120 per minute'") from None
    sample_uploads = whole_setting(settings, "ATTENDANCE_PENDING_SAMPLE_UPLOADS", 3, 0, 100, "of uploads")
    sample_bytes = whole_setting(settings, "ATTENDANCE_PENDING_SAMPLE_BYTES", 16 * 1024, 0, 1024 * 1024, "of bytes")
    retry = whole_setting(settings, "ATTENDANCE_PENDING_RETRY_SECONDS", 300, 30, 3600, "of seconds")
    return AttendanceConfig(policy=policy, default_zone=zone, silent_minutes=silent, close_day_after_hours=close_after,
                            max_device_body_bytes=max_body, pending_sample_uploads=sample_uploads,
                            pending_sample_bytes=sample_bytes, pending_retry_seconds=retry,
                            device_rate_limit=rate_limit)
