"""`kinerja-play`: play a regency's month on the running platform through its public APIs, then show where
every figure came from and how to sign in as each role. The same seed and month can be played again: the
second play adds nothing and prints the same figures."""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import requests

from runtime.auth import platform_minter
from runtime.config import repo_root
from runtime.policy import read_policy
from runtime.service import SERVICES
from scenarios.clients import ApiError, HttpApi
from scenarios.regency import MonthPlan, Regency, check_window, expected, play, sign_ins

PORTAL_PORT = 8000


def _last_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def _rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")


def _windows(policy_file: Path) -> tuple[int | None, int | None]:
    """(entry window, decision deadline) in days back, from the policy the platform was started with; an entry
    window that is not `within_days` (today only, or the current period) counts as 0 days back."""
    policy = read_policy(policy_file)
    entry = policy.get("activities", {}).get("entry_window", {})
    decision = policy.get("approvals", {}).get("decision_deadline", {})
    return (entry.get("days") if entry.get("mode") == "within_days" else 0,
            decision.get("days") if decision.get("mode") == "days" else None)


def preflight(host: str, policy_file: Path, plan: MonthPlan, today: date) -> str | None:
    """Why the month cannot be played now (one line), or None."""
    for name, port in SERVICES.items():
        try:
            ready = requests.get(f"http://{host}:{port}/readyz", timeout=10).status_code == 200
        except requests.RequestException:
            ready = False
        if not ready:
            return (f"{name} at http://{host}:{port} is not ready: start the platform first with "
                    f"`POLICY_FILE=deploy/policies/demo.toml bash deploy/run.sh`")
    entry_days, decision_days = _windows(policy_file)
    why = check_window(plan, today, entry_days, decision_days)
    return f"{why} (windows of {policy_file})" if why else None


def report(regency: Regency, plan: MonthPlan, result: dict, host: str, accounts: list[dict] = ()) -> None:
    """Print the month, every figure with its source, and how to sign in with `accounts` (from sign_ins)."""
    want = expected(regency, plan)
    run, payslips = result["run"], result["payslips"]
    print(f"\n{len(regency.staff)} members of {len(regency.departments)} departments, {plan.period}: "
          f"{len(plan.working_days)} working days (Mon-Fri).")
    print("Each column: what the seed planned -> what the platform answers (= when they agree), and where from:")
    print("  present, leave, absent     attendance GET /days (clock_in; absence_kind; neither)")
    print("  late TL / early PSW        attendance GET /days (late_band, early_band)")
    print("  credited min               scoring GET /months/<nip>/<period> (credited_minutes: approved entries x norms)")
    print("  score                      scoring: credited / effective minutes (450 a working day, leave excused)")
    print("  gross, net                 payroll GET /runs/<run>/payslips (each line's rule on the payslip)")
    header = f"{'department':<44}{'staff':>6}{'present':>9}{'leave':>7}{'absent':>8}{'late':>6}{'early':>7}" \
             f"{'credited min':>14}{'avg score':>11}{'gross':>18}{'net':>18}"
    print("\n" + header)
    mismatches = []
    for dept in regency.departments:
        members = dept.members
        planned = Counter()
        seen = Counter()
        for nip in members:
            days = result["days"][nip]
            w = want[nip]
            planned.update(present=w["present"], leave=w["on_leave"], absent=w["absent_without_notice"],
                           late=sum(w["late"].values()), early=sum(w["early"].values()), credited=w["credited_minutes"])
            seen.update(present=sum(1 for d in days if d["clock_in"]),
                        leave=sum(1 for d in days if d["absence_kind"] == "leave"),
                        absent=sum(1 for d in days if not d["clock_in"] and not d["absence_kind"]),
                        late=sum(1 for d in days if d["late_band"]), early=sum(1 for d in days if d["early_band"]),
                        credited=result["scores"][nip]["credited_minutes"])
        cells = []
        for key, width in (("present", 9), ("leave", 7), ("absent", 8), ("late", 6), ("early", 7), ("credited", 14)):
            cells.append(f"{'=' if planned[key] == seen[key] else '!'}{seen[key]}".rjust(width))
            if planned[key] != seen[key]:
                mismatches.append(f"{dept.name}: {key} planned {planned[key]}, platform {seen[key]}")
        score = sum(float(result["scores"][n]["activity_score"]) for n in members) / len(members)
        gross = sum(payslips[n]["gross"] for n in members)
        net = sum(payslips[n]["net"] for n in members)
        print(f"{dept.name[:43]:<44}{len(members):>6}{''.join(cells)}{score:>11.2f}{_rupiah(gross):>18}{_rupiah(net):>18}")
    total_gross = sum(p["gross"] for p in payslips.values())
    total_net = sum(p["net"] for p in payslips.values())
    print(f"{'all departments':<44}{len(regency.staff):>6}{'':>51}{'':>11}{_rupiah(total_gross):>18}{_rupiah(total_net):>18}")
    print(f"Payroll run {run['run_id']} ({run['state']}); the run also pays everyone else in the directory.")
    if mismatches:
        print("Differences between the plan and the platform:\n  " + "\n  ".join(mismatches))

    late_nip = max(regency.staff, key=lambda n: (sum(want[n]["late"].values()) + 3 * want[n]["absent_without_notice"], n))
    _trace(regency, plan, result, late_nip)
    flags = Counter(f["kind"] for f in result["flags"])
    print("\nCross-check flags raised by scoring (GET /flags): "
          + (", ".join(f"{kind} {n}" for kind, n in flags.most_common()) or "none"))
    for unit in result["public"]:
        print(f"Public aggregate (GET /public/units, no sign-in): {unit['unit_name']}: staff {unit['staff']['text']}, "
              f"average activity score {unit['average_activity_score']}")
    _sign_in(list(accounts), host)


