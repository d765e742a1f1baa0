"""The regency and its month are drawn from a seed alone, and the plan says what the platform must report."""
from datetime import date

from scenarios.regency import MonthPlan, Regency, _runs, band, check_window, expected


def test_the_same_seed_draws_the_same_regency_and_month():
    one, two = Regency.generate(7), Regency.generate(7)
    assert one.roster_csv() == two.roster_csv() and one.catalogue_csv() == two.catalogue_csv()
    assert MonthPlan.draw(one, 2026, 10).days == MonthPlan.draw(two, 2026, 10).days
    other = Regency.generate(8)
    assert not set(other.people) & set(one.people)
    assert {d.unit_id for d in other.departments}.isdisjoint(d.unit_id for d in one.departments)


def test_a_regency_has_over_a_hundred_members_with_supervisors_verifiers_and_devices():
    regency = Regency.generate(2026)
    assert len(regency.staff) == 112 and len({d.device for d in regency.departments}) == 4
    for nip in regency.staff:
        supervisor = regency.people[nip].supervisor
        assert supervisor in regency.people and nip in regency.reports_of(supervisor)
    assert {regency.verifier_of(d) for d in regency.departments} == set(regency.auditors)
    assert len(regency.roster_csv().splitlines()) == len(regency.people) + 1


def test_the_plan_predicts_each_members_figures():
    regency = Regency.generate(2026)
    plan = MonthPlan.draw(regency, 2026, 10)
    assert len(plan.working_days) == 22
    want = expected(regency, plan)
    for nip, w in want.items():
        assert w["present"] + w["on_leave"] + w["absent_without_notice"] == 22
        assert w["effective_minutes"] == (22 - w["on_leave"]) * 450  # a day of leave is excused
        for day in plan.present(nip):  # an entry fits between arriving and leaving, lunch aside
            assert day.start >= day.arrive.replace(second=0) and day.minutes == day.quantity * dict(
                (item, norm) for item, _, norm, _ in regency.department_of(nip).tasks)[day.item]
    totals = {key: sum(sum(w[key].values()) for w in want.values()) for key in ("late", "early")}
    assert totals["late"] > 0 and totals["early"] > 0
    assert sum(w["on_leave"] for w in want.values()) > 0 and sum(w["absent_without_notice"] for w in want.values()) > 0


def test_bands_and_leave_stretches():
    assert [band(m, "TL") for m in (0, 1, 30, 31, 60, 61, 90, 91)] == [None, "TL1", "TL1", "TL2", "TL2", "TL3", "TL3", "TL4"]
    assert _runs([date(2026, 10, 16), date(2026, 10, 19), date(2026, 10, 20)]) == [(date(2026, 10, 16), date(2026, 10, 20))]
    assert _runs([date(2026, 10, 1), date(2026, 10, 8)]) == [(date(2026, 10, 1), date(2026, 10, 1)),
                                                             (date(2026, 10, 8), date(2026, 10, 8))]


def test_the_windows_are_checked_before_playing():
    plan = MonthPlan.draw(Regency.generate(1, departments=1, sections=1, staff_per_section=1), 2026, 10)
    assert check_window(plan, date(2026, 11, 30), 70, 70) is None
    assert "has not ended" in check_window(plan, date(2026, 10, 20), 70, 70)
    assert "entered only 3 days back" in check_window(plan, date(2026, 11, 30), 3, 70)
    assert "deadline" in check_window(plan, date(2026, 11, 30), 90, 20)
