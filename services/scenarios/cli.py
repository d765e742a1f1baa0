"""`kinerja-play`: play a month on a running stack through the public APIs (the demo, not the runtime)."""
from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from runtime.cli import platform_minter
from runtime.service import SERVICES
from scenarios.clients import HttpApi
from scenarios.month import play_month


def _last_month(today: date) -> tuple[int, int]:
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def play(args) -> int:
    """Play one month and print what it produced."""
    mint = platform_minter(timedelta(hours=1))
    last_year, last_month = _last_month(date.today())
    year, month = args.year or last_year, args.month or last_month
    api = {name: HttpApi(name, f"http://{args.host}:{port}") for name, port in SERVICES.items()}
    finance = mint("198001012005011004", ["finance"])
    runs = api["payroll"].ok("GET", "/runs", finance)["runs"]
    taken = [r for r in runs if (r["year"], r["month"]) == (year, month)]
    if taken:
        print(f"A payroll run for {year}-{month:02d} already exists on this stack ({taken[0]['state']}): one run per"
              f" month, so play another month (--year/--month, within the demo policy's entry window) or a fresh"
              f" stack (KINERJA_DATA_DIR).", file=sys.stderr)
        return 1
    result = play_month(api, mint, year, month, log=lambda line: print(f"- {line}", flush=True))
    run = result["run"]
    print(f"\nPayroll run {run['run_id']} for {year}-{month:02d}: {run['state']}, approved by {run['approved_by']}")
    print(f"{'NIP':<20}{'name':<22}{'gross':>14}{'net':>14}")
    for payslip in sorted(result["payslips"].values(), key=lambda p: p["name"]):
        print(f"{payslip['employee_id']:<20}{payslip['name']:<22}{payslip['gross']:>14,}{payslip['net']:>14,}".replace(",", "."))
    total_gross = sum(p["gross"] for p in result["payslips"].values())
    total_net = sum(p["net"] for p in result["payslips"].values())
    print(f"{'total':<42}{total_gross:>14,}{total_net:>14,}".replace(",", "."))
    print("\nOpen cross-check flags of the late CPNS:")
    for flag in result["flags_b"]:
        print(f"  {flag['local_date']}  {flag['kind']:<28} {flag['message']}")
    print("Staffing posture (this unit):")
    for line in result["posture"]:
        print(f"  {line['position_name'] or 'whole unit':<22} workload {line['workload_minutes']:>6} min, "
              f"staff {line['staff_present']}, needed {line['staff_needed']}, efficiency {line['efficiency']}, band {line['band']}")
    for unit in result["public"]:
        print(f"Public aggregate: {unit['unit_name']}: staff {unit['staff']['text']} (groups under the threshold are hidden)")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(prog="kinerja-play", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--year", type=int)
    p.add_argument("--month", type=int, help="default: last month")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kinerja-play` command."""
    return play(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
