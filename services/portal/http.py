"""The portal's pages: requests in, calls to the services' APIs, pages out (no business rule here)."""
from __future__ import annotations

import functools
from datetime import date

from flask import (Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _

from portal import signin
from portal.backend import Backend, ServiceError
from portal.domain import forms
from portal.domain.navigation import may_open
from portal.domain.periods import month_bounds, parse_period, period, previous_month
from portal.domain.vocabulary import BEHAVIOUR_VALUES

blueprint = Blueprint("portal", __name__)


# --------------------------------------------------------------------------------------------- plumbing

def settings():
    """The portal's settings."""
    return current_app.config["PORTAL"]


def account() -> dict | None:
    """The signed-in person's account in this session (None when signed out)."""
    return session.get("account")


def api() -> Backend:
    """The backend-for-frontend client, carrying the signed-in person's (fresh) token."""
    if "backend" not in g:
        current = account()
        token = None
        if current is not None:
            token = signin.fresh_access_token(settings(), current)
            session["account"] = current
        g.backend = Backend(settings().service_urls, token)
    return g.backend


def signed_in(view):
    """Decorator: the page needs a signed-in person allowed to open it (by the navigation's roles)."""
    @functools.wraps(view)
    def inner(*args, **kwargs):
        current = account()
        if current is None:
            return redirect(url_for("portal.login", next=request.full_path))
        if not may_open(request.endpoint, current["roles"]):
            abort(403)
        return view(*args, **kwargs)
    return inner


def role_required(*roles):
    """Decorator: the page needs a signed-in person holding one of `roles`."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            current = account()
            if current is None:
                return redirect(url_for("portal.login", next=request.full_path))
            if not set(roles) & set(current["roles"]):
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def _field_errors(exc: ServiceError) -> dict[str, str]:
    return {name or "form": message for name, message in exc.field_errors().items()}


def _today() -> date:
    return current_app.config["TODAY"]()


# ---------------------------------------------------------------------------------------- signing in

_SIGN_IN_REFUSED = {"wrong": lambda: _("The NIP or password is not right."),
                    "locked": lambda: _("Too many attempts: the account is locked for a while."),
                    "unavailable": lambda: _("Sign-in is unavailable right now; try again shortly.")}

@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with NIP and password (through the identity service)."""
    errors, form = {}, request.form
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_sign_in(form).items()}
        if not errors:
            try:
                current = signin.sign_in(settings(), form["nip"].strip(), form["password"])
                return _start_session(current)
            except signin.SignInRefused as refused:
                errors["form"] = _SIGN_IN_REFUSED[refused.reason]()
    return render_template("login.html", errors=errors, form=form, dev=settings().dev_signin), (422 if errors else 200)


@blueprint.route("/activate", methods=["GET", "POST"])
def activate():
    """First sign-in: the activation code from the admin and a new password; then signed in with it."""
    errors, form = {}, request.form if request.method == "POST" else {"nip": request.args.get("nip", "")}
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_activation(form).items()}
        nip = form.get("nip", "").strip()
        try:
            if not errors:
                errors = {k: "; ".join(_(m) for m in messages) for k, messages in signin.activate(
                    settings(), nip, form["code"].strip(), form["password"]).items()}
            if not errors:
                started = _start_session(signin.sign_in(settings(), nip, form["password"]))
                flash(_("Your password is set. Welcome!"), "success")
                return started
        except signin.SignInRefused as refused:
            errors["form"] = _SIGN_IN_REFUSED[refused.reason]()
    return render_template("activate.html", errors=errors, form=form), (422 if errors else 200)


@blueprint.post("/login/dev")
def dev_login():
    """Development only (PORTAL_DEV_SIGNIN=1): sign in as any NIP with the roles ticked."""
    minter = current_app.config["DEV_MINTER"]
    if minter is None:
        abort(404)
    nip, roles = request.form.get("nip", "").strip(), request.form.getlist("roles") or ["staff"]
    if not forms.NIP.match(nip):
        return render_template("login.html", errors={"dev_nip": _("Enter your 18-digit NIP.")}, form=request.form,
                               dev=True), 422
    return _start_session(signin.dev_sign_in(minter, nip, roles))


