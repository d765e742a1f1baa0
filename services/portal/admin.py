"""The admin pages over the services' APIs: holidays, schedules and check-in areas (directory), verifier
assignments (approvals), and one device's commands and reconciliation (attendance)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from portal.backend import ServiceError
from portal.domain import forms
from portal.domain.navigation import N_
from portal.http import _field_errors, _today, account, api, role_required

blueprint = Blueprint("admin", __name__)
COMMANDS = ("INFO", "CHECK", "LOG", "REBOOT")  # the ones an operator sends without parameters (LOG: from a date)


def _refused(exc: ServiceError) -> dict[str, str]:
    errors = _field_errors(exc)
    errors.setdefault("form", _("The service refused it: %(detail)s", detail=exc.detail or exc.title))
    return errors


@blueprint.route("/admin/holidays", methods=["GET", "POST"])
@role_required("admin", "ops")
def holidays():
    """The holiday calendar: adding a holiday by hand, proposing a year's national holidays and cuti bersama from
    the calendar, and confirming, adjusting or removing each proposal (admin)."""
    errors, form = {}, request.form if request.method == "POST" else {}
    if request.method == "POST" and "admin" in account()["roles"]:
        action = form.get("action", "add")
        check, call, done = _HOLIDAY_ACTIONS.get(action, _HOLIDAY_ACTIONS["add"])
        errors = {k: _(v) for k, v in check(form).items()}
        if not errors:
            try:
                answer = call(form)
                flash(done(answer), "success")
                return redirect(url_for("admin.holidays"))
            except ServiceError as exc:
                errors = {_SERVICE_FIELDS.get(action, {}).get(k, k): v for k, v in _refused(exc).items()}
    found = sorted(api().get("directory", "/holidays")["holidays"], key=lambda h: str(h["date"]), reverse=True)
    proposed = api().get("directory", "/holidays", status="proposed")["holidays"]
    return render_template("admin_holidays.html", holidays=found, proposed=proposed, form=form, errors=errors,
                           seed_year=form.get("year") or str(_today().year + 1)), (422 if errors else 200)


def _seed(form) -> dict:
    return api().post("directory", "/holidays/seed", json={"year": int(form["year"])})


def _seeded(answer: dict) -> str:
    return _("%(proposed)s holidays of %(year)s proposed from the national calendar; %(kept)s already decided "
             "left as they are.", proposed=answer["proposed"] + answer["renamed"], year=answer["year"],
             kept=answer["kept"])


# The service's field names where the page's form names them otherwise (a moved holiday's new date and name).
_SERVICE_FIELDS = {"adjust": {"date": "new_date", "name": "new_name"}, "seed": {}}
_HOLIDAY_ACTIONS = {
    "add": (forms.check_holiday,
            lambda form: api().put("directory", f"/holidays/{form['date']}",
                                   json={"date": form["date"], "name": form["name"].strip()}),
            lambda answer: _("Holiday saved.")),
    "seed": (forms.check_seed_year, _seed, _seeded),
    "confirm": (lambda form: {},
                lambda form: api().post("directory", f"/holidays/{form['date']}/confirm"),
                lambda answer: _("Holiday confirmed: it is in force.")),
    "adjust": (forms.check_holiday_change,
               lambda form: api().call("directory", "PATCH", f"/holidays/{form['date']}", json={
                   "date": form["new_date"], "name": form["new_name"].strip()}).body,
               lambda answer: _("Holiday changed: it is in force.")),
    "remove": (lambda form: {},
               lambda form: api().call("directory", "DELETE", f"/holidays/{form['date']}"),
               lambda answer: _("Holiday removed.")),
}


@blueprint.route("/admin/areas", methods=["GET", "POST"])
@role_required("admin", "ops")
def areas():
    """Where staff may check in from a phone: each unit's circles and work-site outlines, adding or retiring
    one, and the people who work anywhere (admin)."""
    errors, form = {}, request.form if request.method == "POST" else {"kind": "circle", "radius_m": "100"}
    if request.method == "POST" and "admin" in account()["roles"]:
        action = form.get("action", "add")
        check, call, done = _AREA_ACTIONS.get(action, _AREA_ACTIONS["add"])
        errors = {k: _(v) for k, v in check(form).items()}
        if not errors:
            try:
                call(form)
                flash(_(done), "success")
                return redirect(url_for("admin.areas"))
            except ServiceError as exc:
                errors = _refused(exc)
    units = api().get("directory", "/units")["units"]
    fences = [g for g in api().get("directory", "/geofences")["geofences"] if g["active"]]
    anywhere = [e for e in api().get("directory", "/employees")["employees"] if e.get("work_anywhere")]
    return render_template("admin_areas.html", units=units, fences=fences, anywhere=anywhere, form=form,
                           errors=errors), (422 if errors else 200)


def _retire(form) -> None:
    current = next(g for g in api().get("directory", "/geofences")["geofences"] if g["fence_id"] == form["fence_id"])
    api().put("directory", f"/geofences/{form['fence_id']}", json={**current, "active": False})


def _work_anywhere(form) -> None:
    nip = form["nip"].strip()
    current = api().get("directory", f"/employees/{nip}")
    body = {k: v for k, v in current.items() if k != "employee_id"}
    api().put("directory", f"/employees/{nip}", json={**body, "work_anywhere": form.get("anywhere") == "1"})


_AREA_ACTIONS = {
    "add": (forms.check_area,
            lambda form: api().put("directory", f"/geofences/{form['fence_id'].strip()}", json=forms.area_body(form)),
            N_("Area saved.")),
    "retire": (lambda form: {}, _retire, N_("Area retired.")),
    "anywhere": (forms.check_anywhere, _work_anywhere, N_("Who works anywhere is saved.")),
}


@blueprint.route("/admin/schedules", methods=["GET", "POST"])
@role_required("admin", "ops")
def schedules():
    """Work schedules with their weekly windows, and adding or changing one (admin)."""
    errors, form = {}, request.form if request.method == "POST" else {"start": "07:30", "end": "16:00",
                                                                          "break_minutes": "60"}
    if request.method == "POST" and "admin" in account()["roles"]:
        errors = {k: _(v) for k, v in forms.check_schedule(form, form.getlist("weekdays")).items()}
        if not errors:
            try:
                api().put("directory", f"/schedules/{form['schedule_id'].strip()}",
                          json=forms.schedule_body(form, form.getlist("weekdays")))
                flash(_("Schedule saved."), "success")
                return redirect(url_for("admin.schedules"))
            except ServiceError as exc:
                errors = _refused(exc)
    found = api().get("directory", "/schedules")["schedules"]
    ticked = set(form.getlist("weekdays")) if request.method == "POST" else {"0", "1", "2", "3", "4"}
    return render_template("admin_schedules.html", schedules=found, form=form, errors=errors, ticked=ticked), \
        (422 if errors else 200)


@blueprint.route("/admin/verifiers", methods=["GET", "POST"])
@role_required("admin", "ops")
def verifiers():
    """Which units a verifier verifies: look a verifier up, assign a unit, take one away (admin)."""
    errors, form = {}, request.form if request.method == "POST" else request.args
    verifier = form.get("verifier_id", "").strip()
    if request.method == "POST" and "admin" in account()["roles"]:
        errors = {k: _(v) for k, v in forms.check_assignment(form).items()}
        if not errors:
            unit, remove = form.get("unit_id", ""), form.get("remove") == "1"
            try:
                api().call("approvals", "DELETE" if remove else "PUT", f"/verifiers/{verifier}/units/{unit}")
                flash((_("%(unit)s taken from the verifier.", unit=unit) if remove
                       else _("%(unit)s assigned to the verifier.", unit=unit)), "success")
                return redirect(url_for("admin.verifiers", verifier_id=verifier))
            except ServiceError as exc:
                errors = _refused(exc)
    units = api().get("directory", "/units")["units"]
    assigned = None
    if forms.NIP.match(verifier):
        assigned = api().get("approvals", f"/verifiers/{verifier}/units")["units"]
    return render_template("admin_verifiers.html", units=units, verifier=verifier, assigned=assigned, form=form,
                           errors=errors), (422 if errors else 200)


@blueprint.get("/admin/devices/<serial>")
@role_required("admin", "ops")
def device(serial):
    """One device: its command queue with the answers, and who is on the machine against who is enrolled."""
    found = next((d for d in api().get("attendance", "/devices")["devices"] if d["device_serial"] == serial), None)
    commands = api().get("attendance", f"/devices/{serial}/commands")["commands"]
    reconciliation = api().get("attendance", f"/devices/{serial}/reconciliation")
    return render_template("admin_device.html", serial=serial, device=found, commands=commands, reconciliation=reconciliation,
                           kinds=COMMANDS, errors=session.pop("device_errors", {}), form=session.pop("device_form", {}))


@blueprint.post("/admin/devices/<serial>/commands")
@role_required("admin")
def device_command(serial):
    """Queue a command for the device's next poll."""
    form = request.form
    errors = {k: _(v) for k, v in forms.check_command(form, COMMANDS).items()}
    if not errors:
        body = {"command": form["command"]}
        if form["command"] == "LOG" and form.get("since"):
            body["since"] = f"{form['since']}T00:00:00"
        try:
            api().post("attendance", f"/devices/{serial}/commands", json=body)
            flash(_("Command queued: the device takes it at its next poll."), "success")
            return redirect(url_for("admin.device", serial=serial))
        except ServiceError as exc:
            errors = _refused(exc)
    session["device_errors"], session["device_form"] = errors, dict(form)
    return redirect(url_for("admin.device", serial=serial))


