"""A directory change travels over the real broker to another service's projection in other processes."""
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, select

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _names(url, nips):
    from payroll.tables import employees
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r.employee_id: r.name for r in conn.execute(
                select(employees.c.employee_id, employees.c.name).where(employees.c.employee_id.in_(nips)))}
    finally:
        engine.dispose()


def _wait_for(predicate, timeout_s=90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_an_employee_change_reaches_the_payroll_projection_in_another_process(
        new_database, make_app, token, new_nip, kafka_bootstrap):
    directory_url, payroll_url = new_database("directory"), new_database("payroll")
    client = make_app("directory", directory_url).test_client()
    admin = token(new_nip(), "admin")
    unit = f"U{new_nip()[-6:]}"
    assert client.put(f"/units/{unit}", json={"name": "Dinas Uji"}, headers=admin).status_code == 200
    assert client.put("/positions/ANALIS", json={"name": "Analis", "job_class": 9, "kind": "functional"},
                      headers=admin).status_code == 200
    nip = new_nip()
    body = {"name": "Siti Aminah", "unit_id": unit, "position_id": "ANALIS", "status": "PNS", "zone": "Asia/Jakarta"}
    assert client.put(f"/employees/{nip}", json=body, headers=admin).status_code == 200

    env = dict(os.environ, DIRECTORY_DATABASE_URL=directory_url, PAYROLL_DATABASE_URL=payroll_url,
               KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    processes = [subprocess.Popen([sys.executable, "-m", "runtime.cli", command, service], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for command, service in (("relay", "directory"), ("consume", "payroll"))]
    try:
        assert _wait_for(lambda: _names(payroll_url, [nip]) == {nip: "Siti Aminah"}), "the change never arrived"
        body["name"] = "Siti Aminah, S.Kom."
        assert client.put(f"/employees/{nip}", json=body, headers=admin).status_code == 200
        assert _wait_for(lambda: _names(payroll_url, [nip]) == {nip: "Siti Aminah, S.Kom."}), "the update never arrived"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)

    # A service that starts empty rebuilds its projection from the compacted topic, in yet another process.
    rebuilt_url = new_database("payroll")
    subprocess.run([sys.executable, "-m", "runtime.cli", "rebuild", "payroll"], check=True, capture_output=True,
                   env=dict(env, PAYROLL_DATABASE_URL=rebuilt_url), timeout=120)
    assert _names(rebuilt_url, [nip]) == {nip: "Siti Aminah, S.Kom."}
