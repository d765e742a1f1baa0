"""What the TPP budget left unspent per unit, and the bank transfer file."""

import pytest

from payroll.domain.bank import BankAccount, BankRow, bank_export, bank_rows, unit_summary
from payroll.domain.budget import UnitBudget, budget_report
from payroll.domain.tpp import Payslip, PayslipLine


def payslip(employee_id, name, unit_id, *amounts):
    """A payslip from (code, amount) lines; gross and net follow from them."""
    lines = tuple(PayslipLine(code, code, "", "", amount) for code, amount in amounts)
    gross = sum(a for c, a in amounts if c in ("component", "discipline"))
    return Payslip(employee_id, name, unit_id, 2026, 11, gross, lines, sum(a for _, a in amounts))


NURSE = payslip("198601012010012001", "Rina", "DINKES", ("component", 3_600_000), ("tax", -180_000),
                ("contribution", -36_000))
DOCTOR = payslip("198202022008011002", "Andi", "DINKES", ("component", 2_520_000), ("tax", -126_000),
                 ("contribution", -25_200), ("rounding", 0))
CLERK = payslip("199003032015031003", "Dewi; S.E.", "BPKAD", ("component", 2_300_000), ("tax", -115_000),
                ("contribution", -23_000), ("adjustment", 100_000))
DISMISSED = payslip("197704042000031004", "Joko", "BPKAD", ("component", 2_000_000), ("sanction", -2_000_000))


def test_budget_report_shows_what_was_not_spent():
    report = budget_report({"DINKES": 10_000_000, "DISDIK": 5_000_000}, [NURSE, DOCTOR, CLERK])

    assert report == [
        # paid = gross + adjustments (tax and contributions are withheld from it, still spent): 2.300.000 + 100.000
        UnitBudget("BPKAD", 0, 2_400_000, -2_400_000),
        # 3.600.000 + 2.520.000 = 6.120.000 of 10.000.000
        UnitBudget("DINKES", 10_000_000, 6_120_000, 3_880_000),
        UnitBudget("DISDIK", 5_000_000, 0, 5_000_000),
    ]


ACCOUNTS = {
    NURSE.employee_id: BankAccount("BSB", "0011223344"),
    DOCTOR.employee_id: BankAccount("BSB", "0011223355"),
    CLERK.employee_id: BankAccount("BRI", "0987654321"),
}


def test_bank_rows_skip_nothing_to_pay_and_group_by_unit():
    rows = bank_rows([NURSE, DOCTOR, CLERK, DISMISSED], ACCOUNTS, "TPP-2026-11")

    # nets: 3.600.000 − 180.000 − 36.000 = 3.384.000; 2.520.000 − 126.000 − 25.200 = 2.368.800;
    # 2.300.000 − 115.000 − 23.000 + 100.000 = 2.262.000; the dismissed employee's net 0 is not transferred
    assert [(r.unit_id, r.employee_id, r.amount) for r in rows] == [
        ("BPKAD", CLERK.employee_id, 2_262_000),
        ("DINKES", DOCTOR.employee_id, 2_368_800),
        ("DINKES", NURSE.employee_id, 3_384_000),
    ]


def test_bank_rows_refuse_a_missing_account():
    with pytest.raises(ValueError, match=NURSE.employee_id):
        bank_rows([NURSE], {}, "TPP-2026-11")


@pytest.mark.parametrize("columns, delimiter, header, text", [
    (["bank_account", "name", "amount"], ";", True,
     'bank_account;name;amount\r\n0987654321;"Dewi; S.E.";2262000\r\n0011223355;Andi;2368800\r\n'),
    (["employee_id", "bank_code", "amount", "reference"], ",", False,
     "199003032015031003,BRI,2262000,TPP-2026-11\r\n198202022008011002,BSB,2368800,TPP-2026-11\r\n"),
])
def test_bank_export_columns_chosen_by_configuration(columns, delimiter, header, text):
    rows = bank_rows([CLERK, DOCTOR], ACCOUNTS, "TPP-2026-11")

    assert bank_export(rows, columns, delimiter, header=header) == text


@pytest.mark.parametrize("columns", [["bank_account", "salary"], []])
def test_bank_export_refuses_unknown_columns(columns):
    with pytest.raises(ValueError, match="columns"):
        bank_export([], columns)


def test_unit_summary():
    rows = bank_rows([NURSE, DOCTOR, CLERK], ACCOUNTS, "TPP-2026-11")

    assert [(s.unit_id, s.employees, s.amount) for s in unit_summary(rows)] == [
        ("BPKAD", 1, 2_262_000),
        ("DINKES", 2, 5_752_800),  # 2.368.800 + 3.384.000
    ]


def test_bank_row_fields_are_the_columns():
    row = BankRow("1", "n", "U", "B", "A", 5, "R")

    assert bank_export([row], ["unit_id", "amount"], header=False) == "U,5\r\n"
