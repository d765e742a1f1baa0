"""Bank transfer files: one row per employee paid, columns and delimiter chosen by the region's bank."""

import csv
import io
from dataclasses import asdict, dataclass, fields
from typing import Iterable, Mapping, Sequence

from .tpp import Payslip


@dataclass(frozen=True)
class BankAccount:
    """Where an employee's allowance is transferred."""

    bank_code: str
    bank_account: str


@dataclass(frozen=True)
class BankRow:
    """One transfer; its field names are the columns a bank file may use."""

    employee_id: str
    name: str
    unit_id: str
    bank_code: str
    bank_account: str
    amount: int
    reference: str


@dataclass(frozen=True)
class UnitTransfer:
    """The number of transfers and their total for one unit."""

    unit_id: str
    employees: int
    amount: int


BANK_COLUMNS = tuple(f.name for f in fields(BankRow))


def bank_rows(payslips: Iterable[Payslip], accounts: Mapping[str, BankAccount], reference: str) -> list[BankRow]:
    """Rows for the payslips with something to transfer (net > 0); raises if an account is missing."""
    to_pay = [p for p in payslips if p.net > 0]
    missing = sorted(p.employee_id for p in to_pay if p.employee_id not in accounts)
    if missing:
        raise ValueError(f"no bank account for {', '.join(missing)}")
    return [
        BankRow(p.employee_id, p.name, p.unit_id, accounts[p.employee_id].bank_code,
                accounts[p.employee_id].bank_account, p.net, reference)
        for p in sorted(to_pay, key=lambda p: (p.unit_id, p.employee_id))
    ]


def bank_export(rows: Iterable[BankRow], columns: Sequence[str], delimiter: str = ",", header: bool = True) -> str:
    """The transfer file as CSV text with the chosen columns in the chosen order."""
    unknown = [c for c in columns if c not in BANK_COLUMNS]
    if unknown or not columns:
        raise ValueError(f"unknown bank file columns {unknown}; choose from {', '.join(BANK_COLUMNS)}")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    if header:
        writer.writerow(columns)
    for row in rows:
        values = asdict(row)
        writer.writerow([values[c] for c in columns])
    return out.getvalue()


def unit_summary(rows: Iterable[BankRow]) -> list[UnitTransfer]:
    """Transfers counted and totalled per unit, ordered by unit."""
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        count, amount = totals.get(row.unit_id, (0, 0))
        totals[row.unit_id] = (count + 1, amount + row.amount)
    return [UnitTransfer(unit, count, amount) for unit, (count, amount) in sorted(totals.items())]
