"""The portal's pure rules: the menu by role, the forms' checks, periods."""
from datetime import date

from portal.domain import forms
from portal.domain.navigation import may_open, pages_for
from portal.domain.periods import month_bounds, parse_period, previous_month
from portal.domain.vocabulary import BEHAVIOUR_VALUES


def _endpoints(roles):
    return [page.endpoint.split(".")[1] for page in pages_for(roles)]


def test_each_role_sees_its_own_pages_and_everyone_the_public_ones():
    assert _endpoints(["staff"]) == ["home", "work", "checkin", "my_days", "payslips", "transparency"]
    assert _endpoints(["supervisor"]) == ["home", "queue", "ratings", "review", "dashboard_page", "transparency"]
    assert "roster" in _endpoints(["admin"]) and "roster" not in _endpoints(["ops"])
    assert "runs" in _endpoints(["finance"]) and "queue" not in _endpoints(["finance"])
    assert _endpoints([]) == ["home", "transparency"]


def test_a_page_in_the_menu_opens_only_for_its_roles():
    assert may_open("portal.runs", ["finance"]) and not may_open("portal.runs", ["staff", "supervisor"])
    assert may_open("portal.evidence", ["staff"])  # not a menu page: its service decides


def test_the_work_form_names_every_missing_or_wrong_field():
    errors = forms.check_entry({"date": "2026-10-01", "start": "10:00", "end": "09:00", "quantity": "0"})
    assert set(errors) == {"catalogue_item_id", "end", "quantity"}
    assert forms.check_entry({"catalogue_item_id": "RAPAT", "date": "2026-10-01", "start": "08:00",
                              "end": "15:00", "quantity": "7"}) == {}
    assert set(forms.check_entry({"description": "rapat", "quantity": "x"})) == {"date", "start", "end", "quantity"}


def test_decisions_that_need_a_reason_or_minutes_say_so():
    assert set(forms.check_decision({"action": "reject"})) == {"reason"}
    assert set(forms.check_decision({"action": "strike", "reason": "  "})) == {"reason"}
    assert set(forms.check_decision({"action": "set_minutes"})) == {"minutes"}
    assert forms.check_decision({"action": "approve"}) == {}
    assert set(forms.check_decision({"action": "delete"})) == {"action"}
    assert set(forms.check_verification({"verdict": "overturn"})) == {"reason"}


def test_sign_in_needs_an_18_digit_nip_and_a_password():
    assert set(forms.check_sign_in({"nip": "1234", "password": ""})) == {"nip", "password"}
    assert forms.check_sign_in({"nip": "198001012005011004", "password": "x"}) == {}


def test_periods():
    assert previous_month(date(2026, 1, 15)) == (2025, 12)
    assert parse_period("2026-13", (2026, 1)) == (2026, 1) and parse_period("2026-02", (1, 1)) == (2026, 2)
    assert month_bounds(2028, 2) == (date(2028, 2, 1), date(2028, 2, 29))


def test_activation_needs_the_code_and_the_same_password_twice():
    assert set(forms.check_activation({"nip": "1", "code": "", "password": ""})) == {"nip", "code", "password"}
    assert forms.check_activation({"nip": "198001012005011004", "code": "K7PQX-3MZ9A", "password": "a" * 10,
                                   "confirm": "b" * 10}) == {"confirm": "The two passwords differ."}
    assert forms.check_activation({"nip": "198001012005011004", "code": "K7PQX-3MZ9A", "password": "a" * 10,
                                   "confirm": "a" * 10}) == {}


def test_a_behaviour_rating_names_each_value_that_is_not_a_whole_number():
    values = {name: "4" for name, _label in BEHAVIOUR_VALUES}
    assert forms.check_behaviour(values) == {}
    assert forms.behaviour_body(values) == {**{name: 4 for name in values}, "has_innovation": False}
    assert forms.check_behaviour({**values, "loyal": "", "adaptif": "4,5"}) == {
        "loyal": "Enter a whole number.", "adaptif": "Enter a whole number."}


def test_admin_forms_name_their_fields_and_a_schedule_is_one_window_on_each_ticked_day():
    assert set(forms.check_holiday({"date": "2026-13-01", "name": " "})) == {"date", "name"}
    assert set(forms.check_schedule({"schedule_id": "a b", "start": "7", "end": "", "break_minutes": "x"}, [])) == {
        "schedule_id", "name", "weekdays", "start", "end", "break_minutes"}
    form = {"schedule_id": "RAMADAN", "name": "Ramadan", "start": "08:00", "end": "15:00", "break_minutes": "30"}
    assert forms.check_schedule(form, ["4", "0"]) == {}
    assert forms.schedule_body(form, ["4", "0"]) == {"schedule_id": "RAMADAN", "name": "Ramadan", "days": [
        {"weekday": 0, "start": "08:00", "end": "15:00", "break_minutes": 30},
        {"weekday": 4, "start": "08:00", "end": "15:00", "break_minutes": 30}]}
    assert set(forms.check_assignment({"verifier_id": "1", "unit_id": ""})) == {"verifier_id", "unit_id"}
    assert forms.check_command({"command": "REBOOT"}, ("REBOOT",)) == {}
    assert set(forms.check_command({"command": "FORMAT", "since": "x"}, ("REBOOT",))) == {"command", "since"}


def test_the_check_in_form_needs_a_location_and_a_rejection_its_reason():
    assert forms.check_checkin({"latitude": "-7.2", "longitude": "112.7", "accuracy_m": "12"}) == {}
    assert set(forms.check_checkin({"latitude": "", "longitude": "112.7", "accuracy_m": "12"})) == {"location"}
    assert set(forms.check_checkin({"latitude": "95", "longitude": "112.7", "accuracy_m": "12"})) == {"location"}
    assert forms.checkin_body({"latitude": "-7.2", "longitude": "112.7", "accuracy_m": "12", "device_time": "",
                               "csrf_token": "x"}) == {"latitude": "-7.2", "longitude": "112.7", "accuracy_m": "12"}
    assert forms.check_review({"verdict": "confirm"}) == {}
    assert set(forms.check_review({"verdict": "reject", "reason": " "})) == {"reason"}
    assert set(forms.check_review({})) == {"verdict"}


def test_an_area_is_a_circle_or_an_outline_named_at_each_field():
    circle = {"unit_id": "PKM", "fence_id": "pkm-1", "name": "Puskesmas", "kind": "circle", "latitude": "-7.2",
              "longitude": "112.7", "radius_m": "100"}
    assert forms.check_area(circle) == {}
    assert forms.area_body(circle) == {"unit_id": "PKM", "name": "Puskesmas", "kind": "circle", "latitude": -7.2,
                                       "longitude": 112.7, "radius_m": 100.0}
    assert set(forms.check_area({**circle, "radius_m": "5", "fence_id": "a b"})) == {"radius_m", "fence_id"}
    outline = {**circle, "kind": "polygon", "vertices": "-7.26, 112.75\n-7.26,112.751\n\n-7.259, 112.751\n"}
    assert forms.check_area(outline) == {}
    assert forms.area_body(outline)["vertices"] == [[-7.26, 112.75], [-7.26, 112.751], [-7.259, 112.751]]
    assert set(forms.check_area({**outline, "vertices": "-7.26, 112.75\n-7.26"})) == {"vertices"}
    assert forms.check_anywhere({"nip": "198503122010011002"}) == {} and set(forms.check_anywhere({"nip": "1"})) == {"nip"}