@blueprint.post("/admin/devices/<serial>/reconcile")
@role_required("admin")
def device_reconcile(serial):
    """Push the enrolled employees missing from the machine, or remove the machine's users nobody enrolled."""
    action = request.form.get("action")
    try:
        result = api().post("attendance", f"/devices/{serial}/reconcile", json={"action": action})
        flash(_("%(n)s users: commands queued.", n=len(result.get("pins", []))), "success")
    except ServiceError as exc:
        session["device_errors"] = _refused(exc)
    return redirect(url_for("admin.device", serial=serial))


@blueprint.post("/admin/devices/<serial>/bounds")
@role_required("admin")
def device_bounds(serial):
    """Pin the device to its networks and comm key (a blank key leaves the key as it is)."""
    form = request.form
    body = {"allowed_networks": [n.strip() for n in form.get("allowed_networks", "").split() if n.strip()]}
    if form.get("remove_comm_key"):
        body["comm_key"] = None
    elif form.get("comm_key", "").strip():
        body["comm_key"] = form["comm_key"].strip()
    try:
        api().call("attendance", "PATCH", f"/devices/{serial}", json=body)
        flash(_("The device's networks and comm key are saved."), "success")
    except ServiceError as exc:
        session["device_errors"], session["device_form"] = _refused(exc), {"allowed_networks": form.get("allowed_networks", "")}
    return redirect(url_for("admin.device", serial=serial))