def _start_session(current: dict):
    language = session.get("language")
    session.clear()
    current_app.session_interface.rotate(session)
    session["account"] = current
    if language:
        session["language"] = language
    target = request.args.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("portal.home")
    return redirect(target)


@blueprint.post("/logout")
def logout():
    """Sign out: the refresh token is revoked and the session forgotten."""
    current = account()
    if current is not None:
        signin.sign_out(settings(), current)
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    flash(_("You are signed out."), "info")
    return redirect(url_for("portal.login"))


@blueprint.post("/language")
def language():
    """Switch the pages' language (Bahasa Indonesia or English)."""
    chosen = request.form.get("language")
    if chosen in current_app.config["LANGUAGES"]:
        session["language"] = chosen
    target = request.form.get("next") or url_for("portal.home")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("portal.home"))


# ---------------------------------------------------------------------------------------------- home

@blueprint.get("/")
@signed_in
def home():
    """The person's start page: what waits for them, by role."""
    current, cards = account(), {}
    roles = set(current["roles"])
    try:
        cards["me"] = api().get("directory", "/me").get("employee")
    except ServiceError:
        cards["me"] = None
    if "supervisor" in roles:
        cards["queue"] = len(api().get("approvals", "/queue")["items"])
    return render_template("home.html", cards=cards)


# ---------------------------------------------------------------------------------------- staff: work

def _month_entries(year: int, month: int) -> list[dict]:
    first, last = month_bounds(year, month)
    return api().get("activities", "/entries", **{"from": str(first), "to": str(last)})["entries"]


@blueprint.route("/work", methods=["GET", "POST"])
@signed_in
def work():
    """Today's work: an activity from the catalogue with its norm, quantity, start and end, and a photo."""
    catalogue = api().get("activities", "/catalogue")["items"]
    errors: dict[str, str] = {}
    form = request.form if request.method == "POST" else {
        "date": _today().isoformat(), "start": "08:00", "end": "09:00", "quantity": "1"}
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_entry(form).items()}
        photo = request.files.get("photo")
        if not errors:
            try:
                evidence_ids = []
                if photo and photo.filename:
                    stored = api().call("activities", "POST", "/evidence",
                                        files={"file": (photo.filename, photo.read(), photo.mimetype)}).body
                    evidence_ids.append(stored["evidence_id"])
                entry = api().post("activities", "/entries", json={
                    "start_at": f"{form['date']}T{form['start']}", "end_at": f"{form['date']}T{form['end']}",
                    "catalogue_item_id": form.get("catalogue_item_id") or None,
                    "description": form.get("description", "").strip(), "quantity": int(form["quantity"]),
                    "output": form.get("output", "").strip(), "note": form.get("note", "").strip(),
                    "evidence_ids": evidence_ids})
                flash(_("Sent to your supervisor: %(minutes)s minutes on %(day)s.", minutes=entry["credited_minutes"],
                        day=_longdate(entry["local_date"])), "success")
                return redirect(url_for("portal.work", period=entry["local_date"][:7]))
            except ServiceError as exc:
                errors = _field_errors(exc)
                errors.setdefault("form", _("The service refused it: %(detail)s", detail=exc.detail or exc.title))
                if "photo" not in errors and "file" in errors:
                    errors["photo"] = errors.pop("file")
    year, month = parse_period(request.args.get("period"), (_today().year, _today().month))
    entries = _month_entries(year, month)
    return render_template("work.html", catalogue=catalogue, form=form, errors=errors, entries=entries,
                           year=year, month=month), (422 if errors else 200)


def _longdate(value: str) -> str:
    from portal.formats import long_date
    return long_date(value)


@blueprint.get("/days")
@signed_in
def my_days():
    """My days: clock-in and out, late and early bands, flags with their evidence, and my month's score."""
    year, month = parse_period(request.args.get("period"), (_today().year, _today().month))
    first, last = month_bounds(year, month)
    me = account()["nip"]
    days = api().get("attendance", "/days", employee_id=me, **{"from": str(first), "to": str(last)})["days"]
    flags = api().get("scoring", "/flags", employee_id=me, **{"from": str(first), "to": str(last)})["flags"]
    try:
        score = api().get("scoring", f"/months/{me}/{period(year, month)}")
    except ServiceError as exc:
        if exc.status != 404:
            raise
        score = None
    return render_template("days.html", days=days, flags=flags, score=score, year=year, month=month)


