"""The portal in a real browser against the real stack: every service's app served over HTTP (on its own
PostgreSQL database, with its relay and consumer on the real Kafka broker), the portal in front of them,
and Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.app import create_app as create_portal
from portal.config import PortalSettings
from tests.tokens import LocalIssuer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# the camera is Chromium's own test device (a moving pattern), granted without asking: a page that takes a photo
# is driven like any other (geolocation is set per browser context)
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


class Served:
    """A WSGI app served on a free local port in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Stop serving."""
        self.server.shutdown()


@pytest.fixture
def portal_stack(platform, tmp_path):
    """Factory: start the platform with `policy` and the portal over it; returns (apis, portal URL)."""
    served: list[Served] = []

    def start(policy: str = "demo", today=None):
        apis = platform(policy)
        urls = {}
        for name, api in apis.items():
            served.append(Served(api.client.application))
            urls[name] = served[-1].url
        settings = PortalSettings(service_urls=urls, identity_url=urls["identity"], data_dir=str(tmp_path),
                                  dev_signin=True)
        portal = create_portal(settings, dev_minter=LocalIssuer.default().mint, **({"today": today} if today else {}))
        served.append(Served(portal))
        return apis, served[-1].url

    yield start
    for server in served:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()
