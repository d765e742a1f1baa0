"""One month's journey through the portal in Chromium, each role at a phone's and a desktop's width: a staff
member logs a day's work with a photo, the supervisor approves it, the verifier closes the month, finance
drafts, reviews, approves and pays the run, and the employee opens the payslip and finds that day's minutes."""
from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path

import pytest

from scenarios.clients import wait_until
from scenarios.month import (ENTRY_END, ENTRY_QUANTITY, ENTRY_START, NORM_MINUTES, Cast, Plan, _attlog, _photo,
                             _roster_csv)
from tests.tokens import bearer_token

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = ROOT / "services" / "portal" / "static" / "vendor" / "axe.min.js"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_S = 180
STEP_TIMEOUT_MS = 90_000
PASSWORD = "kopi-pagi-di-kantor"
BEHAVIOUR_KEYS = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif")


def _sign(nip: str, *roles: str) -> str:
    return bearer_token(nip, roles)


def _previous_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _prepare(api, cast: Cast, plan: Plan, logged_in_browser: set[tuple[str, date]]) -> str:
    """Everything of the month but the days the staff member logs in the browser, through the APIs; returns the
    staff member's activation code, issued by the admin once the identity service holds the account."""
    admin = _sign(cast.admin, "admin")
    report = api["directory"].ok("POST", "/roster/imports", admin, data=_roster_csv(cast).encode(),
                                 content_type="text/csv")
    assert not report["rows_rejected"], report
    api["activities"].ok("POST", "/catalogue/imports", admin, content_type="text/csv", data=(
        "item_id,description,norm_minutes,output_unit\n"
        f"RAPAT-{cast.suffix},Menyusun bahan rapat koordinasi,{NORM_MINUTES},dokumen\n").encode())
    api["attendance"].call("GET", "/iclock/cdata", params={"SN": cast.device_serial, "options": "all"})
    api["attendance"].ok("POST", f"/devices/{cast.device_serial}/approve", admin, json={"zone": "Asia/Jakarta"})
    for body in _attlog(cast, plan):
        reply = api["attendance"].call("POST", "/iclock/cdata", data=body, content_type="text/plain",
                                       params={"SN": cast.device_serial, "table": "ATTLOG", "Stamp": "1"})
        assert reply.status == 200 and str(reply.body).startswith("OK:"), reply
    first, last = plan.working_days[0], plan.working_days[-1]
    for who in (cast.head, cast.staff_a, cast.staff_b):
        wait_until(f"attendance days of {who}", lambda who=who: len([
            d for d in api["attendance"].ok("GET", "/days", admin, params={
                "employee_id": who, "from": str(first), "to": str(last)})["days"] if d["clock_in"]])
            == len(plan.present(who, cast)), TIMEOUT_S)
    for day in plan.working_days:
        api["attendance"].ok("POST", "/days/build", admin, json={"date": str(day)})
    wait_until("the roster in activities", lambda: api["activities"].call(
        "GET", "/entries", _sign(cast.staff_a, "staff")).status == 200, TIMEOUT_S)
    for who in (cast.head, cast.staff_a, cast.staff_b):
        token = _sign(who, "staff", "supervisor") if who == cast.head else _sign(who, "staff")
        for day in plan.present(who, cast):
            if (who, day) in logged_in_browser:
                continue
            body = {"start_at": f"{day}T{ENTRY_START}", "end_at": f"{day}T{ENTRY_END}",
                    "catalogue_item_id": f"RAPAT-{cast.suffix}", "quantity": ENTRY_QUANTITY,
                    "output": f"{ENTRY_QUANTITY} dokumen"}
            wait_until(f"entry of {who} on {day}", lambda body=body, token=token: api["activities"].call(
                "POST", "/entries", token, json=body).status == 201, TIMEOUT_S)
    values = {v: 4 for v in BEHAVIOUR_KEYS}
    head, sekda = _sign(cast.head, "staff", "supervisor"), _sign(cast.sekda, "staff", "supervisor")
    for rater, who in ((head, cast.staff_b), (sekda, cast.head)):  # the staff member's: in the browser
        wait_until(f"behaviour rating of {who}", lambda rater=rater, who=who: api["scoring"].call(
            "PUT", f"/behaviour/{who}/{plan.period}", rater, json=values).status == 200, TIMEOUT_S)
    items = wait_until("the head's entries in the Sekda's queue", lambda: (lambda q: q if len(q) >= len(
        plan.present(cast.head, cast)) else None)(api["approvals"].ok("GET", "/queue", sekda)["items"]), TIMEOUT_S)
    api["approvals"].ok("POST", "/decisions/bulk", sekda, json={"entry_ids": [i["entry_id"] for i in items],
                                                                "action": "approve"})
    api["approvals"].ok("PUT", f"/verifiers/{cast.verifier}/units/{cast.unit_id}", admin)
    finance = _sign(cast.admin, "admin", "finance")
    for n, who in enumerate((cast.head, cast.staff_a, cast.staff_b)):
        wait_until(f"the bank account of {who}", lambda n=n, who=who: api["payroll"].call(
            "PUT", f"/bank-accounts/{who}", finance, json={"bank_code": "BPD", "bank_account": f"00123450{n}"}
        ).status in (200, 201), TIMEOUT_S)
    api["payroll"].ok("PUT", f"/budgets/{cast.unit_id}/{plan.period}", finance, json={"amount": 20_000_000})
    api["scoring"].ok("PUT", f"/units/{cast.unit_id}/rating/{plan.working_days[0].year}", admin, json={"rating": "Baik"})
    return wait_until("the account of the staff member in identity", lambda: (lambda r: r.body if r.status == 201 else None)(
        api["identity"].call("POST", f"/accounts/{cast.staff_a}/activation-codes", admin)), TIMEOUT_S)["code"]


