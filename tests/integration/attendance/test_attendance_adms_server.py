"""The ADMS push server on PostgreSQL: what a real fingerprint machine sees, and what it leaves behind."""
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from attendance import tables

pytestmark = pytest.mark.postgres

CAPTURED = (  # ADMS.md: real captures, 11 fields with a sequence number, and 10 fields without
    "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\r\n"
    "8\t2025-01-29 12:10:17\t1\t1\t0\t0\t0\t0\t0\t0\t10902\r\n"
    "11\t2025-08-27 10:57:49\t0\t25\t0\t0\t0\t0\t0\t0\r\n"
)


def _count(att, table) -> int:
    with att.sessions() as session:
        return session.execute(select(func.count()).select_from(table)).scalar()


def _batch(start: datetime, count: int, first_sequence: int = 1, pins: int = 40) -> str:
    """`count` punches a minute apart across `pins` PINs, with sequence numbers (a device's log)."""
    lines = []
    for n in range(count):
        when = start + timedelta(minutes=n)
        lines.append(f"{n % pins + 1}\t{when:%Y-%m-%d %H:%M:%S}\t0\t1\t0\t0\t0\t0\t0\t0\t{first_sequence + n}")
    return "\n".join(lines) + "\n"


def test_handshake_sends_both_stamp_names_the_device_zone_and_a_date_header(att):
    serial = att.device(zone="Asia/Makassar")
    assert att.post_attlog(serial, CAPTURED, stamp=9999).data == b"OK: 3"
    response = att.client.get(f"/iclock/cdata?SN={serial}&options=all&pushver=2.4.1&language=69")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.data.decode().splitlines()
    assert lines[0] == f"GET OPTION FROM: {serial}"
    options = dict(line.split("=", 1) for line in lines[1:])
    assert options["ATTLOGStamp"] == options["Stamp"] == "9999"
    assert options["OPERLOGStamp"] == options["OpStamp"] == "0"
    assert options["TimeZone"] == "8" and options["Realtime"] == "1"
    sent = parsedate_to_datetime(response.headers["Date"])
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)
    aspx = att.client.get(f"/iclock/cdata.aspx?SN={serial}&options=all")
    assert aspx.data == response.data


def test_captured_lines_become_punches_of_the_enrolled_employees(att, new_nip):
    serial = att.device()
    siti, budi = att.employee(new_nip("2")), att.employee(new_nip())
    att.enrol(serial, "46", siti)
    att.enrol(serial, "8", budi)
    response = att.post_attlog(serial, CAPTURED)
    assert (response.status_code, response.data) == (200, b"OK: 3")
    att.work()
    [punch] = att.punches(siti, date(2025, 1, 29))
    assert punch["at"] == "2025-01-28T23:58:48+00:00"  # 06:58:48 in Jakarta (UTC+7)
    assert (punch["local_time"], punch["local_date"], punch["zone"]) == (
        "2025-01-29T06:58:48", "2025-01-29", "Asia/Jakarta")
    assert (punch["device_serial"], punch["pin"], punch["verify"], punch["source"]) == (serial, "46", 15, "adms")
    built = att.outbox("attendance.day.built")
    assert sorted(e.key for e in built) == sorted([siti, budi])  # PIN 11 is not enrolled: kept, no one's day
    assert _count(att, tables.punches) == 3


def test_a_128_line_batch_sent_twice_is_stored_once_and_acknowledged_both_times(att, new_nip):
    serial = att.device()
    for pin in range(1, 41):
        att.enrol(serial, str(pin), att.employee(new_nip()))
    body = _batch(datetime(2025, 2, 3, 6, 0), 128)
    assert att.post_attlog(serial, body).data == b"OK: 128"
    assert att.post_attlog(serial, body).data == b"OK: 128"  # a bare OK would make the device resend forever
    assert att.work().uploads == 2
    assert _count(att, tables.punches) == 128
    assert sum(len(e.data["punch_ids"]) for e in att.outbox("attendance.day.built")) == 128
    assert _count(att, tables.raw_uploads) == 2  # both bodies are kept as received


def test_a_whole_history_resend_adds_nothing(att):
    serial = att.device()
    history = _batch(datetime(2024, 6, 1, 6, 0), 4096).splitlines(keepends=True)
    batches = ["".join(history[i:i + 128]) for i in range(0, len(history), 128)]
    for body in batches:
        assert att.post_attlog(serial, body).data == b"OK: 128"
    att.work()
    assert _count(att, tables.punches) == 4096
    for body in batches:  # pointed at a new server, the device sends it all again
        assert att.post_attlog(serial, body).data == b"OK: 128"
    # the same sequence numbers re-sent with the time format of another firmware build change nothing either
    same_sequence = _batch(datetime(2024, 6, 1, 6, 0, 1), 128)
    assert att.post_attlog(serial, same_sequence).data == b"OK: 128"
    assert att.work().punches == 0
    assert _count(att, tables.punches) == 4096


