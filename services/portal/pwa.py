"""The portal as an installable app: its manifest and its service worker (served from the root scope)."""
from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory, url_for

blueprint = Blueprint("pwa", __name__)


@blueprint.get("/manifest.webmanifest")
def manifest():
    """The web app manifest."""
    body = {"name": "Kinerja", "short_name": "Kinerja", "lang": "id", "start_url": url_for("portal.home"),
            "scope": "/", "display": "standalone", "background_color": "#ffffff", "theme_color": "#0b5394",
            "icons": [{"src": url_for("static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml"}]}
    response = current_app.response_class(current_app.json.dumps(body), mimetype="application/manifest+json")
    return response


@blueprint.get("/sw.js")
def service_worker():
    """The service worker, served from the root so that it controls every page."""
    response = send_from_directory(current_app.static_folder, "sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
