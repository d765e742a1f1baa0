"""What the leaders' dashboard draws, as plain data: counts and series for the charts."""
from __future__ import annotations

from collections import Counter
from datetime import date

PREDICATES = ("Sangat Baik", "Baik", "Butuh Perbaikan", "Cukup", "Kurang", "Sangat Kurang")


def predicate_series(distributions: list[dict]) -> dict:
    """Per unit, the number of staff at each predicate (best first): {labels: units, series: {predicate: counts}}."""
    used = [p for p in PREDICATES if any(d.get("predicates", {}).get(p) for d in distributions)]
    return {"labels": [d["unit_id"] for d in distributions],
            "series": {p: [int(d.get("predicates", {}).get(p, 0)) for d in distributions] for p in used}}


def flags_by_week(flags: list[dict]) -> dict:
    """Flags counted by kind and ISO week of their date: {labels: weeks, series: {kind: counts}}."""
    counts: Counter = Counter()
    weeks: set[str] = set()
    for flag in flags:
        year, week, _ = date.fromisoformat(str(flag["local_date"])[:10]).isocalendar()
        label = f"{year}-W{week:02d}"
        weeks.add(label)
        counts[(flag["kind"], label)] += 1
    labels = sorted(weeks)
    kinds = sorted({kind for kind, _ in counts})
    return {"labels": labels, "series": {kind: [counts[(kind, w)] for w in labels] for kind in kinds}}


def budget_series(budget: dict) -> dict:
    """Planned against paid TPP per unit, in whole rupiah."""
    units = budget.get("units", [])
    return {"labels": [u["unit_id"] for u in units],
            "series": {"planned": [int(u.get("planned") or 0) for u in units],
                       "paid": [int(u.get("paid") or 0) for u in units]}}


def unit_posture(lines: list[dict]) -> list[dict]:
    """The whole-unit lines of the staffing posture (not per position), most overloaded first."""
    whole = [line for line in lines if line.get("position_id") is None]
    return sorted(whole, key=lambda line: float(line.get("efficiency") or 0), reverse=True)


def timeliness_rows(records: list[dict]) -> list[dict]:
    """Supervisors' decisions on time and late, the latest share first."""
    rows = [dict(r, late_share=(r["late"] / r["decisions"]) if r.get("decisions") else 0.0) for r in records]
    return sorted(rows, key=lambda r: r["late_share"], reverse=True)


def expected_rows(distributions: list[dict]) -> list[dict]:
    """Each unit's distribution against the expected shape: per limit of the policy for the unit's own rating,
    the staff counted in its predicate group, the bound (shares as whole percents) and whether scoring found
    it broken (the check itself is scoring's)."""
    rows = []
    for d in distributions:
        broken = [sorted(v["predicates"]) for v in d.get("violations", [])]
        for limit in d.get("limits", []):
            group = list(limit["predicates"])
            rows.append({"unit_id": d["unit_id"], "unit_rating": d.get("unit_rating"), "predicates": group,
                         "observed": sum(int(d.get("predicates", {}).get(p, 0)) for p in group),
                         "rated": int(d.get("rated") or 0),
                         "min_count": limit.get("min_count"), "min_percent": _percent(limit.get("min_share")),
                         "max_percent": _percent(limit.get("max_share")), "met": sorted(group) not in broken})
    return rows


def _percent(share) -> int | None:
    return None if share is None else round(float(share) * 100)
