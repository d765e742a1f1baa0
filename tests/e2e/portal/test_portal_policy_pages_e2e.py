"""The admin's national calendar and finance's policy simulation, in Chromium against the real stack (every
service on its own PostgreSQL, relays and consumers on the real Kafka broker), at a phone's width."""
from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from runtime.events import make_event
from runtime.kafka import make_producer
from scenarios.clients import wait_until
from tests.tokens import bearer_token
from tests.e2e.portal.test_portal_journey_e2e import PHONE, _accessible, _context, _fits, _shot, _sign_in

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ADMIN = "198001012005011004"
FINANCE = "199001012015031001"
TIMEOUT_S = 120


def _attendance_holidays(apis) -> dict[str, bool]:
    """The holidays attendance has learnt from the directory's events (its own projection)."""
    from attendance.tables import holidays
    engine = create_engine(apis["attendance"].client.application.config["SETTINGS"].database_url)
    try:
        with engine.connect() as conn:
            return {row.date.isoformat(): row.active for row in conn.execute(select(holidays.c.date, holidays.c.active))}
    finally:
        engine.dispose()


@pytest.mark.timeout(600)
def test_the_admin_takes_the_national_calendar_and_decides_each_proposal(portal_stack, browser):
    apis, base = portal_stack("national")
    context = _context(browser, PHONE)
    page = context.new_page()
    _sign_in(page, base, ADMIN, "admin")
    page.click("nav >> text=Hari libur")
    page.fill("#year", "2026")
    page.click("button:has-text('Ambil dari kalender nasional')")
    page.wait_for_selector(".notice.success")
    assert "25 hari libur tahun 2026 diusulkan dari kalender nasional" in page.inner_text(".notice.success")
    proposals = page.inner_text("section[aria-labelledby=proposed-title]")
    assert "17 Agustus 2026: Hari Kemerdekaan Republik Indonesia" in proposals
    assert "Cuti Bersama Hari Raya Idul Fitri" in proposals and "holidays 0.109 ID government" in proposals
    _fits(page)
    _accessible(page)
    _shot(page, "admin-holidays-phone")

    page.click("button[aria-label='Konfirmasi Tahun Baru Masehi pada 1 Januari 2026']")
    page.wait_for_selector(".notice.success >> text=dikonfirmasi")
    card = page.locator("#proposal-2026-08-17")
    card.locator("summary").click()
    card.locator("#h2026-08-17-new_name").fill("")
    card.locator("button:has-text('Simpan perubahan')").click()
    assert page.locator("#h2026-08-17-new_name-error").is_visible()  # the empty name is named at its field
    card = page.locator("#proposal-2026-08-17")
    card.locator("#h2026-08-17-new_name").fill("HUT RI ke-81")
    card.locator("button:has-text('Simpan perubahan')").click()
    page.wait_for_selector(".notice.success >> text=diubah")
    page.click("button[aria-label='Hapus Cuti Bersama Kenaikan Yesus Kristus pada 15 Mei 2026']")
    page.wait_for_selector(".notice.success >> text=dihapus")
    in_force = page.inner_text("table")
    assert "Tahun Baru Masehi" in in_force and "HUT RI ke-81" in in_force
    proposals = page.inner_text("section[aria-labelledby=proposed-title]")
    assert "Kenaikan Yesus Kristus pada" not in proposals and "Cuti Bersama Kenaikan" not in proposals
    assert "HUT RI" not in proposals and "Tahun Baru Masehi" not in proposals

    # Taking the year again undoes none of it.
    page.fill("#year", "2026")
    page.click("button:has-text('Ambil dari kalender nasional')")
    page.wait_for_selector(".notice.success >> text=0 hari libur tahun 2026")
    assert "Cuti Bersama Kenaikan" not in page.inner_text("section[aria-labelledby=proposed-title]")
    _fits(page)
    _accessible(page)
    context.close()

    # Attendance learns the confirmed holidays, and never a proposal.
    learnt = wait_until("the confirmed holidays in attendance", lambda: (lambda h: h if {
        "2026-01-01", "2026-08-17"} <= set(h) else None)(_attendance_holidays(apis)), TIMEOUT_S)
    assert "2026-08-25" not in learnt and "2026-03-21" not in learnt and "2026-05-15" not in learnt


# The month payroll prices: as tests/integration/payroll/test_payroll_simulations.py, whose amounts are worked out by
# hand there. In force national: Siti (PNS, class 8, activity 95, TL2) net 3.991.680, Budi (CPNS, activity 80) net
# 2.927.232; under the candidate (kinerja 50 / disiplin 50, TL2 2%) Siti loses 20.790 and Budi gains 66.528; the
# budget of 7.000.000: cost 6.988.800 in force, 7.035.000 proposed, impact +46.200.
CANDIDATE = (Path(__file__).resolve().parents[2] / "data" / "policy_kinerja_50_disiplin_50.toml").read_text()


