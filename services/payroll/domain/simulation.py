"""What a month would have cost under another policy: the same closed month priced twice, compared.

Pure: the handler prices the month under the policy in force (the baseline) and under the candidate (a preset
or an uploaded file), nothing written, and hands both sets of payslip rows here. A row is what a run stores
per employee: `employee_id`, `name`, `unit_id`, `gross`, `net`, `lines` (code, description, rule, evidence,
amount) and `facts` (with `job_class`). The cost of a payslip to the budget is its allowance before tax and
contributions are withheld (`budget.allowance_cost`), so a change in withholding alone costs the budget nothing.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

from .tpp import WITHHOLDING_CODES


def row_cost(row: Mapping) -> int:
    """What one payslip row costs the budget: every line but tax and contributions."""
    return sum(line["amount"] for line in row["lines"] if line["code"] not in WITHHOLDING_CODES)


def _keyed_lines(lines: Iterable[Mapping]) -> dict[tuple[str, str, int], Mapping]:
    """Lines keyed by code, description and their rank among equal ones (three TL1 days are three lines)."""
    seen: Counter = Counter()
    keyed = {}
    for line in lines:
        name = (line["code"], line["description"])
        keyed[(*name, seen[name])] = line
        seen[name] += 1
    return keyed


def changed_lines(baseline: Sequence[Mapping], alternative: Sequence[Mapping]) -> list[dict]:
    """The lines whose amount differs, or that only one policy has, with both rules side by side."""
    before, after = _keyed_lines(baseline), _keyed_lines(alternative)
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and old["amount"] == new["amount"]:
            continue
        changes.append({"code": key[0], "description": key[1],
                        "baseline": None if old is None else old["amount"],
                        "alternative": None if new is None else new["amount"],
                        "baseline_rule": None if old is None else old["rule"],
                        "alternative_rule": None if new is None else new["rule"]})
    return changes


def _totals(rows: Iterable[Mapping]) -> dict:
    rows = list(rows)
    return {"employees": len(rows), "gross": sum(r["gross"] for r in rows), "net": sum(r["net"] for r in rows),
            "cost": sum(row_cost(r) for r in rows)}


def _grouped(baseline: Mapping[str, Mapping], alternative: Mapping[str, Mapping], key, name: str) -> list[dict]:
    groups: dict = {}
    for side, rows in (("baseline", baseline), ("alternative", alternative)):
        for row in rows.values():
            group = groups.setdefault(key(row), {name: key(row), "employees": set(), "baseline_cost": 0,
                                                 "alternative_cost": 0})
            group["employees"].add(row["employee_id"])
            group[f"{side}_cost"] += row_cost(row)
    out = []
    for group_key in sorted(groups, key=lambda k: (k is None, k)):
        group = groups[group_key]
        out.append({**group, "employees": len(group["employees"]),
                    "difference": group["alternative_cost"] - group["baseline_cost"]})
    return out


def compare(baseline_rows: Sequence[Mapping], alternative_rows: Sequence[Mapping],
            budget_by_unit: Mapping[str, int]) -> dict:
    """Totals, per unit (with its budget), per job class, and the employees who gain or lose, each with the
    lines that changed; `budget.impact` is what the candidate costs more (negative: less) than the baseline."""
    baseline = {row["employee_id"]: row for row in baseline_rows}
    alternative = {row["employee_id"]: row for row in alternative_rows}
    units = _grouped(baseline, alternative, lambda row: row["unit_id"], "unit_id")
    for unit in units:
        planned = budget_by_unit.get(unit["unit_id"])
        unit["budget"] = planned
        unit["baseline_unspent"] = None if planned is None else planned - unit["baseline_cost"]
        unit["alternative_unspent"] = None if planned is None else planned - unit["alternative_cost"]
    job_classes = _grouped(baseline, alternative, lambda row: row["facts"]["job_class"], "job_class")
    people = []
    for employee_id in sorted(set(baseline) | set(alternative)):
        old, new = baseline.get(employee_id), alternative.get(employee_id)
        either = old or new
        old_net, new_net = (old or {}).get("net", 0), (new or {}).get("net", 0)
        if old is not None and new is not None and old["lines"] == new["lines"]:
            continue
        people.append({"employee_id": employee_id, "name": either["name"], "unit_id": either["unit_id"],
                       "job_class": either["facts"]["job_class"],
                       "baseline_net": None if old is None else old_net,
                       "alternative_net": None if new is None else new_net, "difference": new_net - old_net,
                       "changed_lines": changed_lines(old["lines"] if old else [], new["lines"] if new else [])})
    totals = {"baseline": _totals(baseline.values()), "alternative": _totals(alternative.values())}
    totals["difference"] = {k: totals["alternative"][k] - totals["baseline"][k] for k in totals["baseline"]}
    planned = sum(budget_by_unit.values())
    return {
        "totals": totals,
        "units": units,
        "job_classes": job_classes,
        "winners": sorted((p for p in people if p["difference"] > 0), key=lambda p: (-p["difference"],
                                                                                    p["employee_id"])),
        "losers": sorted((p for p in people if p["difference"] < 0), key=lambda p: (p["difference"],
                                                                                   p["employee_id"])),
        "changed_without_net_difference": [p for p in people if p["difference"] == 0],
        "unchanged": len(set(baseline) & set(alternative)) - sum(
            1 for p in people if p["employee_id"] in baseline and p["employee_id"] in alternative),
        "budget": {"planned": planned if budget_by_unit else None,
                   "baseline_cost": totals["baseline"]["cost"], "alternative_cost": totals["alternative"]["cost"],
                   "impact": totals["difference"]["cost"],
                   "alternative_unspent": planned - totals["alternative"]["cost"] if budget_by_unit else None},
    }
