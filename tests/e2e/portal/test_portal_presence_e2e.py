"""Presence from a phone, in Chromium against the real stack (every service on its own PostgreSQL, relays and
consumers on the real Kafka broker), at a phone's width: the nurse checks in at the puskesmas and then from
outside its area; her supervisor sees why the second is doubtful, with its photo, and rejects it; the nurse
sees what was decided and everything kept. The position comes from the browser's geolocation emulation and
the photo from Chromium's test camera, taken by the page itself.

Distances: 0.001° of latitude is 111.195 m, so 0.003° north of the 100 m circle's centre is 333.6 − 100 =
233.6 m outside it (shown rounded: 234 m).
"""
from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, select

from scenarios.clients import wait_until
from tests.e2e.portal.test_portal_journey_e2e import PHONE, _accessible, _fits, _shot, _sign_in, STEP_TIMEOUT_MS
from tests.tokens import bearer_token

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ADMIN = "198001012005011004"
LAT, LON = -7.2291, 112.7798  # Puskesmas Kenjeran, Surabaya
TIMEOUT_S = 120


def _attendance_knows(apis, nurse: str, fence: str) -> bool:
    """Whether attendance has projected the nurse and her unit's fence from the directory's events."""
    from attendance.tables import employees, geofences
    engine = create_engine(apis["attendance"].client.application.config["SETTINGS"].database_url)
    try:
        with engine.connect() as conn:
            return (conn.execute(select(employees.c.employee_id).where(employees.c.employee_id == nurse)).first()
                    is not None and conn.execute(select(geofences.c.fence_id).where(
                        geofences.c.fence_id == fence)).first() is not None)
    finally:
        engine.dispose()


def _phone(browser, latitude: float, longitude: float, accuracy: float = 15):
    context = browser.new_context(viewport=PHONE, locale="id-ID", permissions=["geolocation", "camera"],
                                  geolocation={"latitude": latitude, "longitude": longitude, "accuracy": accuracy})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def _check_in(page) -> None:
    page.click("button:has-text('Ambil lokasi saya')")
    page.wait_for_selector("#location-status >> text=Lokasi didapat")
    page.wait_for_selector("button[data-camera]:not([hidden])")  # the camera's preview is running
    page.click("button:has-text('Ambil foto')")
    page.wait_for_selector("#photo-preview:not([hidden])")
    page.click("button:has-text('Kirim presensi')")


