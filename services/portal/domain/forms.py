"""What each form must hold before the portal sends it: field errors as message ids, per field."""
from __future__ import annotations

import re
from datetime import date, time

from portal.domain.navigation import N_
from portal.domain.vocabulary import BEHAVIOUR_VALUES

NIP = re.compile(r"^\d{18}$")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _time(value: str) -> time | None:
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def check_sign_in(form: dict) -> dict[str, str]:
    """Errors of the sign-in form."""
    errors = {}
    if not NIP.match(form.get("nip", "").strip()):
        errors["nip"] = N_("Enter your 18-digit NIP.")
    if not form.get("password"):
        errors["password"] = N_("Enter your password.")
    return errors


def check_activation(form: dict) -> dict[str, str]:
    """Errors of the activation form: NIP, the code from the admin, and the new password typed twice."""
    errors = {}
    if not NIP.match(form.get("nip", "").strip()):
        errors["nip"] = N_("Enter your 18-digit NIP.")
    if not form.get("code", "").strip():
        errors["code"] = N_("Enter the activation code your admin gave you.")
    if not form.get("password"):
        errors["password"] = N_("Choose a password.")
    elif form.get("confirm") != form.get("password"):
        errors["confirm"] = N_("The two passwords differ.")
    return errors


def check_entry(form: dict) -> dict[str, str]:
    """Errors of the daily work form: an activity, a date, a start before the end, a whole positive quantity."""
    errors = {}
    if not form.get("catalogue_item_id") and not form.get("description", "").strip():
        errors["catalogue_item_id"] = N_("Choose an activity from the catalogue or describe the work.")
    if _date(form.get("date", "")) is None:
        errors["date"] = N_("Enter the date of the work.")
    start, end = _time(form.get("start", "")), _time(form.get("end", ""))
    if start is None:
        errors["start"] = N_("Enter when the work started.")
    if end is None:
        errors["end"] = N_("Enter when the work ended.")
    elif start is not None and end <= start:
        errors["end"] = N_("The end must be after the start.")
    quantity = form.get("quantity", "").strip()
    if not quantity.isdigit() or int(quantity) < 1:
        errors["quantity"] = N_("Enter a whole number of at least 1.")
    return errors


def check_decision(form: dict) -> dict[str, str]:
    """Errors of a supervisor's decision: reject and strike need a reason, set minutes needs the minutes."""
    errors = {}
    action = form.get("action", "")
    if action not in ("approve", "reject", "strike", "set_minutes"):
        errors["action"] = N_("Choose a decision.")
    if action in ("reject", "strike") and not form.get("reason", "").strip():
        errors["reason"] = N_("Give the reason for this decision.")
    if action == "set_minutes":
        minutes = form.get("minutes", "").strip()
        if not minutes.isdigit():
            errors["minutes"] = N_("Enter the minutes to credit.")
    return errors


def check_verification(form: dict) -> dict[str, str]:
    """Errors of a verifier's verdict: overturning needs a reason."""
    errors = {}
    if form.get("verdict") not in ("uphold", "overturn"):
        errors["verdict"] = N_("Choose uphold or overturn.")
    elif form.get("verdict") == "overturn" and not form.get("reason", "").strip():
        errors["reason"] = N_("Give the reason for overturning.")
    return errors


def check_period(form: dict) -> dict[str, str]:
    """Errors of a year-and-month form."""
    year, month = form.get("year", "").strip(), form.get("month", "").strip()
    errors = {}
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        errors["year"] = N_("Enter a year such as 2026.")
    if not (month.isdigit() and 1 <= int(month) <= 12):
        errors["month"] = N_("Choose a month.")
    return errors


def check_behaviour(form: dict) -> dict[str, str]:
    """Errors of a behaviour rating: each of the seven values a whole number (the scale is the policy's; the
    scoring service refuses a value outside it)."""
    return {name: N_("Enter a whole number.") for name, _label in BEHAVIOUR_VALUES
            if not form.get(name, "").strip().isdigit()}


def behaviour_body(form: dict) -> dict:
    """The rating as the scoring service takes it."""
    return {**{name: int(form[name]) for name, _label in BEHAVIOUR_VALUES}, "has_innovation": bool(form.get("has_innovation"))}


def behaviour_form(rating: dict) -> dict:
    """A saved rating (the scoring service's `rating`) as the form shows it: each value as typed text."""
    values = rating.get("ratings") or {}
    return {**{name: str(values[name]) for name, _label in BEHAVIOUR_VALUES if name in values},
            "has_innovation": "1" if rating.get("has_innovation") else ""}


def check_holiday(form: dict) -> dict[str, str]:
    """Errors of a holiday: its date and its name."""
    errors = {}
    if _date(form.get("date", "")) is None:
        errors["date"] = N_("Enter the date of the holiday.")
    if not form.get("name", "").strip():
        errors["name"] = N_("Name the holiday.")
    return errors


def check_seed_year(form: dict) -> dict[str, str]:
    """Errors of the year whose national calendar is proposed."""
    year = form.get("year", "").strip()
    return {} if year.isdigit() and 2000 <= int(year) <= 2100 else {"year": N_("Enter a year such as 2026.")}


def check_holiday_change(form: dict) -> dict[str, str]:
    """Errors of an adjusted holiday: its new date and name, as `check_holiday` judges them."""
    errors = check_holiday({"date": form.get("new_date", ""), "name": form.get("new_name", "")})
    return {f"new_{name}": message for name, message in errors.items()}