def _context(browser, viewport: dict):
    """A browser context at `viewport` in Indonesian; page waits are generous, the machine may be busy."""
    context = browser.new_context(viewport=viewport, locale="id-ID")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def _sign_in(page, base: str, nip: str, *roles: str) -> None:
    page.goto(base + "/login")
    page.fill("#dev-nip", nip)
    for box in page.locator("input[name=roles]").all():
        value = box.get_attribute("value")
        box.set_checked(value in roles)
    page.click("form[action^='/login/dev'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def _sign_in_with_password(page, base: str, nip: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#nip", nip)
    page.fill("#password", password)
    page.click("form[action^='/login'] button.primary")
    page.wait_for_url(re.compile(r".*/$"))


def _shot(page, name: str) -> None:
    """A screenshot: into docs/screenshots when UPDATE_SCREENSHOTS=1 (for the README), else a scratch folder,
    so that a test run leaves the checkout as it found it."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "kinerja-shots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def _accessible(page) -> None:
    """axe-core (vendored) finds nothing serious or critical on the page."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']}))
        .violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))""")
    assert found == [], (page.url, found)


def _fits(page) -> None:
    """No horizontal scrolling at this width."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


@pytest.mark.timeout(900)  # one browser month of every role, on a busy two-core machine
def test_a_day_logged_with_a_photo_reaches_the_payslip(portal_stack, browser, tmp_path):
    year, month = _previous_month(date.today())
    apis, base = portal_stack("demo")
    cast, plan = Cast.fresh(), Plan.for_month(year, month)
    day, offline_day = plan.present(cast.staff_a, cast)[:2]
    code = _prepare(apis, cast, plan, {(cast.staff_a, day), (cast.staff_a, offline_day)})
    photo = tmp_path / "rapat.png"
    photo.write_bytes(_photo())

    # Staff, on a phone, the first time: the activation code from the admin, a password of their own.
    phone = _context(browser, PHONE)
    page = phone.new_page()
    page.goto(base + "/login")
    _fits(page)
    _accessible(page)
    page.click("text=Aktifkan akun")
    page.fill("#nip", cast.staff_a)
    page.fill("#code", code.lower())
    page.fill("#password", "pendek")
    page.fill("#confirm", "pendek")
    page.click("button.primary")
    assert "minimal 10 karakter" in page.inner_text("#password-error")  # next to the field, in Indonesian
    assert page.input_value("#code") == code.lower()  # what was typed is kept
    _fits(page)
    _accessible(page)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/$"))
    assert cast.staff_a in page.inner_text("header")
    _accessible(page)

    # The day's work from the catalogue, with a photo.
    page.click("nav >> text=Pekerjaan hari ini")
    page.select_option("#catalogue_item_id", f"RAPAT-{cast.suffix}")
    page.fill("#quantity", str(ENTRY_QUANTITY))
    page.fill("#date", str(day))
    page.fill("#start", f"{ENTRY_START:%H:%M}")
    page.fill("#end", f"{ENTRY_END:%H:%M}")
    page.fill("#output", "7 dokumen")
    page.set_input_files("#photo", str(photo))
    _fits(page)
    _accessible(page)
    _shot(page, "staff-work-phone")
    page.click("button:has-text('Kirim ke atasan')")
    page.wait_for_selector(".notice.success")
    assert f"{ENTRY_QUANTITY * NORM_MINUTES} menit" in page.inner_text(".notice.success")
    _fits(page)

    # The next day's work while the connection is lost: kept on the phone, sent once it returns.
    phone.set_offline(True)
    page.select_option("#catalogue_item_id", f"RAPAT-{cast.suffix}")
    page.fill("#quantity", str(ENTRY_QUANTITY))
    page.fill("#date", str(offline_day))
    page.fill("#start", f"{ENTRY_START:%H:%M}")
    page.fill("#end", f"{ENTRY_END:%H:%M}")
    page.click("button:has-text('Kirim ke atasan')")
    page.wait_for_selector("[data-draft-kept]:not([hidden])")
    assert page.locator("[data-offline]").is_visible()
    page.reload()  # opened again, still offline: the kept copy of the page, and the draft still on the phone
    page.wait_for_selector("[data-draft-kept]:not([hidden])")
    assert page.locator("#entry-form").is_visible()
    phone.set_offline(False)
    page.wait_for_selector("[data-draft-sent]:not([hidden])")
    page.reload()  # a further load finds nothing kept and sends nothing again
    page.wait_for_load_state("networkidle")
    staff_token = _sign(cast.staff_a, "staff")
    logged = [e for e in apis["activities"].ok("GET", "/entries", staff_token, params={
        "from": str(offline_day), "to": str(offline_day)})["entries"]]
    assert len(logged) == 1, logged

    page.click("nav >> text=Kehadiran saya")  # my days: clock-in and out of the month, its flags and score
    page.goto(f"{base}/days?period={plan.period}")
    assert "07:25" in page.inner_text("main")
    _fits(page)
    _accessible(page)
    page.click("header >> text=Keluar")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(base + "/work")
    assert "/login" in page.url  # signed out: the pages ask for a sign-in again
    phone.close()

    # The supervisor, at a desk: the queue with flags, the photo and the attendance day; bulk approval.
    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    _sign_in(page, base, cast.head, "staff", "supervisor")
    expected = len(plan.present(cast.staff_a, cast)) + len(plan.present(cast.staff_b, cast))

    def full_queue():
        page.goto(base + "/queue")
        return page.locator("li.item").count() >= expected
    wait_until("the full queue in the portal", full_queue, TIMEOUT_S, interval_s=2)
    item = page.locator("li.item").filter(has=page.locator("img.evidence"))
    assert item.count() == 1 and day.strftime("%Y") in item.inner_text()
    photo = item.locator("img.evidence")  # loaded lazily: in view, it arrives a moment later on a busy machine
    photo.scroll_into_view_if_needed()
    wait_until("the evidence photo to load", lambda: photo.evaluate("img => img.complete && img.naturalWidth > 0"),
               30, interval_s=0.5)
    assert "Masuk 07:25" in item.inner_text()  # the attendance day beside the entry
    _accessible(page)
    item.scroll_into_view_if_needed()
    _shot(page, "supervisor-queue-desktop")
    page.set_viewport_size(PHONE)
    _fits(page)
    item.scroll_into_view_if_needed()
    _shot(page, "supervisor-queue-phone")
    page.set_viewport_size(DESKTOP)
    page.check("input[data-select-all]")
    page.click("text=Putuskan entri yang dicentang")
    page.wait_for_selector("#results")
    assert f"{expected} berhasil, 0 gagal" in page.inner_text("#results")

    # ... and rates the staff member's behaviour; a value left out is named next to its field.
    page.click("nav >> text=Penilaian perilaku")
    page.goto(f"{base}/ratings?period={plan.period}")
    for key in BEHAVIOUR_KEYS:
        page.fill(f"[id='{cast.staff_a}-{key}']", "" if key == "loyal" else "4")
    page.locator(f"#rate-{cast.staff_a} button.primary").click()
    assert "Masukkan bilangan bulat." in page.inner_text(f"[id='{cast.staff_a}-loyal-error']")
    assert page.input_value(f"[id='{cast.staff_a}-kompeten']") == "4"  # what was typed is kept
    page.fill(f"[id='{cast.staff_a}-loyal']", "4")
    page.locator(f"#rate-{cast.staff_a} button.primary").click()
    page.wait_for_selector(".notice.success")
    assert f"Perilaku {cast.staff_a} sudah dinilai" in page.inner_text(".notice.success")
    # opened again later, the form shows the rating as it was saved, on the policy's scale
    page.goto(f"{base}/ratings?period={plan.period}")
    assert [page.input_value(f"[id='{cast.staff_a}-{key}']") for key in BEHAVIOUR_KEYS] == ["4"] * len(BEHAVIOUR_KEYS)
    assert page.get_attribute(f"[id='{cast.staff_a}-loyal']", "max") == "5"
    assert "sudah dinilai, bulan belum ditutup" in page.inner_text(f"#rate-{cast.staff_a} .hint")
    _accessible(page)
    page.set_viewport_size(PHONE)
    _fits(page)
    _shot(page, "supervisor-ratings-phone")
    desk.close()

    # The verifier: every sampled decision upheld, then the month closed.
    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    _sign_in(page, base, cast.verifier, "staff", "verifier")
    page.goto(f"{base}/verification?unit_id={cast.unit_id}&period={plan.period}")
    sampled = page.locator("li.item").count()
    assert sampled > 1
    page.locator("text=Simpan putusan").first.click()  # one verdict on its own, the rest at once
    page.wait_for_selector(".notice.success")
    assert page.locator("li.item").count() == sampled - 1
    page.click("#uphold-all button")
    page.wait_for_selector(".notice.success")
    assert page.locator("li.item").count() == 0
    _accessible(page)
    page.click("button:has-text('Tutup')")
    page.wait_for_selector(".notice.success")
    _shot(page, "verifier-month-closed-desktop")
    desk.close()

    # Scoring completes the month's scores (events, asynchronously) before finance prices them.
    admin = _sign(cast.admin, "admin")
    for who in (cast.head, cast.staff_a, cast.staff_b):
        minutes = ENTRY_QUANTITY * NORM_MINUTES * len(plan.present(who, cast))
        wait_until(f"the scored month of {who}", lambda who=who, minutes=minutes: (lambda r: r.status == 200 and (
            r.body.get("credited_minutes") == minutes and len(r.body.get("days", [])) == len(plan.working_days)))(
            apis["scoring"].call("GET", f"/months/{who}/{plan.period}", admin)), TIMEOUT_S)

    # Finance: one officer drafts and reviews, another approves and marks it paid; the bank file.
    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    _sign_in(page, base, cast.finance_drafter, "finance")
    page.click("nav >> text=Penggajian")
    _accessible(page)
    page.fill("#year", str(year))
    page.select_option("#month", str(month))
    page.click("text=Buat draf")
    page.wait_for_selector("[data-state=draft]")
    drafter = _sign(cast.finance_drafter, "finance")
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    def priced():
        page.click("button:has-text('Hitung ulang')")
        page.wait_for_selector(".notice.success")
        slips = apis["payroll"].ok("GET", f"/runs/{run_id}/payslips", drafter)["payslips"]
        return {cast.head, cast.staff_a, cast.staff_b} <= {p["employee_id"] for p in slips}
    wait_until("the run priced", priced, TIMEOUT_S, interval_s=2)
    page.click("button:has-text('Tandai sudah ditinjau')")
    page.wait_for_selector("[data-state=reviewed]")
    desk.close()
    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    _sign_in(page, base, cast.finance_approver, "finance")
    page.goto(f"{base}/runs/{run_id}")
    page.click("button:has-text('Setujui')")
    page.wait_for_selector("[data-state=approved]")
    page.click("button:has-text('Tandai sudah dibayar')")
    page.wait_for_selector("[data-state=paid]")
    _accessible(page)
    _shot(page, "finance-run-paid-desktop")
    bank = page.request.get(base + page.get_attribute("a:has-text('Berkas bank')", "href"))
    assert bank.ok and "text/csv" in bank.headers["content-type"] and cast.staff_a in bank.text()
    desk.close()

    # The employee, on a phone: the payslip, and on it the day logged in the browser with its minutes.
    phone = _context(browser, PHONE)
    page = phone.new_page()
    _sign_in_with_password(page, base, cast.staff_a, PASSWORD)
    page.click("nav >> text=Slip gaji saya")
    _accessible(page)
    page.locator("ul.cards a").first.click()
    row = page.locator(f"table.credited tr[data-date='{day}']")
    assert row.locator("td.num").inner_text().strip() == str(ENTRY_QUANTITY * NORM_MINUTES)
    assert "Rp " in page.inner_text("table")
    _fits(page)
    _accessible(page)
    row.scroll_into_view_if_needed()
    _shot(page, "staff-payslip-phone")
    page.set_viewport_size(DESKTOP)
    page.reload()
    _shot(page, "staff-payslip-desktop")
    phone.close()

    # A head of the administration: the month's dashboard, its charts drawn from the services' figures.
    for viewport, name in ((DESKTOP, "dashboard-desktop"), (PHONE, "dashboard-phone")):
        context = _context(browser, viewport)
        page = context.new_page()
        _sign_in(page, base, cast.admin, "admin")
        page.goto(f"{base}/dashboard?period={plan.period}")
        assert cast.unit_id in page.locator("section[aria-labelledby=pred-title] table").first.text_content()
        assert "paling banyak 70%" in page.locator("table.expected").text_content()  # the policy's shape for Baik
        page.wait_for_function("() => window.Chart && Chart.getChart('chart-predicates')")
        assert page.evaluate("Chart.getChart('chart-predicates').data.labels").count(cast.unit_id) == 1
        assert page.evaluate("Chart.getChart('chart-flags').data.datasets.map(d => d.label)").count("terlambat datang") == 1
        _fits(page)
        _accessible(page)
        _shot(page, name)
        context.close()

    # The admin, on a phone: a holiday, a schedule, the verifier's units, a device's commands and reconciliation.
    context = _context(browser, PHONE)
    page = context.new_page()
    _sign_in(page, base, cast.admin, "admin")
    page.click("nav >> text=Hari libur")
    page.fill("#name", "Cuti bersama")
    page.click("button:has-text('Simpan hari libur')")
    assert "Masukkan tanggal hari libur." in page.inner_text("#date-error")
    assert page.input_value("#name") == "Cuti bersama"  # what was typed is kept
    page.fill("#date", f"{year + 1}-12-24")
    page.click("button:has-text('Simpan hari libur')")
    page.wait_for_selector(".notice.success")
    assert "Cuti bersama" in page.inner_text("table")
    _fits(page)
    _accessible(page)
    page.click("nav >> text=Jadwal kerja")
    page.fill("#schedule_id", f"PENDEK-{cast.suffix}")
    page.fill("#name", "Jam kerja pendek")
    page.fill("#start", "08:00")
    page.fill("#end", "15:00")
    page.fill("#break_minutes", "30")
    page.click("button:has-text('Simpan jadwal')")
    page.wait_for_selector(".notice.success")
    assert "Senin: 08:00–15:00, istirahat 30 menit" in page.inner_text("main")
    _fits(page)
    _accessible(page)
    page.goto(f"{base}/admin/verifiers?verifier_id={cast.verifier}")
    assert cast.unit_id in page.inner_text("#assigned")
    _fits(page)
    _accessible(page)
    page.goto(f"{base}/admin/devices/{cast.device_serial}")
    page.select_option("#command", "INFO")
    page.click("button:has-text('Antrekan perintah')")
    page.wait_for_selector(".notice.success")
    assert "INFO" in page.inner_text("section[aria-labelledby=commands-title]")
    assert "Terdaftar tetapi tidak ada di mesin" in page.inner_text("main")
    page.fill("#allowed_networks", "bukan-jaringan")  # the device's trust: a wrong network is named at its field
    page.click("button:has-text('Simpan kepercayaan mesin')")
    assert page.locator("#allowed_networks-error").is_visible()
    assert page.input_value("#allowed_networks") == "bukan-jaringan"
    page.fill("#allowed_networks", "127.0.0.0/8")
    page.fill("#comm_key", "kunci-rahasia")
    page.click("button:has-text('Simpan kepercayaan mesin')")
    page.wait_for_selector(".notice.success")
    assert "127.0.0.0/8" in page.inner_text("section[aria-labelledby=bounds-title]")
    assert "kunci-rahasia" not in page.content()  # the key is never shown back
    _fits(page)
    _accessible(page)
    _shot(page, "admin-device-phone")
    context.close()
