"""The leaders' dashboard and the admin/ops pages: charts and lists over the services' APIs."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.backend import ServiceError
from portal.domain import dashboard
from portal.domain.periods import month_bounds, parse_period, period, previous_month
from portal.http import account, api, role_required

blueprint = Blueprint("leaders", __name__)
MAX_UNITS = 12
MAX_SUPERVISORS = 20


def _readable(read):
    """The answer of `read()`, or None when the person's roles do not open it (the section is left out)."""
    try:
        return read()
    except ServiceError as exc:
        if exc.status in (403, 404):
            return None
        raise


def _units(roles: set[str]) -> list[str]:
    if roles & {"admin", "ops"}:
        return [u["unit_id"] for u in api().get("directory", "/units")["units"]]
    if "verifier" in roles:
        return list(api().get("approvals", f"/verifiers/{account()['nip']}/units")["units"])
    me = _readable(lambda: api().get("directory", "/me").get("employee")) or {}
    return [me["unit_id"]] if me.get("unit_id") else []


def _translated(series: dict) -> dict:
    return dict(series, series={_(name): counts for name, counts in series["series"].items()})


@blueprint.get("/dashboard")
@role_required("supervisor", "verifier", "finance", "admin", "ops")
def dashboard_page():
    """Score and predicate distribution per unit, flags over time, TPP against budget, staffing posture,
    supervisors' timeliness and silent devices, for the month chosen."""
    roles = set(account()["roles"])
    year, month = parse_period(request.args.get("period"), previous_month(current_app.config["TODAY"]()))
    first, last = month_bounds(year, month)
    units = _units(roles)[:MAX_UNITS]
    distributions = [d for d in (_readable(lambda u=u: api().get("scoring", f"/units/{u}/distribution/{period(year, month)}"))
                                 for u in units) if d]
    flags = _readable(lambda: api().get("scoring", "/flags", limit=5000, **{"from": str(first), "to": str(last)})["flags"])
    posture = _readable(lambda: api().get("scoring", "/posture", year=year, months=str(month))["lines"])
    budget = None
    if roles & {"finance", "admin"}:
        runs = [r for r in api().get("payroll", "/runs", year=year)["runs"] if r["month"] == month]
        budget = _readable(lambda: api().get("payroll", f"/runs/{runs[0]['run_id']}/budget")) if runs else None
    timeliness = None
    if roles & {"admin", "ops", "verifier"}:
        employees = _readable(lambda: api().get("directory", "/employees")["employees"]) or []
        supervisors = sorted({e["supervisor_id"] for e in employees if e.get("supervisor_id")})[:MAX_SUPERVISORS]
        timeliness = dashboard.timeliness_rows([r for r in (_readable(lambda s=s: api().get(
            "approvals", f"/supervisors/{s}/timeliness", **{"from": str(first), "to": str(last)})) for s in supervisors) if r])
    devices = _readable(lambda: api().get("attendance", "/devices")["devices"]) if roles & {"admin", "ops"} else None
    charts = {"predicates": dashboard.predicate_series(distributions),
              "flags": _translated(dashboard.flags_by_week(flags or [])),
              "budget": _translated(dashboard.budget_series(budget)) if budget else None}
    return render_template("dashboard.html", year=year, month=month, charts=charts, distributions=distributions,
                           expected=dashboard.expected_rows(distributions),
                           flags=flags, posture=dashboard.unit_posture(posture) if posture is not None else None,
                           budget=budget, timeliness=timeliness, devices=devices)


@blueprint.route("/admin/devices", methods=["GET", "POST"])
@role_required("admin", "ops")
def devices():
    """Devices awaiting approval (approve with their zone) and every device's health."""
    errors = {}
    if request.method == "POST" and "admin" in account()["roles"]:
        serial, zone = request.form.get("serial", ""), request.form.get("zone", "")
        try:
            api().post("attendance", f"/devices/{serial}/approve", json={"zone": zone})
            flash(_("Device %(serial)s approved.", serial=serial), "success")
            return redirect(url_for("leaders.devices"))
        except ServiceError as exc:
            errors = {serial: exc.detail or exc.title}
    found = api().get("attendance", "/devices")["devices"]
    return render_template("devices.html", devices=found, errors=errors), (422 if errors else 200)


@blueprint.route("/admin/roster", methods=["GET", "POST"])
@role_required("admin")
def roster():
    """Import a roster CSV: good rows kept, every refused row shown with its line and field."""
    report, errors = None, {}
    if request.method == "POST":
        upload = request.files.get("file")
        if not upload or not upload.filename:
            errors["file"] = _("Choose the roster file (CSV).")
        else:
            try:
                report = api().call("directory", "POST", "/roster/imports",
                                    files={"file": (upload.filename, upload.read(), "text/csv")}).body
            except ServiceError as exc:
                errors["file"] = exc.detail or exc.title
    return render_template("roster.html", report=report, errors=errors), (422 if errors else 200)
