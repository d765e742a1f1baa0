"""Presence from a phone: the staff member's check-in page and the supervisor's review of doubtful check-ins.

The page takes the browser's position fix and a photo from the camera at that moment (static/checkin.js) and
posts them with the phone's clock; the attendance service records the check-in at its own time, judges it
against the unit's geofences and marks what makes it doubtful. Everything kept about the person's check-ins
is listed under the form. The supervisor confirms or rejects (with a reason) each doubtful one.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from portal.backend import ServiceError
from portal.domain import forms
from portal.domain.periods import month_bounds
from portal.formats import local_time
from portal.http import _field_errors, _today, account, api, role_required, service_file

blueprint = Blueprint("presence", __name__)
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # the attendance service's own limit is the policy's, usually lower


def _fences(unit_id: str | None) -> list[dict]:
    if not unit_id:
        return []
    return [g for g in api().get("directory", "/geofences", unit_id=unit_id)["geofences"] if g["active"]]


@blueprint.route("/checkin", methods=["GET", "POST"])
@role_required("staff")
def checkin():
    """Check in where no fingerprint machine reaches; my check-ins this month with all that is kept of them."""
    me = account()["nip"]
    employee = api().get("directory", "/me").get("employee") or {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_checkin(request.form).items()}
        photo = request.files.get("photo")
        content = photo.read(MAX_PHOTO_BYTES + 1) if photo is not None and photo.filename else b""
        if not content:
            errors["photo"] = _("Take a photo with the camera.")
        elif len(content) > MAX_PHOTO_BYTES:
            errors["photo"] = _("The photo is too large.")
        if not errors:
            try:
                done = api().post("attendance", "/checkins", data=forms.checkin_body(request.form),
                                  files={"photo": ("foto.jpg", content, photo.mimetype or "image/jpeg")})
                flash(_checkin_notice(done, employee.get("zone")),
                      "success" if done["review"]["state"] == "none" else "info")
                return redirect(url_for("presence.checkin"))
            except ServiceError as exc:
                errors = _field_errors(exc)
                errors.setdefault("form", exc.detail or exc.title)
    first, last = month_bounds(_today().year, _today().month)
    mine = api().get("attendance", "/checkins", employee_id=me, **{"from": str(first), "to": str(last)})["checkins"]
    return render_template("checkin.html", errors=errors, fences=_fences(employee.get("unit_id")),
                           checkins=sorted(mine, key=lambda c: c["at"], reverse=True),
                           zone=employee.get("zone")), (422 if errors else 200)


def _checkin_notice(done: dict, zone: str | None) -> str:
    """What the person is told once the check-in is recorded."""
    at = local_time(done["at"], zone)
    fence = done["fence"]
    if done["review"]["state"] == "none":
        return _("Check-in recorded at %(time)s.", time=at)
    if not fence["inside"] and not fence["exempt"] and fence["distance_m"] is not None:
        return _("Check-in recorded at %(time)s, %(distance)s m outside the area: your supervisor will review it.",
                 time=at, distance=round(fence["distance_m"]))
    return _("Check-in recorded at %(time)s: your supervisor will review it.", time=at)


@blueprint.get("/checkin/<punch_id>/photo")
@role_required("staff", "supervisor", "verifier", "admin", "ops")
def checkin_photo(punch_id):
    """The photo taken at a check-in, for whoever the attendance service lets see it."""
    return service_file("attendance", f"/checkins/{punch_id}/photo")


@blueprint.get("/checkins/review")
@role_required("supervisor")
def review():
    """My reports' doubtful check-ins, each with its reasons and photo, to confirm or reject."""
    pending = api().get("attendance", "/checkins/review")["checkins"]
    names = {e["employee_id"]: e["name"] for e in api().get("directory", "/employees")["employees"]}
    return render_template("checkin_review.html", checkins=pending, names=names,
                           errors=session.pop("review_errors", {}), form=session.pop("review_form", {}))


@blueprint.post("/checkins/<punch_id>/review")
@role_required("supervisor")
def decide(punch_id):
    """Confirm or reject one check-in; a rejection needs its reason, named at its field when missing."""
    form = request.form
    errors = {k: _(v) for k, v in forms.check_review(form).items()}
    if not errors:
        try:
            api().post("attendance", f"/checkins/{punch_id}/review",
                       json={"verdict": form["verdict"], "reason": form.get("reason", "").strip() or None})
            flash(_("Check-in confirmed.") if form["verdict"] == "confirm" else _("Check-in rejected."), "success")
            return redirect(url_for("presence.review"))
        except ServiceError as exc:
            errors = _field_errors(exc)
            errors.setdefault("form", exc.detail or exc.title)
    session["review_errors"] = {punch_id: errors}
    session["review_form"] = {punch_id: dict(form)}
    return redirect(url_for("presence.review", _anchor=f"checkin-{punch_id}"))