@blueprint.get("/evidence/<evidence_id>")
@signed_in
def evidence(evidence_id):
    """An evidence file, for whoever the activities service lets see it."""
    return service_file("activities", f"/evidence/{evidence_id}")


def service_file(service: str, path: str) -> Response:
    """A file a service serves (evidence, a photo), passed through as it came, for whoever the service lets see
    it; kept privately by the browser for an hour, never sniffed as another type."""
    reply = api().call(service, "GET", path)
    response = Response(reply.content, mimetype=reply.content_type.split(";")[0] or "application/octet-stream")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ------------------------------------------------------------------------------------------ payslips

@blueprint.get("/payslips")
@signed_in
def payslips():
    """My payslips of approved and paid runs."""
    return render_template("payslips.html", payslips=api().get("payroll", "/me/payslips")["payslips"])


@blueprint.get("/payslips/<run_id>")
@role_required("staff", "finance", "admin")
def payslip(run_id):
    """One payslip with every line's rule and evidence, and the month's credited work day by day; printable."""
    employee_id = request.args.get("employee_id") or account()["nip"]
    slip = api().get("payroll", f"/runs/{run_id}/payslips/{employee_id}")
    try:
        month_score = api().get("scoring", f"/months/{employee_id}/{period(slip['year'], slip['month'])}")
    except ServiceError:
        month_score = None
    return render_template("payslip.html", slip=slip, score=month_score)


# ---------------------------------------------------------------------------------- supervisor: queue

@blueprint.get("/queue")
@signed_in
def queue():
    """The approvals queue: each entry with its flags, evidence and attendance day side by side."""
    items = api().get("approvals", "/queue")["items"]
    return render_template("queue.html", items=items, errors=session.pop("queue_errors", {}),
                           results=session.pop("bulk_results", None), form=session.pop("queue_form", {}))


@blueprint.post("/queue/<entry_id>")
@role_required("supervisor")
def decide(entry_id):
    """Decide one entry: approve, reject with a reason, strike (coret) with a reason, or set the minutes."""
    form = request.form
    errors = {k: _(v) for k, v in forms.check_decision(form).items()}
    if not errors:
        body = {"action": form["action"], "reason": form.get("reason", "").strip() or None}
        if form["action"] == "set_minutes":
            body["minutes"] = int(form["minutes"])
        try:
            api().post("approvals", f"/entries/{entry_id}/decisions", json=body)
            flash(_("Decision saved."), "success")
            return redirect(url_for("portal.queue"))
        except ServiceError as exc:
            errors = _field_errors(exc)
            errors.setdefault("form", exc.detail or exc.title)
    session["queue_errors"] = {entry_id: errors}
    session["queue_form"] = {entry_id: dict(form)}
    return redirect(url_for("portal.queue", _anchor=f"entry-{entry_id}"))


@blueprint.post("/queue/bulk")
@role_required("supervisor")
def decide_bulk():
    """One decision over the ticked entries; each succeeds or fails on its own and is reported."""
    entry_ids = request.form.getlist("entry_ids")
    form = request.form
    errors = {k: _(v) for k, v in forms.check_decision(form).items()}
    if not entry_ids:
        errors["entry_ids"] = _("Tick at least one entry.")
    if errors:
        session["queue_errors"] = {"bulk": errors}
        session["queue_form"] = {"bulk": dict(form)}
        return redirect(url_for("portal.queue", _anchor="bulk"))
    body = {"entry_ids": entry_ids, "action": form["action"], "reason": form.get("reason", "").strip() or None}
    if form["action"] == "set_minutes":
        body["minutes"] = int(form["minutes"])
    result = api().post("approvals", "/decisions/bulk", json=body)
    session["bulk_results"] = result
    return redirect(url_for("portal.queue", _anchor="results"))