def test_truncated_and_garbage_lines_are_kept_aside_and_the_good_lines_accepted(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    body = (b"46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\n"
            b"46\t2025-01-29 16:0\n"  # cut in the middle of the time
            b"\xff\xfe\x00garbage\x01\n"
            b"46\t2025-02-30 07:00:00\t0\t1\t0\n"  # not a real date
            b"46\t2025-01-29 16:05:00\t1\t1\t0\t0\t0\t0\t0\t0\t10882\n")
    assert att.post_attlog(serial, body).data == b"OK: 2"
    att.work()
    assert [p["local_time"] for p in att.punches(nip, date(2025, 1, 29))] == [
        "2025-01-29T06:58:48", "2025-01-29T16:05:00"]
    rejected = att.client.get(f"/devices/{serial}/rejected", headers=att.admin).json["rejected"]
    assert sorted(r["line_no"] for r in rejected) == [2, 3, 4]
    reasons = {r["line_no"]: r["reason"] for r in rejected}
    assert "cut line" in reasons[2] and "UTF-8" in reasons[3] and "real date" in reasons[4]


def test_gbk_names_from_old_firmware_are_read(att):
    serial = att.device()
    body = ("USER PIN=7\tName=".encode() + "张伟".encode("gbk") + b"\tPri=0\tPasswd=1234\tCard=\tGrp=1\n"
            b"USER PIN=46\tName=Siti Aminah\tPri=14\tCard=0012345\n"
            b"OPLOG 4\t0\t2025-01-29 08:00:00\t0\t0\t0\t0\n"
            b"FP PIN=46\tFID=6\tSize=1024\tValid=1\tTMP=AAAA\n")
    response = att.client.post(f"/iclock/cdata?SN={serial}&table=OPERLOG&Stamp=77", data=body)
    assert response.data == b"OK: 4"
    att.work()
    users = att.client.get(f"/devices/{serial}/users", headers=att.admin).json["users"]
    assert [(u["pin"], u["name"], u["privilege"]) for u in users] == [("46", "Siti Aminah", 14), ("7", "张伟", 0)]
    handshake = att.client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode()
    assert "OPERLOGStamp=77" in handshake and "OpStamp=77" in handshake


def test_an_unknown_device_is_kept_pending_until_an_admin_approves_it(att, new_nip, token):
    serial = "UNKNOWN" + new_nip()[-6:]
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    assert att.client.get(f"/iclock/cdata?SN={serial}&options=all").status_code == 200
    assert att.post_attlog(serial, CAPTURED).data == b"OK: 3"
    devices = {d["device_serial"]: d for d in att.client.get("/devices", headers=att.admin).json["devices"]}
    assert devices[serial]["state"] == "pending" and devices[serial]["last_seen_at"]
    assert att.work().uploads == 0  # the ingest job leaves a pending device's uploads alone
    assert att.punches(nip, date(2025, 1, 29)) == []  # stored, not counted
    assert [e.data["state"] for e in att.outbox("attendance.device.seen")] == ["pending"]
    assert att.client.get(f"/iclock/getrequest?SN={serial}").data == b"OK"
    staff = token(new_nip(), "ops")
    assert att.client.post(f"/devices/{serial}/approve", json={}, headers=staff).status_code == 403
    approved = att.client.post(f"/devices/{serial}/approve", json={"zone": "Asia/Jayapura"}, headers=att.admin)
    assert approved.status_code == 200 and approved.json["uploads_processed"] == 1
    [punch] = att.punches(nip, date(2025, 1, 29))
    assert punch["at"] == "2025-01-28T21:58:48+00:00"  # read in the device's zone: WIT, UTC+9
    assert [e.data["state"] for e in att.outbox("attendance.device.approved")] == ["approved"]


def test_a_disabled_device_is_refused(att):
    serial = att.device()
    assert att.client.post(f"/devices/{serial}/disable", headers=att.admin).status_code == 200
    assert att.post_attlog(serial, CAPTURED).status_code == 403
    assert _count(att, tables.raw_uploads) == 0
    assert att.client.get("/iclock/cdata?options=all").status_code == 400  # no SN at all


def test_an_enrolment_change_queues_device_commands_and_results_close_them(att, new_nip):
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    att.enrol(serial, "46", nip)  # the compacted topic replayed: nothing new to send
    att.enrol(serial, "46", nip, active=False)
    reply = att.client.get(f"/iclock/getrequest.aspx?SN={serial}").data.decode().splitlines()
    assert len(reply) == 2
    first_id, first = reply[0].split(":", 2)[1:]
    assert first == "DATA UPDATE USERINFO PIN=46\tName=Siti\tPrivilege=0\tCard="
    second_id, second = reply[1].split(":", 2)[1:]
    assert second == "DATA DELETE USERINFO PIN=46"
    assert att.client.get(f"/iclock/getrequest?SN={serial}").data == b"OK"
    result = f"ID={first_id}&Return=0&CMD=DATA\nID={second_id}&Return=-1002&CMD=DATA\n"
    assert att.client.post(f"/iclock/devicecmd?SN={serial}", data=result).data == b"OK"
    states = {str(c["id"]): (c["state"], c["return_code"])
              for c in att.client.get(f"/devices/{serial}/commands", headers=att.admin).json["commands"]}
    assert states == {first_id: ("done", 0), second_id: ("failed", -1002)}


def test_push_3_registry_push_and_ping(att):
    serial = att.device()
    registered = att.client.post(f"/iclock/registry?SN={serial}",
                                 data=b"DeviceType=acc,~DeviceName=Kantor Bupati, Lantai 2,FirmVer=ZAM180")
    assert registered.status_code == 200 and registered.data.startswith(b"RegistryCode=")
    config = att.client.get(f"/iclock/push?SN={serial}").data.decode()
    assert "TransTables=User Transaction" in config and "SessionID=" in config
    assert att.client.get(f"/iclock/ping?SN={serial}").data == b"OK"
    options = att.client.post(f"/iclock/cdata?SN={serial}&table=options",
                              data=b"~DeviceName=Kantor Bupati, Lantai 2,MAC=00:17:61:10:50:79,UserCount=120")
    assert options.data == b"OK"
    [device] = [d for d in att.client.get("/devices", headers=att.admin).json["devices"]
                if d["device_serial"] == serial]
    assert device["options"]["DeviceName"] == "Kantor Bupati, Lantai 2" and device["options"]["UserCount"] == "120"
