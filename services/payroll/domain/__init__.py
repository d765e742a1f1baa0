"""Pure rules of the payroll service: the monthly TPP (*Tambahan Penghasilan Pegawai*, performance allowance).

Public API (no I/O, no clock; money in integer rupiah, percents as Decimal):

policy  — `load_policy(section: dict) -> PayrollPolicy` validates the `[payroll]` table of a policy file
          (raises `marshmallow.ValidationError` naming the field); `load_policy({})` gives the national
          defaults. Dataclasses: PayrollPolicy, Rounding, Component, OvertimeScoring, DisciplinePolicy,
          MinimumPolicy, TaxPolicy, Contribution. Regional presets: `deploy/policies/<region>.toml`.
tpp     — `compute_tpp(employee: EmployeeFacts, month: MonthFacts, policy) -> Payslip` (order of operations in
          its docstring); inputs EmployeeFacts, ActiveSanction, EmployeeStatus, MonthFacts, DayFact, Adjustment;
          output Payslip(gross, lines: tuple[PayslipLine(code, description, rule, evidence, amount)], net).
          Earning line codes: EARNING_CODES (they add up to gross); all lines add up to net.
          Helpers: `format_rupiah(amount) -> "Rp 4.200.000"`, `format_percent`, `format_date`, `round_money`.
budget  — `budget_report(budget_by_unit, payslips) -> list[UnitBudget(unit_id, planned, paid, unspent)]`;
          `allowance_cost(payslip)`.
bank    — `bank_rows(payslips, accounts: {employee_id: BankAccount}, reference) -> list[BankRow]`;
          `bank_export(rows, columns, delimiter=",", header=True) -> str` (CSV; columns from BANK_COLUMNS);
          `unit_summary(rows) -> list[UnitTransfer(unit_id, employees, amount)]`.
runs    — RunState (draft → reviewed → approved → paid; reviewed may go back to draft),
          `advance(state, target)` (raises RunStateError), `can_recompute(state)`,
          `content_hash(payslips) -> str` (sha256 of canonical JSON), Correction,
          `adjustment_for(correction, approved_payslip, recomputed_payslip) -> Adjustment`,
          `correction_deadline(source_month, policy)`, `landing_month(source_month, received_on, policy)`.
"""
