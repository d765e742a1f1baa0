"""Domain additions for the payroll service: an unknown grade, and the bank file's columns in the policy."""
from dataclasses import fields
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from payroll.domain.bank import BANK_COLUMNS, BankRow
from payroll.domain.policy import BANK_FILE_COLUMNS, load_policy
from payroll.domain.tpp import EmployeeFacts, MonthFacts, compute_tpp


def test_an_unknown_grade_withholds_no_tax_and_says_why():
    employee = EmployeeFacts("198503152010011002", "Siti", "DISKOMINFO", 8, None, "PNS", None, None)
    payslip = compute_tpp(employee, MonthFacts(2026, 11, Decimal(90)), load_policy({}))
    tax = next(line for line in payslip.lines if line.code == "tax")
    assert tax.amount == 0
    assert tax.evidence == "grade (golongan) unknown: nothing withheld until it is recorded"
    assert payslip.net == payslip.gross - round(payslip.gross / 100)  # only BPJS 1% withheld


def test_bank_columns_default_to_every_column_and_follow_the_policy():
    assert load_policy({}).bank_columns == BANK_COLUMNS
    assert BANK_FILE_COLUMNS == tuple(f.name for f in fields(BankRow))
    policy = load_policy({"bank_columns": ["bank_account", "amount"], "bank_delimiter": ";"})
    assert (policy.bank_columns, policy.bank_delimiter) == (("bank_account", "amount"), ";")


def test_an_unknown_bank_column_is_named():
    with pytest.raises(ValidationError) as error:
        load_policy({"bank_columns": ["amount", "iban"]})
    assert "bank_columns" in error.value.messages