@blueprint.get("/ratings")
@signed_in
def ratings():
    """Behaviour ratings: each report's month on the seven BerAKHLAK values, with the level scored so far."""
    year, month = parse_period(request.args.get("period"), previous_month(_today()))
    reports = api().get("directory", "/employees")["employees"]
    me = account()["nip"]
    reports = [e for e in reports if me in (e.get("supervisor_id"), e.get("acting_supervisor_id"))]
    scores, saved, scale = {}, {}, None
    for employee in reports:
        nip = employee["employee_id"]
        try:
            scores[nip] = api().get("scoring", f"/months/{nip}/{period(year, month)}")
        except ServiceError as exc:
            if exc.status not in (403, 404):
                raise
        behaviour = api().get("scoring", f"/behaviour/{nip}/{period(year, month)}")
        scale = behaviour["scale"]
        if behaviour["rating"]:  # the form opens on what was given
            saved[nip] = forms.behaviour_form(behaviour["rating"])
    return render_template("ratings.html", reports=reports, scores=scores, saved=saved, scale=scale, year=year,
                           month=month, values=BEHAVIOUR_VALUES, errors=session.pop("rating_errors", {}),
                           form=session.pop("rating_form", {}))


@blueprint.post("/ratings/<employee_id>")
@role_required("supervisor")
def rate(employee_id):
    """Rate one report's month; refused values are shown next to their field, with what was typed."""
    form, chosen = request.form, request.form.get("period", "")
    errors = {k: _(v) for k, v in forms.check_behaviour(form).items()}
    if not errors:
        try:
            rating = api().put("scoring", f"/behaviour/{employee_id}/{chosen}", json=forms.behaviour_body(form))
            flash(_("Behaviour of %(nip)s rated: %(level)s.", nip=employee_id, level=_(rating["level"])), "success")
            return redirect(url_for("portal.ratings", period=chosen, _anchor=f"rate-{employee_id}"))
        except ServiceError as exc:
            errors = _field_errors(exc)
            errors.setdefault("form", exc.detail or exc.title)
    session["rating_errors"] = {employee_id: errors}
    session["rating_form"] = {employee_id: dict(form)}
    return redirect(url_for("portal.ratings", period=chosen, _anchor=f"rate-{employee_id}"))


# --------------------------------------------------------------------------------- verifier: months

@blueprint.get("/verification")
@signed_in
def verification():
    """Sampled decisions of my units awaiting verification, and closing a unit's month."""
    me = account()["nip"]
    units = api().get("approvals", f"/verifiers/{me}/units")["units"]
    year, month = parse_period(request.args.get("period"), previous_month(_today()))
    unit_id = request.args.get("unit_id") or (units[0] if units else None)
    items = closed = []
    if unit_id:
        items = api().get("approvals", "/verifications/queue", unit_id=unit_id, month=period(year, month))["items"]
        closed = [m["month"] if isinstance(m, dict) else m
                  for m in api().get("approvals", f"/units/{unit_id}/months")["months"]]
    return render_template("verification.html", units=units, unit_id=unit_id, year=year, month=month, items=items,
                           closed=period(year, month) in closed, errors=session.pop("verify_errors", {}),
                           refusals=session.pop("close_refusals", None))


def _back_to_verification():
    return redirect(url_for("portal.verification", unit_id=request.form.get("unit_id"),
                            period=request.form.get("period")))


@blueprint.post("/verification/<decision_id>")
@role_required("verifier")
def verify(decision_id):
    """Uphold or overturn a sampled decision (overturning needs a reason)."""
    form = request.form
    errors = {k: _(v) for k, v in forms.check_verification(form).items()}
    if not errors:
        try:
            api().post("approvals", f"/decisions/{decision_id}/verification",
                       json={"verdict": form["verdict"], "reason": form.get("reason", "").strip() or None})
            flash(_("Verdict saved."), "success")
            return _back_to_verification()
        except ServiceError as exc:
            errors = _field_errors(exc)
            errors.setdefault("form", exc.detail or exc.title)
    session["verify_errors"] = {decision_id: errors}
    return _back_to_verification()


