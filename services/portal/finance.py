"""Finance's what-if page: a closed month priced under another policy (a shipped preset or an uploaded TOML file)
beside the policy in force, through payroll's `POST /simulations`. Nothing is written anywhere."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from portal.backend import ServiceError
from portal.domain import forms
from portal.domain.periods import previous_month
from portal.http import _today, api, role_required
from runtime.policy import preset_names

blueprint = Blueprint("finance", __name__)
MAX_POLICY_BYTES = 200_000  # what payroll accepts as a policy's text
SHOWN_PEOPLE = 50  # winners and losers listed each; the totals count them all


@blueprint.route("/simulation", methods=["GET", "POST"])
@role_required("finance", "admin")
def simulation():
    """Choose a month and a policy; see the month priced under both, side by side."""
    year, month = previous_month(_today())
    form = request.form if request.method == "POST" else {"year": str(year), "month": str(month), "preset": ""}
    errors: dict[str, str] = {}
    policy_errors: list[dict] = []
    result = None
    if request.method == "POST":
        errors = {k: _(v) for k, v in forms.check_period(form).items()}
        body, choice_error = _policy_choice(form)
        if choice_error:
            errors["policy"] = choice_error
        if not errors:
            try:
                result = api().post("payroll", "/simulations", json={"year": int(form["year"]),
                                                                       "month": int(form["month"]), **body})
            except ServiceError as exc:
                errors, policy_errors = _refusal(exc)
    return render_template("simulation.html", form=form, errors=errors, policy_errors=policy_errors, result=result,
                           presets=preset_names(), shown=SHOWN_PEOPLE), (422 if errors else 200)


def _policy_choice(form) -> tuple[dict, str | None]:
    """The policy to simulate: an uploaded file wins over the chosen preset; one of them is needed."""
    upload = request.files.get("policy_file")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            return {}, _("The policy file is too large (at most 200 kB).")
        try:
            return {"policy": raw.decode("utf-8")}, None
        except UnicodeDecodeError:
            return {}, _("The policy file is not UTF-8 text.")
    if form.get("preset") in preset_names():
        return {"preset": form["preset"]}, None
    return {}, _("Choose a preset or upload a policy file (TOML).")


def _refusal(exc: ServiceError) -> tuple[dict[str, str], list[dict]]:
    """Payroll's refusal as the page shows it: a month not closed at the month, each policy error by its key."""
    errors: dict[str, str] = {}
    policy_errors = []
    for item in exc.errors:
        field = item.get("field") or ""
        if field in ("month", "year"):
            errors[field] = item.get("message") or exc.detail
        elif field.startswith(("policy", "preset")):
            policy_errors.append({"key": field.partition(".")[2] or field, "message": item.get("message")})
    if exc.status == 409:
        errors["month"] = _("This month cannot be simulated yet: %(detail)s", detail=exc.detail or exc.title)
    if policy_errors:
        errors["policy"] = _("The proposed policy cannot price this month:")
    if not errors:
        errors["form"] = _("The service refused it: %(detail)s", detail=exc.detail or exc.title)
    return errors, policy_errors
