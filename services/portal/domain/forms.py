"""What each form must hold before the portal sends it: field errors as message ids, per field."""
from __future__ import annotations

import re
from datetime import date, time

from portal.domain.navigation import N_

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