@pytest.mark.timeout(600)
def test_a_nurse_checks_in_from_her_phone_and_her_supervisor_rejects_the_doubtful_one(portal_stack, browser,
                                                                                     new_nip):
    apis, base = portal_stack("national")
    admin = bearer_token(ADMIN, ("admin",))
    unit, fence = f"PKM-{uuid.uuid4().hex[:6]}", f"pkm-{uuid.uuid4().hex[:6]}"
    boss, nurse = new_nip(), new_nip("2")
    apis["directory"].ok("PUT", f"/units/{unit}", admin, json={"name": "Puskesmas Kenjeran"})
    apis["directory"].ok("PUT", f"/employees/{boss}", admin, json={
        "name": "dr. Rahmat", "unit_id": unit, "status": "PNS", "zone": "Asia/Jakarta"})
    apis["directory"].ok("PUT", f"/employees/{nurse}", admin, json={
        "name": "Ns. Wulan", "unit_id": unit, "status": "PNS", "zone": "Asia/Jakarta", "supervisor_id": boss})
    # The admin draws the puskesmas's area: a circle of 100 m round its door; a missing centre is named.
    office = _phone(browser, LAT, LON)
    page = office.new_page()
    _sign_in(page, base, ADMIN, "admin")
    page.click("nav >> text=Area presensi")
    page.select_option("#unit_id", unit)
    page.fill("#fence_id", fence)
    page.fill("#name", "Puskesmas Kenjeran")
    page.fill("#radius_m", "100")
    page.click("button:has-text('Simpan area')")
    assert "Lintang antara -90 dan 90." in page.inner_text("#latitude-error")
    page.fill("#latitude", str(LAT))
    page.fill("#longitude", str(LON))
    page.click("button:has-text('Simpan area')")
    page.wait_for_selector(".notice.success >> text=Area disimpan")
    assert "dalam radius 100 m" in page.inner_text(f"#area-{fence}")
    _accessible(page)
    _fits(page)
    office.close()
    wait_until("the nurse and the fence in attendance", lambda: _attendance_knows(apis, nurse, fence), TIMEOUT_S)

    # At the puskesmas: counted at once.
    phone = _phone(browser, LAT + 0.0003, LON)
    page = phone.new_page()
    _sign_in(page, base, nurse, "staff")
    page.click("nav >> text=Presensi")
    assert "Puskesmas Kenjeran" in page.inner_text("section[aria-labelledby=fences-title]")
    _check_in(page)
    page.wait_for_selector(".notice.success >> text=Presensi tercatat pukul")
    assert f"di dalam {fence}" in page.inner_text("section[aria-labelledby=mine-title]")
    _fits(page)
    _accessible(page)
    _shot(page, "staff-checkin-phone")

    # Out on the road, 234 m past the area: kept, and sent to her supervisor.
    time.sleep(1.1)  # a check-in in the same second as the last is taken for a double tap
    phone.set_geolocation({"latitude": LAT + 0.003, "longitude": LON, "accuracy": 15})
    _check_in(page)
    page.wait_for_selector(".notice.info >> text=234 m di luar area")
    mine = page.inner_text("section[aria-labelledby=mine-title]")
    assert "menunggu pemeriksaan atasan" in mine and f"Di luar area: 234 m dari {fence}" in mine
    assert "disimpan sampai" in mine  # the exact location, and how long it is kept
    phone.close()
    # scoring raises the cross-check flag from the day attendance rebuilt, as for any other finding
    wait_until("the doubtful presence flag in scoring", lambda: _flags(apis, admin, nurse, "open"), TIMEOUT_S)

    # The supervisor sees why, with the photo, and a rejection needs its reason.
    desk = _phone(browser, LAT, LON)
    page = desk.new_page()
    _sign_in(page, base, boss, "staff", "supervisor")
    page.click("nav >> text=Pemeriksaan presensi")
    card = page.locator("li.item")
    assert card.count() == 1
    assert "Ns. Wulan" in card.inner_text() and f"Di luar area: 234 m dari {fence}" in card.inner_text()
    wait_until("the check-in photo to load", lambda: page.evaluate(  # the photo itself, once it has arrived
        "(() => { const img = document.querySelector('img.checkin-photo'); return img.complete && img.naturalWidth > 0; })()"),
        30, interval_s=0.5)
    _accessible(page)
    _fits(page)
    card.locator("button:has-text('Tolak')").click()
    assert page.locator("[id$='-reason-error']").is_visible()
    page.locator("input[name=reason]").fill("Tidak berada di lokasi tugas")
    page.locator("li.item button:has-text('Tolak')").click()
    page.wait_for_selector(".notice.success >> text=Presensi ditolak")
    assert "Tidak ada yang perlu diperiksa" in page.inner_text("main")
    _shot(page, "supervisor-checkins-phone")
    desk.close()

    # The nurse sees the decision; her day no longer counts the rejected punch.
    phone = _phone(browser, LAT, LON)
    page = phone.new_page()
    _sign_in(page, base, nurse, "staff")
    page.goto(base + "/checkin")
    mine = page.inner_text("section[aria-labelledby=mine-title]")
    assert "ditolak atasan" in mine and "Tidak berada di lokasi tugas" in mine
    punches = apis["attendance"].ok("GET", "/punches", admin, params={"employee_id": nurse})["punches"]
    assert [(p["source"], p["voided_at"] is None) for p in punches] == [("mobile", True), ("mobile", False)]
    phone.close()
    wait_until("the flag resolved once the punch is rejected", lambda: _flags(apis, admin, nurse, "resolved"),
               TIMEOUT_S)


def _flags(apis, token: str, nurse: str, state: str) -> list:
    flags = apis["scoring"].ok("GET", "/flags", token, params={"employee_id": nurse})["flags"]
    return [f for f in flags if f["kind"] == "doubtful_presence" and f["state"] == state]