def _closed_month(apis, kafka_bootstrap, new_nip) -> tuple[int, int, str, dict]:
    """A month scored for two employees of a fresh unit, sent on Kafka as the directory and scoring send them."""
    year, month = random.randrange(2040, 2090), random.randrange(1, 13)  # a month no other test scores
    unit, position = f"U-{uuid.uuid4().hex[:8]}", f"P-{uuid.uuid4().hex[:8]}"
    people = {"Siti Aminah": new_nip("2"), "Budi Santoso": new_nip("1")}
    events = [make_event("directory.unit.upserted", unit, {"unit_id": unit, "name": "Dinas Uji"}, "directory"),
              make_event("directory.position.upserted", position, {"position_id": position, "name": "Analis",
                                                                   "job_class": 8, "kind": "functional"}, "directory")]
    for (name, nip), status in zip(people.items(), ("PNS", "CPNS")):
        events.append(make_event("directory.employee.upserted", nip, {
            "employee_id": nip, "name": name, "unit_id": unit, "position_id": position, "status": status,
            "zone": "Asia/Jakarta"}, "directory"))
    for nip, activity, days in ((people["Siti Aminah"], "95", [{"local_date": date(year, month, 3).isoformat(),
                                                                "status": "late", "late_band": "TL2"}]),
                                (people["Budi Santoso"], "80", [])):
        events.append(make_event("scoring.month.scored", nip, {
            "employee_id": nip, "unit_id": unit, "year": year, "month": month, "version": 1,
            "activity_score": activity, "discipline_score": "95", "predicate": "Baik", "effective_minutes": 9900,
            "credited_minutes": 9405 if activity == "95" else 7920, "days": days, "breakdown": {}}, "scoring"))
    producer = make_producer(kafka_bootstrap, "test-scoring")
    for event in events:
        producer.send(event.topic, key=event.key, value=event.to_json()).get(timeout=30)
    producer.close()
    finance = bearer_token(FINANCE, ("finance",))
    apis["payroll"].ok("PUT", f"/budgets/{unit}/{year:04d}-{month:02d}", finance, json={"amount": 7_000_000})
    wait_until("both scored months in payroll", lambda: (lambda r: r.status == 200 and r.body["totals"][
        "baseline"]["employees"] == 2)(apis["payroll"].call("POST", "/simulations", finance, json={
            "year": year, "month": month, "preset": "national"})), TIMEOUT_S)
    return year, month, unit, people


@pytest.mark.timeout(600)
def test_finance_simulates_an_uploaded_policy_side_by_side(portal_stack, browser, kafka_bootstrap, new_nip):
    apis, base = portal_stack("national")
    year, month, unit, people = _closed_month(apis, kafka_bootstrap, new_nip)
    context = _context(browser, PHONE)
    page = context.new_page()
    _sign_in(page, base, FINANCE, "finance")
    page.click("nav >> text=Simulasi kebijakan")

    # A month nobody has closed: refused, said at the month.
    page.fill("#year", str(year))
    page.select_option("#month", str(month % 12 + 1) if month < 12 else "1")
    page.select_option("#preset", "surabaya")
    page.click("button:has-text('Hitung simulasi')")
    assert "Bulan ini belum dapat disimulasikan" in page.inner_text("#month-error")

    # A policy that cannot price a month: every error by its key.
    page.select_option("#month", str(month))
    page.select_option("#preset", "")
    page.set_input_files("#policy_file", files=[{"name": "salah.toml", "mimeType": "text/plain",
                                                 "buffer": b"[payroll]\ncpns_percent = 150\n"}])
    page.click("button:has-text('Hitung simulasi')")
    assert "payroll.cpns_percent" in page.inner_text("#policy-errors")
    _accessible(page)

    # The candidate, uploaded: totals, budget, unit, job class, winners and losers with their lines.
    page.set_input_files("#policy_file", files=[{"name": "usulan.toml", "mimeType": "text/plain",
                                                 "buffer": CANDIDATE.encode()}])
    page.click("button:has-text('Hitung simulasi')")
    page.wait_for_selector("#totals")
    totals = page.inner_text("#totals")
    assert "Rp 6.988.800" in totals and "Rp 7.035.000" in totals and "+Rp 46.200" in totals
    budget = page.inner_text("#budget")
    assert "Rp 7.000.000" in budget and "+Rp 46.200" in budget and "−Rp 35.000" in budget
    units = page.inner_text("#units")
    assert unit in units and "Rp 11.200" in units and "−Rp 35.000" in units
    assert "+Rp 46.200" in page.inner_text("#job-classes")
    winners, losers = page.inner_text("#winners"), page.inner_text("#losers")
    assert "Budi Santoso" in winners and "+Rp 66.528" in winners
    assert "Siti Aminah" in losers and "−Rp 20.790" in losers
    page.locator("#losers summary").first.click()
    lines = page.inner_text("#losers table")
    assert "kinerja" in lines and "Rp 2.394.000" in lines and "Rp 1.995.000" in lines
    _fits(page)
    _accessible(page)
    _shot(page, "simulation-phone")
    context.close()