def check_schedule(form: dict, weekdays: list[str]) -> dict[str, str]:
    """Errors of a weekly schedule: an id, a name, the working days, the window and the break."""
    errors = {}
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", form.get("schedule_id", "").strip()):
        errors["schedule_id"] = N_("Enter a short id: letters, digits, dot, dash or underscore.")
    if not form.get("name", "").strip():
        errors["name"] = N_("Name the schedule.")
    if not weekdays or not all(d in "0123456" and len(d) == 1 for d in weekdays):
        errors["weekdays"] = N_("Tick at least one working day.")
    for name in ("start", "end"):
        if _time(form.get(name, "")) is None:
            errors[name] = N_("Enter a time such as 07:30.")
    minutes = form.get("break_minutes", "").strip()
    if not minutes.isdigit() or int(minutes) > 600:
        errors["break_minutes"] = N_("Enter the break in minutes (0 to 600).")
    return errors


def schedule_body(form: dict, weekdays: list[str]) -> dict:
    """The schedule as the directory takes it: the same window on each ticked weekday (Monday is 0)."""
    window = {"start": form["start"][:5], "end": form["end"][:5], "break_minutes": int(form["break_minutes"])}
    return {"schedule_id": form["schedule_id"].strip(), "name": form["name"].strip(),
            "days": [{"weekday": int(d), **window} for d in sorted(set(weekdays))]}


def check_assignment(form: dict) -> dict[str, str]:
    """Errors of a verifier assignment: the verifier's NIP and a unit."""
    errors = {}
    if not NIP.match(form.get("verifier_id", "").strip()):
        errors["verifier_id"] = N_("Enter the verifier's 18-digit NIP.")
    if not form.get("unit_id", "").strip():
        errors["unit_id"] = N_("Choose a unit.")
    return errors


def check_command(form: dict, kinds) -> dict[str, str]:
    """Errors of a device command: one of `kinds`; LOG may name the date to fetch from."""
    errors = {}
    if form.get("command") not in kinds:
        errors["command"] = N_("Choose a command.")
    if form.get("since") and _date(form["since"]) is None:
        errors["since"] = N_("Enter a date.")
    return errors


def _number(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if low <= number <= high else None


def check_checkin(form: dict) -> dict[str, str]:
    """Errors of a check-in: the position fix the page took (the photo is checked with the upload)."""
    if _number(form.get("latitude"), -90, 90) is None or _number(form.get("longitude"), -180, 180) is None \
            or _number(form.get("accuracy_m"), 0, 100_000) is None:
        return {"location": N_("Take your location first (allow the browser to use it).")}
    return {}


def checkin_body(form: dict) -> dict:
    """The check-in's fields as the attendance service takes them (the photo travels beside them)."""
    body = {name: form[name] for name in ("latitude", "longitude", "accuracy_m")}
    if form.get("device_time"):
        body["device_time"] = form["device_time"]
    return body


def check_review(form: dict) -> dict[str, str]:
    """Errors of a supervisor's review of a check-in: a verdict, and a reason to reject."""
    if form.get("verdict") not in ("confirm", "reject"):
        return {"verdict": N_("Choose to confirm or to reject.")}
    if form["verdict"] == "reject" and not form.get("reason", "").strip():
        return {"reason": N_("Say why the check-in is rejected.")}
    return {}


_NIP = re.compile(r"^\d{18}$")


def _vertices(text: str) -> list[list[float]] | None:
    """A polygon's corners, one `latitude, longitude` a line; None when a line is not one."""
    corners = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 2 or _number(parts[0], -90, 90) is None or _number(parts[1], -180, 180) is None:
            return None
        corners.append([float(parts[0]), float(parts[1])])
    return corners


def check_area(form: dict) -> dict[str, str]:
    """Errors of a check-in area: its unit, id and name, and a circle's centre and radius or a polygon's corners."""
    errors = {}
    if not form.get("unit_id"):
        errors["unit_id"] = N_("Choose the unit.")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", form.get("fence_id", "").strip()):
        errors["fence_id"] = N_("Letters, digits, dots, dashes or underscores, at most 64.")
    if not form.get("name", "").strip():
        errors["name"] = N_("Name the area.")
    if form.get("kind") == "polygon":
        corners = _vertices(form.get("vertices", ""))
        if corners is None or len(corners) < 3:
            errors["vertices"] = N_("At least three corners, one 'latitude, longitude' a line.")
    else:
        if _number(form.get("latitude"), -90, 90) is None:
            errors["latitude"] = N_("A latitude between -90 and 90.")
        if _number(form.get("longitude"), -180, 180) is None:
            errors["longitude"] = N_("A longitude between -180 and 180.")
        if _number(form.get("radius_m"), 10, 50_000) is None:
            errors["radius_m"] = N_("A radius of 10 to 50,000 m.")
    return errors


def area_body(form: dict) -> dict:
    """The area as the directory takes it."""
    body = {"unit_id": form["unit_id"], "name": form["name"].strip(), "kind": form.get("kind", "circle")}
    if body["kind"] == "polygon":
        body["vertices"] = _vertices(form["vertices"])
    else:
        body.update(latitude=float(form["latitude"]), longitude=float(form["longitude"]),
                    radius_m=float(form["radius_m"]))
    return body


def check_anywhere(form: dict) -> dict[str, str]:
    """Errors of marking someone as working anywhere: their NIP."""
    return {} if _NIP.match(form.get("nip", "").strip()) else {"nip": N_("Enter the 18-digit NIP.")}
