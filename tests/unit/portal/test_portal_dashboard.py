"""What the dashboard's charts are drawn from."""
from portal.domain import dashboard


def test_predicates_per_unit_best_first_leaving_out_predicates_nobody_has():
    series = dashboard.predicate_series([
        {"unit_id": "DINKES", "predicates": {"Baik": 10, "Sangat Baik": 2}},
        {"unit_id": "DISDIK", "predicates": {"Baik": 7, "Kurang": 1}}])
    assert series == {"labels": ["DINKES", "DISDIK"],
                      "series": {"Sangat Baik": [2, 0], "Baik": [10, 7], "Kurang": [0, 1]}}


def test_flags_are_counted_by_kind_and_iso_week():
    flags = [{"kind": "late_arrival", "local_date": "2026-10-01"}, {"kind": "late_arrival", "local_date": "2026-10-02"},
             {"kind": "early_leave", "local_date": "2026-10-05"}]
    assert dashboard.flags_by_week(flags) == {"labels": ["2026-W40", "2026-W41"],
                                              "series": {"early_leave": [0, 1], "late_arrival": [2, 0]}}


def test_budget_posture_and_timeliness():
    assert dashboard.budget_series({"units": [{"unit_id": "A", "planned": 100, "paid": 90, "unspent": 10}]}) == {
        "labels": ["A"], "series": {"planned": [100], "paid": [90]}}
    lines = [{"position_id": None, "efficiency": "0.8"}, {"position_id": "P", "efficiency": "2"},
             {"position_id": None, "efficiency": "1.3"}]
    assert [line["efficiency"] for line in dashboard.unit_posture(lines)] == ["1.3", "0.8"]
    rows = dashboard.timeliness_rows([{"decisions": 4, "late": 1}, {"decisions": 0, "late": 0}, {"decisions": 2, "late": 2}])
    assert [r["late_share"] for r in rows] == [1.0, 0.25, 0.0]


def test_each_unit_against_the_expected_shape_of_its_own_rating():
    unit = {"unit_id": "DINKES", "unit_rating": "Baik", "rated": 3, "predicates": {"Baik": 2, "Sangat Baik": 1},
            "limits": [{"predicates": ["Baik"], "min_count": None, "min_share": None, "max_share": "0.70"},
                       {"predicates": ["Butuh Perbaikan", "Kurang"], "min_count": 1, "min_share": None, "max_share": None}],
            "violations": [{"predicates": ["Kurang", "Butuh Perbaikan"], "message": "..."}]}
    rows = dashboard.expected_rows([unit, {"unit_id": "DISDIK", "predicates": {}, "limits": []}])
    assert [(r["unit_id"], r["observed"], r["max_percent"], r["min_count"], r["met"]) for r in rows] == [
        ("DINKES", 2, 70, None, True), ("DINKES", 0, None, 1, False)]