def _trace(regency: Regency, plan: MonthPlan, result: dict, nip: str) -> None:
    person, score, payslip = regency.people[nip], result["scores"][nip], result["payslips"][nip]
    w = expected(regency, plan)[nip]
    print(f"\nOne payslip traced: {person.name} ({nip}), {person.position_name}, job class {person.job_class}, "
          f"{person.status}")
    print(f"  planned: {w['present']} days present, late {dict(w['late']) or 'never'}, early {dict(w['early']) or 'never'}, "
          f"{w['absent_without_notice']} absent without notice, {w['on_leave']} on leave")
    print(f"  activity score {score['activity_score']} = {score['credited_minutes']} credited / "
          f"{score['effective_minutes']} effective minutes; discipline score {score['discipline_score']}")
    for line in payslip["lines"]:
        print(f"  {line['code']:<14}{_rupiah(line['amount']):>16}  {line['rule']}")
    print(f"  {'net':<14}{_rupiah(payslip['net']):>16}  (gross {_rupiah(payslip['gross'])})")


def _sign_in(accounts: list[dict], host: str) -> None:
    print("\nThe platform:")
    for name, port in sorted(SERVICES.items(), key=lambda kv: kv[1]):
        print(f"  {name:<11} http://{host}:{port}/  (API: /openapi.json)")
    print("Scripts: TOKEN=$(.venv/bin/kinerja token --sub <NIP> --roles staff) and curl -H \"Authorization: Bearer $TOKEN\" "
          f"http://{host}:{SERVICES['payroll']}/me/payslips")
    if not accounts:
        return
    print(f"\nSign in to the portal, http://{host}:{PORTAL_PORT}/ : the first time, open "
          f"http://{host}:{PORTAL_PORT}/activate and type the NIP and its one-time activation code below, then choose "
          f"a password (10 characters or more); afterwards sign in with NIP and password.")
    for account in accounts:
        print(f"  {account['role']:<11} {account['name'][:27]:<28} NIP {account['nip']}  activation code {account['code']}"
              f"  (roles {','.join(account['roles'])})")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kinerja-play` command."""
    parser = argparse.ArgumentParser(prog="kinerja-play", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=2026, help="the regency and its month are drawn from it")
    parser.add_argument("--year", type=int)
    parser.add_argument("--month", type=int, help="default: last month")
    parser.add_argument("--staff-per-section", type=int, default=8,
                        help="4 departments of a head and 3 sections, each a section head and this many staff (8: 112)")
    parser.add_argument("--policy", type=Path, default=Path(os.environ.get("POLICY_FILE") or repo_root() / "deploy" / "policies" / "demo.toml"),
                        help="the policy the platform runs on, for its windows (default: POLICY_FILE, else demo)")
    args = parser.parse_args(argv)
    today = date.today()
    last_year, last_month = _last_month(today)
    regency = Regency.generate(args.seed, staff_per_section=args.staff_per_section)
    plan = MonthPlan.draw(regency, args.year or last_year, args.month or last_month)
    why = preflight(args.host, args.policy, plan, today)
    if why:
        print(f"kinerja-play: {why}", file=sys.stderr)
        return 1
    api = {name: HttpApi(name, f"http://{args.host}:{port}") for name, port in SERVICES.items()}
    print(f"Playing {plan.period} for the regency of seed {args.seed} ({len(regency.people)} people) on {args.host}")
    sign = platform_minter(timedelta(hours=2))
    try:
        result = play(api, sign, regency, plan, log=lambda line: print(f"- {line}", flush=True))
        accounts = sign_ins(api, sign, regency)
    except (ApiError, TimeoutError) as exc:
        print(f"kinerja-play: {exc}", file=sys.stderr)
        return 1
    added = result["added"]
    print("This play added: " + (", ".join(f"{n} {what}" for what, n in added.items()) if added
                                 else "nothing (already played: the same figures again)"))
    report(regency, plan, result, args.host, accounts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
