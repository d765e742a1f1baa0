"""Presence that did not come from a fingerprint machine: where a phone check-in was, and what makes it doubtful.

Pure rules, no I/O. A check-in from the portal carries the browser's position fix (latitude, longitude and
the accuracy radius it claims), the phone's clock, and the hash of the photo taken at that moment; the time
that counts is the server's. Two questions are answered here:

- **Where** (`fence_verdict`): is the fix inside one of the employee's geofences (a circle, centre + radius,
  or a polygon of a work site), and how far from the nearest one is it. Distances are on the sphere of the
  mean Earth radius (haversine); a polygon is tested in a local plane around the fix (equirectangular, exact
  to well under a metre over the few kilometres a work site spans).
- **Doubt** (`doubts`): each reason the check-in deserves a supervisor's look, with its evidence: the fix
  is less precise than the policy allows; it lies outside every fence (unless the day is exempt: official
  duty, a work-from-anywhere day); the employee would have had to travel faster than the policy believes
  possible since their last located punch (counting only the distance beyond this fix's accuracy, and at
  least a minute of travel); the photo's hash was seen before; the phone's clock is far from the server's;
  or the position repeats an earlier one to the metre (a real receiver never reports the same spot twice;
  a faked one does).

A doubtful check-in is kept and marked, never dropped: the caller stores it with its doubts and the
supervisor confirms or rejects it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

EARTH_RADIUS_M = 6_371_008.8  # the mean Earth radius (IUGG)


class DoubtKind(StrEnum):
    """Why a check-in from a phone deserves a supervisor's look."""

    INACCURATE = "inaccurate"                  # the fix's accuracy radius is wider than the policy allows
    OUTSIDE_FENCE = "outside_fence"            # outside every geofence of the employee, on a day not exempt
    IMPOSSIBLE_TRAVEL = "impossible_travel"    # faster than the policy's top speed since the last located punch
    PHOTO_REUSED = "photo_reused"              # the same photo (by hash) was sent before
    CLOCK_SKEW = "clock_skew"                  # the phone's clock is far from the server's
    REPEATED_LOCATION = "repeated_location"    # the same position as an earlier punch, to the metre


@dataclass(frozen=True)
class PresencePolicy:
    """The thresholds of the presence rules (the attendance policy's `[attendance.presence]`)."""

    max_accuracy_m: float = 100.0         # a fix claiming a wider radius is doubtful
    max_speed_kmh: float = 150.0          # faster travel between two located punches is doubtful
    max_clock_skew_s: int = 300           # the phone's clock may differ from the server's by this much
    repeated_location_m: float = 1.0      # an earlier punch this close (and not the same punch) is a repeat
    min_elapsed_minutes: float = 1.0      # elapsed time below this counts as this much (no division by ~0)
    exempt_absence_kinds: tuple[str, ...] = ("duty",)  # a day of these may be checked in from anywhere
    anywhere_weekdays: tuple[int, ...] = ()  # work-from-anywhere days by the region's rule (ISO: 1 Monday..7)
    keep_coordinates_days: int = 30       # raw coordinates are kept this long; the verdict and distance stay
    max_photo_bytes: int = 2 * 1024 * 1024


@dataclass(frozen=True)
class Fix:
    """A position fix: degrees (WGS 84) and the accuracy radius the browser reported, in metres."""

    latitude: float
    longitude: float
    accuracy_m: float


@dataclass(frozen=True)
class Circle:
    """A geofence: a centre and a radius in metres."""

    fence_id: str
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True)
class Polygon:
    """A geofence: a work site's outline, its vertices (latitude, longitude) in order, not closed."""

    fence_id: str
    vertices: tuple[tuple[float, float], ...]


Fence = Circle | Polygon


@dataclass(frozen=True)
class FenceVerdict:
    """Where a fix lies against the employee's fences: inside one (distance 0), or outside all of them at
    `distance_m` from the nearest (`fence_id`). No fence at all: not inside, no nearest, no distance."""

    inside: bool
    fence_id: str | None
    distance_m: float | None


@dataclass(frozen=True)
class PriorPunch:
    """An earlier punch of the same employee, for the travel and repeat checks (location when known)."""

    punch_id: str
    at: datetime
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class CheckIn:
    """A check-in as received: the server's time, the phone's clock, the fix and the photo's hash."""

    at: datetime             # the server's clock: the time that counts
    device_time: datetime | None
    fix: Fix
    photo_sha256: str | None


