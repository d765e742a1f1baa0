"""Issue 11: a device is bounded by more than its serial: unapproved serials keep only a sample, every serial
is rate-limited, and an admin may pin a device to source networks and to the comm key its firmware sends."""
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from attendance import tables

ATTLOG = "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\r\n"


def _refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("kinerja_attendance_device_refusals_total", {"reason": reason}) or 0.0


def _stored(sessions, serial: str) -> list[int]:
    """The sizes of the uploads stored from `serial`."""
    with sessions() as session:
        r = tables.raw_uploads.c
        return [n for (n,) in session.execute(select(func.length(r.body)).where(r.device_serial == serial)
                                              .order_by(r.id))]


def _serial() -> str:
    return "UNK" + uuid.uuid4().hex[:10].upper()


def _pending_sample_is_capped(client, sessions, admin) -> None:
    """Shared by the PostgreSQL and SQLite runs: 3 uploads / 16 KiB kept, the rest refused, nothing lost."""
    serial = _serial()
    handshake = client.get(f"/iclock/cdata?SN={serial}&options=all")
    assert handshake.status_code == 200 and "ErrorDelay=300" in handshake.data.decode()  # pending: retry slowly
    before = _refusals("pending")
    post = lambda body: client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=9", data=body)  # noqa: E731
    assert post(ATTLOG).data == b"OK: 1"
    big = ("x" * 16400).encode()  # fits the count, not the bytes (16 KiB in all)
    refused = post(big)
    assert refused.status_code == 403 and 295 <= int(refused.headers["Retry-After"]) <= 300
    assert refused.data.decode().startswith("ERROR: ") and "awaits approval" in refused.data.decode()
    assert post(ATTLOG).data == b"OK: 1" and post(ATTLOG).data == b"OK: 1"
    assert post(ATTLOG).status_code == 403  # the fourth body: over the count
    assert _stored(sessions, serial) == [len(ATTLOG)] * 3
    assert _refusals("pending") - before == 2
    [device] = [d for d in client.get("/devices?state=pending", headers=admin).json["devices"]
                if d["device_serial"] == serial]
    assert [s["preview"] for s in device["sample"]] == [ATTLOG] * 3 and device["last_seen_at"]
    assert "ATTLOGStamp=0" in client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode()
    # approved, the device sends what was refused again (its ErrorDelay later): now it is stored
    assert client.post(f"/devices/{serial}/approve", json={}, headers=admin).status_code == 200
    # stored now; no line of it is a record, so it is kept but not acknowledged (never `OK` for such a body)
    assert post(big).data.startswith(b"ERROR") and len(_stored(sessions, serial)) == 4
    handshake = client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode()
    assert "ErrorDelay=30" in handshake and "ATTLOGStamp=0" in handshake  # an unread body's stamp is not taken


@pytest.mark.postgres
def test_an_unapproved_serial_keeps_a_small_sample_and_is_told_to_send_the_rest_later(att):
    _pending_sample_is_capped(att.client, att.sessions, att.admin)


def test_the_pending_sample_is_capped_on_sqlite_too(tmp_path, make_app, token, new_nip):
    from runtime.db import make_engine, make_session_factory
    from runtime.migrate import upgrade
    url = f"sqlite:///{tmp_path / 'attendance.db'}"
    upgrade("attendance", url)
    app = make_app("attendance", url)
    engine = make_engine(url)
    try:
        _pending_sample_is_capped(app.test_client(), make_session_factory(engine, tables.metadata),
                                  token(new_nip(), "admin"))
    finally:
        engine.dispose()
        app.extensions["kinerja"].engine.dispose()


@pytest.mark.postgres
def test_each_serial_is_rate_limited_before_its_body_is_read(new_database, make_app, token, new_nip):
    app = make_app("attendance", new_database("attendance"), extra={"ATTENDANCE_DEVICE_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    serial, other = _serial(), _serial()
    assert all(client.get(f"/iclock/getrequest?SN={serial}").status_code == 200 for _ in range(3))
    before = _refusals("rate_limited")
    limited = client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG", data=ATTLOG)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "text/plain" and limited.data.decode().startswith("ERROR: too many requests")
    assert _refusals("rate_limited") - before == 1
    assert client.get(f"/iclock/getrequest?SN={other}").status_code == 200  # another device is not slowed
    assert client.get("/devices", headers=token(new_nip(), "admin")).status_code == 200  # nor the API
    app.extensions["kinerja"].engine.dispose()


@pytest.mark.postgres
def test_a_device_pinned_to_its_networks_is_refused_and_logged_from_elsewhere(att, caplog):
    serial = att.device()
    invalid = att.client.patch(f"/devices/{serial}", json={"allowed_networks": ["10.9.0.0/16", "lobby"]},
                               headers=att.admin)
    assert invalid.status_code == 422 and invalid.json["errors"][0]["field"] == "allowed_networks"
    set_ = att.client.patch(f"/devices/{serial}", json={"allowed_networks": ["10.9.0.0/16", "2001:db8::/32"]},
                            headers=att.admin)
    assert set_.status_code == 200 and set_.json["allowed_networks"] == ["10.9.0.0/16", "2001:db8::/32"]
    assert att.client.patch(f"/devices/{serial}", json={"allowed_networks": []},
                            headers=att.token("198001012005011001", "ops")).status_code == 403
    before = _refusals("network")
    outside = att.post_attlog(serial, ATTLOG)  # the test client calls from 127.0.0.1
    assert outside.status_code == 403 and _stored(att.sessions, serial) == []
    assert _refusals("network") - before == 1
    assert any("outside its allowed networks" in r.getMessage() for r in caplog.records)
    inside = att.client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG", data=ATTLOG,
                             environ_base={"REMOTE_ADDR": "10.9.4.20"})
    assert inside.data == b"OK: 1" and len(_stored(att.sessions, serial)) == 1
    cleared = att.client.patch(f"/devices/{serial}", json={"allowed_networks": None}, headers=att.admin)
    assert cleared.json["allowed_networks"] == [] and att.post_attlog(serial, ATTLOG).data == b"OK: 1"


@pytest.mark.postgres
def test_a_device_with_a_comm_key_must_send_it_on_its_handshake(att):
    serial = att.device()
    view = att.client.patch(f"/devices/{serial}", json={"comm_key": "4a9594af164f2b9779b59e8554b5df26"},
                            headers=att.admin).json
    assert view["comm_key_set"] is True and "4a9594af" not in str(view)
    before = _refusals("comm_key")
    assert att.client.get(f"/iclock/cdata?SN={serial}&options=all").status_code == 403
    assert att.client.get(f"/iclock/cdata?SN={serial}&options=all&pushcommkey=0000").status_code == 403
    assert _refusals("comm_key") - before == 2
    right = att.client.get(f"/iclock/cdata?SN={serial}&options=all&pushcommkey=4a9594af164f2b9779b59e8554b5df26")
    assert right.status_code == 200 and right.data.startswith(b"GET OPTION FROM: ")
    assert att.post_attlog(serial, ATTLOG).data == b"OK: 1"  # later calls carry no key: the network bounds them
    att.client.patch(f"/devices/{serial}", json={"comm_key": None}, headers=att.admin)
    assert att.client.get(f"/iclock/cdata?SN={serial}&options=all").status_code == 200
    assert att.client.patch("/devices/NOSUCH1", json={"comm_key": "x"}, headers=att.admin).status_code == 404
