"""`kinerja policy check` names every error by key; `kinerja policy diff` says which rules differ."""
import tomllib
from pathlib import Path

from runtime.cli import main
from runtime.policy_review import check, diff

PRESETS = Path(__file__).parents[3] / "deploy" / "policies"


def _preset(name: str) -> dict:
    return tomllib.loads((PRESETS / f"{name}.toml").read_text())


def test_every_preset_passes_the_check():
    for preset in sorted(PRESETS.glob("*.toml")):
        assert check(tomllib.loads(preset.read_text())) == [], preset.name


def test_every_error_is_named_by_its_key_across_sections():
    errors = check({
        "bogus": {},
        "discipline": {"band_rates": {"TL9": 1}, "required_minutes": {"leave": "maybe"}},
        "payroll": {"cpns_percent": 120, "rounding": {"mode": "up"}},
        "approvals": {"month_close": {"from_local_time": "25:00"}},
        "scoring": {"discipline": {"TL1": 1}},
    })
    assert {key for key, _ in errors} == {
        "bogus", "discipline.band_rates.TL9.key", "discipline.required_minutes.leave.value",
        "payroll.cpns_percent", "payroll.rounding.mode", "approvals.month_close.from_local_time",
        "scoring.discipline"}


def test_diff_in_words_with_defaults_applied():
    national = _preset("national")
    same = diff(national, {**national, "scoring": {"public_min_group": 5}}, "national", "copy")
    assert same == []  # a default written out is no difference
    lines = diff(national, _preset("banyuwangi"), "national", "banyuwangi")
    assert "discipline.absent_per_day: 3 in national, 4 in banyuwangi" in lines
    assert "discipline.absence_rates.permission: not set in national; 1 in banyuwangi" in lines
    assert all(not line.startswith(("scoring.discipline.", "payroll.discipline.band")) for line in lines)


def test_the_commands(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[payroll]\ncpns_percent = 120\n")
    assert main(["policy", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "payroll.cpns_percent: Must be greater than or equal to 0 and less than or equal to 100." in out
    assert out.strip().endswith("1 error(s)")
    assert main(["policy", "check", str(PRESETS / "surabaya.toml")]) == 0
    assert main(["policy", "diff", str(PRESETS / "national.toml"), str(PRESETS / "surabaya.toml")]) == 0
    out = capsys.readouterr().out
    assert "payroll.rounding.unit: 1 in national, 100 in surabaya" in out
    assert main(["policy", "diff", str(PRESETS / "national.toml"), str(bad)]) == 2
