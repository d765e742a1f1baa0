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
