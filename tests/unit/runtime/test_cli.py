"""The runtime's command line does not know the demo: scenarios are reached only through their own command."""
import subprocess
import sys

import pytest


def _modules_after(statement: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_runtime_cli_does_not_import_scenarios():
    modules = _modules_after("import runtime.cli")
    assert "runtime.cli" in modules
    assert not {m for m in modules if m == "scenarios" or m.startswith("scenarios.")}


def test_play_month_alias_forwards_its_arguments_to_kinerja_play(capsys):
    from runtime.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["play-month", "--year", "2020", "--help"])
    assert exc.value.code == 0
    assert "usage: kinerja-play" in capsys.readouterr().out


def test_other_commands_still_refuse_unknown_arguments(capsys):
    from runtime.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["token", "--sub", "198001012005011004", "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_a_stack_run_beside_another_finds_its_own_services_and_keys_and_keeps_the_issuer():
    from runtime.cli import offset_env
    assert offset_env({"X": "1"}, "127.0.0.1", 0) == {"X": "1"}
    env = offset_env({}, "127.0.0.1", 300)
    assert env["IDENTITY_URL"] == "http://127.0.0.1:8307" and env["ATTENDANCE_URL"] == "http://127.0.0.1:8301"
    assert env["JWKS_URL"] == "http://127.0.0.1:8307/.well-known/jwks.json"
    assert env["JWT_ISSUER"] == "http://127.0.0.1:8007"
    assert offset_env({"JWT_ISSUER": "https://sso.example"}, "0.0.0.0", 10)["JWT_ISSUER"] == "https://sso.example"
