"""The portal (port 8000): pages for people, calling the other services' public APIs with their token."""
from __future__ import annotations

import logging
import secrets
import time
import uuid
from datetime import date, timedelta

import requests
from flask import Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import Babel
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from portal.backend import ServiceError
from portal.config import PortalSettings
from portal.domain.navigation import pages_for
from portal.formats import FILTERS, month_label
from portal.sessions import FileSessions
from portal.signin import DEV_TOKEN_HOURS
from runtime.auth import platform_minter
from runtime.web import LATENCY, REQUESTS, configure_logging, metrics_response

log = logging.getLogger(__name__)
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
SERVICE = "portal"


def _locale() -> str:
    return session.get("language") or request.accept_languages.best_match(["id"], "id")


def create_app(settings: PortalSettings | None = None, today=date.today, dev_minter=None) -> Flask:
    """Build the portal's Flask app (`dev_minter`: how the development sign-in signs, when it is on)."""
    from portal.admin import blueprint as admin
    from portal.finance import blueprint as finance
    from portal.http import blueprint
    from portal.leaders import blueprint as leaders
    from portal.presence import blueprint as presence
    from portal.pwa import blueprint as pwa
    settings = settings or PortalSettings.from_env()
    configure_logging(SERVICE)
    app = Flask(SERVICE)
    if settings.dev_signin and dev_minter is None:
        dev_minter = platform_minter(timedelta(hours=DEV_TOKEN_HOURS))
    app.config.update(PORTAL=settings, LANGUAGES=LANGUAGES, TODAY=today,
                      DEV_MINTER=dev_minter if settings.dev_signin else None, BABEL_DEFAULT_LOCALE="id",
                      BABEL_DEFAULT_TIMEZONE="Asia/Jakarta", MAX_CONTENT_LENGTH=12 * 1024 * 1024)
    app.session_interface = FileSessions(settings.session_dir, settings.session_hours * 3600, settings.cookie_secure)
    Babel(app, locale_selector=_locale)
    app.jinja_env.filters.update(FILTERS)
    # globals, not context: the form macros (imported without context) need them too
    app.jinja_env.globals.update(month_label=month_label, languages=LANGUAGES, csrf_token=_csrf_token,
                                 once=lambda: uuid.uuid4().hex)

    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        g.started = time.perf_counter()
        if request.method == "POST":
            _check_form()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(SERVICE, request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(SERVICE, endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.context_processor
    def _layout():
        current = session.get("account")
        return {"account": current, "menu": pages_for(current["roles"]) if current else pages_for(()),
                "language": _locale(), "today": today()}

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        if exc.status == 401:
            session.pop("account", None)
            return redirect(url_for("portal.login", next=request.full_path))
        log.warning("service call failed: %s", exc)
        return render_template("error.html", status=exc.status, detail=exc.detail or exc.title), \
            (exc.status if exc.status in (403, 404, 409) else 502)

    @app.errorhandler(403)
    def _forbidden(_exc):
        return render_template("error.html", status=403, detail=None), 403

    @app.errorhandler(404)
    def _missing(_exc):
        return render_template("error.html", status=404, detail=None), 404

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return exc
        log.exception("unhandled error")
        return render_template("error.html", status=500, detail=None), 500

    @app.get("/healthz")
    def healthz():
        """Liveness: the process answers."""
        return {"status": "ok", "service": SERVICE}

    @app.get("/readyz")
    def readyz():
        """Readiness: every service the pages call answers its /healthz."""
        checks = {}
        for name, url in settings.service_urls.items():
            try:
                checks[name] = "ok" if requests.get(url + "/healthz", timeout=2).ok else "error"
            except requests.RequestException:
                checks[name] = "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}, (200 if ready else 503)

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics (aggregated over gunicorn workers)."""
        return metrics_response()

    app.register_blueprint(blueprint)
    app.register_blueprint(leaders)
    app.register_blueprint(pwa)
    app.register_blueprint(admin)
    app.register_blueprint(finance)
    app.register_blueprint(presence)
    return app


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_form() -> None:
    """Every POST carries the session's CSRF token; a form sent twice (same `once`) is not sent again."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "the form is stale: reload the page and send it again")
    once = request.form.get("once")
    if once:
        used = session.get("used_forms", [])
        if once in used:
            flash(_("Already sent: this form was submitted once and not again."), "info")
            abort(redirect(request.referrer or "/"))
        session["used_forms"] = (used + [once])[-100:]