@blueprint.post("/verification/uphold")
@role_required("verifier")
def uphold_all():
    """Uphold every decision shown (ticked), each on its own: the ones refused are listed with the reason."""
    refused = []
    for decision_id in request.form.getlist("decision_ids"):
        try:
            api().post("approvals", f"/decisions/{decision_id}/verification", json={"verdict": "uphold"})
        except ServiceError as exc:
            refused.append(f"{decision_id[:8]}: {exc.detail or exc.title}")
    if refused:
        session["close_refusals"] = refused
    else:
        flash(_("Every decision shown is upheld."), "success")
    return _back_to_verification()


@blueprint.post("/verification/close")
@role_required("verifier")
def close_month():
    """Close a unit's month; when it is refused, every reason is shown."""
    unit_id, chosen = request.form.get("unit_id", ""), request.form.get("period", "")
    try:
        api().post("approvals", f"/units/{unit_id}/months/{chosen}/close")
        flash(_("The month %(period)s of %(unit)s is closed.", period=chosen, unit=unit_id), "success")
    except ServiceError as exc:
        session["close_refusals"] = [e.get("message") for e in exc.errors] or [exc.detail or exc.title]
    return _back_to_verification()


# ----------------------------------------------------------------------------------- finance: runs

@blueprint.route("/runs", methods=["GET", "POST"])
@signed_in
def runs():
    """Payroll runs, newest first, and drafting a month's run."""
    errors: dict[str, str] = {}
    year, month = previous_month(_today())
    form = request.form if request.method == "POST" else {"year": str(year), "month": str(month)}
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_period(form).items()}
        if not errors:
            try:
                run = api().post("payroll", "/runs", json={"year": int(form["year"]), "month": int(form["month"])})
                flash(_("Draft run created."), "success")
                return redirect(url_for("portal.run", run_id=run["run_id"]))
            except ServiceError as exc:
                errors = _field_errors(exc)
                errors.setdefault("form", exc.detail or exc.title)
    return render_template("runs.html", runs=api().get("payroll", "/runs")["runs"], form=form, errors=errors), \
        (422 if errors else 200)


@blueprint.get("/runs/<run_id>")
@role_required("finance", "admin")
def run(run_id):
    """One run: state, totals, payslips, budget against paid, and the actions its state allows."""
    found = api().get("payroll", f"/runs/{run_id}")
    slips = api().get("payroll", f"/runs/{run_id}/payslips")["payslips"]
    try:
        budget = api().get("payroll", f"/runs/{run_id}/budget")
    except ServiceError:
        budget = None
    return render_template("run.html", run=found, payslips=slips, budget=budget)


@blueprint.post("/runs/<run_id>/<step>")
@role_required("finance")
def advance_run(run_id, step):
    """Move a run on: recompute, review, return, approve (with the content hash reviewed), paid."""
    if step not in ("recompute", "review", "return", "approve", "paid"):
        abort(404)
    body = {"content_hash": request.form.get("content_hash", "")} if step == "approve" else None
    try:
        api().post("payroll", f"/runs/{run_id}/{step}", json=body)
        flash({"recompute": _("Recomputed from the current facts."), "review": _("Marked reviewed."),
               "return": _("Sent back to draft."), "approve": _("Approved."), "paid": _("Marked paid.")}[step],
              "success")
    except ServiceError as exc:
        flash(_("Refused: %(detail)s", detail=exc.detail or exc.title), "error")
    return redirect(url_for("portal.run", run_id=run_id))


@blueprint.get("/runs/<run_id>/bank.csv")
@role_required("finance")
def bank_file(run_id):
    """The run's bank transfer file."""
    reply = api().call("payroll", "GET", f"/runs/{run_id}/bank.csv")
    return Response(reply.content, mimetype="text/csv",
                    headers={"Content-Disposition": reply.headers.get("Content-Disposition",
                                                                      f'attachment; filename="{run_id}.csv"')})


# -------------------------------------------------------------------------------------- the public

@blueprint.get("/transparency")
def transparency():
    """Unit aggregates for a month, open to everyone (small groups are suppressed by the scoring service)."""
    year, month = parse_period(request.args.get("period"), previous_month(_today()))
    units = Backend(settings().service_urls, None).get("scoring", "/public/units", year=year, month=month)["units"]
    return render_template("transparency.html", units=units, year=year, month=month)