@dataclass(frozen=True)
class Doubt:
    """One reason for doubt and the facts behind it."""

    kind: DoubtKind
    evidence: dict = field(default_factory=dict)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points (degrees), by the haversine formula."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _plane(origin_lat: float, origin_lon: float):
    """Project degrees to metres east/north of an origin (equirectangular at the origin's latitude)."""
    scale = math.radians(1) * EARTH_RADIUS_M
    cos_lat = math.cos(math.radians(origin_lat))
    return lambda lat, lon: ((lon - origin_lon) * scale * cos_lat, (lat - origin_lat) * scale)


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _polygon_distance(fix: Fix, polygon: Polygon) -> float:
    """0 inside the polygon, else the distance in metres to its nearest edge."""
    to_plane = _plane(fix.latitude, fix.longitude)
    points = [to_plane(lat, lon) for lat, lon in polygon.vertices]
    inside = False
    nearest = math.inf
    for i, (ax, ay) in enumerate(points):
        bx, by = points[(i + 1) % len(points)]
        if (ay > 0) != (by > 0) and 0 < ax + (0 - ay) * (bx - ax) / (by - ay):
            inside = not inside  # a ray from the fix (the origin) eastwards crosses this edge
        nearest = min(nearest, _segment_distance(0.0, 0.0, ax, ay, bx, by))
    return 0.0 if inside else nearest


def _fence_distance(fix: Fix, fence: Fence) -> float:
    if isinstance(fence, Circle):
        return max(0.0, distance_m(fix.latitude, fix.longitude, fence.latitude, fence.longitude) - fence.radius_m)
    return _polygon_distance(fix, fence)


def fence_verdict(fix: Fix, fences: Iterable[Fence]) -> FenceVerdict:
    """Inside the first fence that contains the fix, else outside at the distance of the nearest fence."""
    best: tuple[float, str] | None = None
    for fence in fences:
        d = _fence_distance(fix, fence)
        if d == 0.0:
            return FenceVerdict(True, fence.fence_id, 0.0)
        if best is None or d < best[0]:
            best = (d, fence.fence_id)
    if best is None:
        return FenceVerdict(False, None, None)
    return FenceVerdict(False, best[1], round(best[0], 1))


def doubts(check_in: CheckIn, verdict: FenceVerdict, exempt: bool, earlier: Sequence[PriorPunch],
           photo_seen_in: str | None, policy: PresencePolicy) -> list[Doubt]:
    """Every reason for doubt, in a fixed order. `earlier`: the employee's punches before this one (any
    source; those with a location are used for travel and repeats); `photo_seen_in`: the punch that already
    carried this photo's hash, if any; `exempt`: the day allows presence anywhere (official duty, WFA)."""
    found: list[Doubt] = []
    fix = check_in.fix
    if fix.accuracy_m > policy.max_accuracy_m:
        found.append(Doubt(DoubtKind.INACCURATE, {"accuracy_m": fix.accuracy_m, "limit_m": policy.max_accuracy_m}))
    if not verdict.inside and not exempt:
        found.append(Doubt(DoubtKind.OUTSIDE_FENCE, {"nearest_fence": verdict.fence_id,
                                                     "distance_m": verdict.distance_m}))
    located = [p for p in earlier if p.latitude is not None and p.longitude is not None and p.at <= check_in.at]
    last = max(located, key=lambda p: p.at, default=None)
    if last is not None:
        minutes = (check_in.at - last.at).total_seconds() / 60
        # only the distance beyond this fix's own uncertainty counts: jitter is not travel
        metres = max(0.0, distance_m(last.latitude, last.longitude, fix.latitude, fix.longitude) - fix.accuracy_m)
        speed = metres / 1000 / (max(minutes, policy.min_elapsed_minutes) / 60)
        if speed > policy.max_speed_kmh:
            found.append(Doubt(DoubtKind.IMPOSSIBLE_TRAVEL, {
                "since_punch": last.punch_id, "distance_m": round(metres), "minutes": round(minutes, 1),
                "speed_kmh": round(speed), "limit_kmh": policy.max_speed_kmh}))
    if photo_seen_in is not None:
        found.append(Doubt(DoubtKind.PHOTO_REUSED, {"photo_sha256": check_in.photo_sha256,
                                                    "first_punch": photo_seen_in}))
    if check_in.device_time is not None:
        skew = (check_in.device_time - check_in.at).total_seconds()
        if abs(skew) > policy.max_clock_skew_s:
            found.append(Doubt(DoubtKind.CLOCK_SKEW, {"skew_s": round(skew), "limit_s": policy.max_clock_skew_s}))
    for prior in sorted(located, key=lambda p: p.at, reverse=True):
        metres = distance_m(prior.latitude, prior.longitude, fix.latitude, fix.longitude)
        if metres < policy.repeated_location_m:
            found.append(Doubt(DoubtKind.REPEATED_LOCATION, {"same_as_punch": prior.punch_id,
                                                             "distance_m": round(metres, 2)}))
            break
    return found
