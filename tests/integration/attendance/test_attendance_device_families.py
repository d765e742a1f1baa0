"""Every device family, replayed against the attendance service on PostgreSQL: each request form the PUSH
SDK documents or a real machine was captured sending, stored before it is answered, and every
acknowledged attendance record a punch exactly once.

Sources of the bodies (each test says which):
- [SDK] the vendor's PUSH SDK 3.2 document (sections named in the test);
- [V3L] a SpeedFace-V3L capture kept as a test fixture by a public ADMS server (rtlog, two lines);
- [ZKT] kittiu/thai_zkt `push_protocol_3.py` (the `user uid=..` and `biodata pin=..` line shapes it parses
  from real 3.x devices, and `GET OPTIONS` / `DATA QUERY tablename=..` commands);
- [ADMS] the captures collected in docs/ADMS.md (ATTLOG lines, ATTPHOTO header, OPERLOG lines).
"""
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from attendance import tables
from attendance.domain.adms import zk_seconds_of

pytestmark = pytest.mark.postgres

# [V3L] a user's verification and, 5 minutes later, a door event with no user (PIN 0)
RTLOG = ("time=2026-09-28 11:40:45\tpin=41235478\tcardno=0\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1"
         "\tindex=13355\tsitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0\n"
         "time=2026-09-28 11:45:56\tpin=0\tcardno=0\teventaddr=1\tevent=27\tinoutstatus=1\tverifytype=1"
         "\tindex=13357\tsitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0\n")
# [ZKT] push 3.x user table lines
USERS = ("user uid=1\tcardno=\tpin=46\tpassword=\tgroup=1\tstarttime=0\tendtime=0\tname=Siti\tprivilege=0"
         "\tdisable=0\tverify=0\n"
         "user uid=2\tcardno=12345678\tpin=99\tpassword=9876\tgroup=1\tstarttime=0\tendtime=0\tname=Tamu\tprivilege=0"
         "\tdisable=0\tverify=0\n")
# [ZKT] a unified (3.x) fingerprint template line
BIODATA = "biodata pin=46\tno=6\tindex=0\tvalid=1\tduress=0\ttype=1\tmajorver=10\tminorver=0\tformat=0\ttmp=SECRETTMPL\n"
# [ADMS] 1x1 JPEG-like bytes after the ATTPHOTO header (SOI ... EOI)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def _count(att, table, *where) -> int:
    with att.sessions() as session:
        return session.execute(select(func.count()).select_from(table).where(*where)).scalar()


def _post(att, serial, query, body):
    return att.client.post(f"/iclock/{query}{'&' if '?' in query else '?'}SN={serial}", data=body,
                           content_type="application/x-www-form-urlencoded")


def _raw_tables(att, serial) -> list[str]:
    r = tables.raw_uploads.c
    with att.sessions() as session:
        return [t for (t,) in session.execute(select(r.table_name).where(r.device_serial == serial).order_by(r.id))]


def _device(att, serial) -> dict:
    [device] = [d for d in att.client.get("/devices", headers=att.admin).json["devices"]
                if d["device_serial"] == serial]
    return device


def _command(att, serial, **body):
    return att.client.post(f"/devices/{serial}/commands", json=body, headers=att.admin)


def _poll(att, serial) -> dict[str, str]:
    """command line -> id, from one getrequest poll."""
    lines = att.client.get(f"/iclock/getrequest?SN={serial}").data.decode().splitlines()
    return {line.split(":", 2)[2]: line.split(":", 2)[1] for line in lines if line.startswith("C:")}


def test_push3_rtlog_becomes_punches_and_a_door_event_is_kept_aside(att, new_nip):
    """[V3L] `POST cdata?table=rtlog`: answered `OK` only after the body is stored; the user's line is a punch."""
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "41235478", nip)
    response = _post(att, serial, "cdata?table=rtlog", RTLOG)
    assert (response.status_code, response.data) == (200, b"OK")
    assert _raw_tables(att, serial) == ["RTLOG"]
    att.work()
    [punch] = att.punches(nip, date(2026, 9, 28))
    assert (punch["local_time"], punch["at"], punch["verify"], punch["device_status"]) == (
        "2026-09-28T11:40:45", "2026-09-28T04:40:45+00:00", 1, 0)
    [rejected] = att.client.get(f"/devices/{serial}/rejected", headers=att.admin).json["rejected"]
    assert "no user (event 27)" in rejected["reason"]
    assert _post(att, serial, "cdata?table=rtlog", RTLOG).data == b"OK"  # the same lines again
    att.work()
    assert _count(att, tables.punches, tables.punches.c.device_serial == serial) == 1
    assert [(e.key, len(e.data["punch_ids"])) for e in att.outbox("attendance.day.built")] == [(nip, 1)]


def test_push3_tabledata_users_biodata_and_transactions(att, new_nip):
    """[ZKT]/[SDK 3.2 tabledata] user, biodata and transaction tables: `<table>=<n>`, then stored."""
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    assert _post(att, serial, "cdata?table=tabledata&tablename=user&count=2", USERS).data == b"user=2"
    assert _post(att, serial, "cdata?table=tabledata&tablename=biodata&count=1", BIODATA).data == b"biodata=1"
    second = zk_seconds_of(datetime(2025, 3, 3, 7, 1, 2))  # [SDK 3.2, appendix: time_second]
    transaction = f"transaction cardno=0\tpin=46\tverified=15\tdoorid=1\teventtype=0\tinoutstate=1\ttime_second={second}\n"
    assert _post(att, serial, "cdata?table=tabledata&tablename=transaction&count=1", transaction).data == \
        b"transaction=1"
    assert _raw_tables(att, serial) == ["TABLEDATA.USER", "TABLEDATA.BIODATA", "TABLEDATA.TRANSACTION"]
    att.work()
    [punch] = att.punches(nip, date(2025, 3, 3))
    assert (punch["local_time"], punch["verify"], punch["device_status"]) == ("2025-03-03T07:01:02", 15, 1)
    users = att.client.get(f"/devices/{serial}/users", headers=att.admin).json["users"]
    assert [(u["pin"], u["name"], u["card"]) for u in users] == [("46", "Siti", ""), ("99", "Tamu", "12345678")]
    view = att.client.get(f"/devices/{serial}/reconciliation", headers=att.admin)
    assert view.status_code == 200 and "SECRETTMPL" not in view.data.decode()  # templates are never shown
    assert view.json["on_device_not_enrolled"] == [{"pin": "99", "name": "Tamu", "templates": []}]
    assert "9876" not in att.client.get(f"/devices/{serial}/users", headers=att.admin).data.decode()  # password
    with att.sessions() as session:
        t = tables.device_templates.c
        assert session.execute(select(t.pin, t.kind, t.index, t.data)).all() == [("46", "biodata-1", 6, b"SECRETTMPL")]


def test_attlog_of_every_documented_length_is_stored(att, new_nip):
    """[SDK 3.2 section 2.4.2] ATTLOG lines of 5 to 16 fields (TFT: work code and tip codes)."""
    serial = att.device()
    nip = att.employee(new_nip())
    att.enrol(serial, "46", nip)
    lines = []
    for n, fields in enumerate(range(5, 17)):
        values = ["46", f"2025-04-01 07:{n:02d}:00", "0", "1"] + ["0"] * (fields - 4)
        lines.append("\t".join(values))
    response = att.post_attlog(serial, "\r\n".join(lines) + "\r\n")
    assert response.data == b"OK: 12"
    att.work()
    assert len(att.punches(nip, date(2025, 4, 1))) == 12
    assert att.client.get(f"/devices/{serial}/rejected", headers=att.admin).json["rejected"] == []


def test_date_form_and_numeric_stamps_are_kept_and_sent_back(att):
    """[SDK 3.2 handshake] `Stamp=2008-02-25T12:08:21`: kept, so the device does not resend its whole log."""
    serial = att.device()
    line = "46\t2008-02-25 12:08:21\t0\t1\t0\n"
    assert att.client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=2008-02-25T12:08:21", data=line).data == \
        b"OK: 1"
    assert att.client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=2008-01-01T00:00:00", data=line).data == \
        b"OK: 1"  # an older stamp never moves it back
    handshake = att.client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode().splitlines()
    assert "ATTLOGStamp=2008-02-25T12:08:21" in handshake and "Stamp=2008-02-25T12:08:21" in handshake
    assert "Encrypt=0" in handshake  # [SDK 3.2: Encrypt=0, no encryption]
    att.client.post(f"/iclock/cdata?SN={serial}&table=ATTLOG&Stamp=9999", data=line)
    assert "ATTLOGStamp=9999" in att.client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode().splitlines()


def test_time_requests_get_the_time_not_the_options(att):
    """[SDK 3.2] `GET cdata?type=time` gets `Time=`; push 3.x `GET rtdata?type=time` gets `DateTime=,ServerTZ=`."""
    serial = att.device(zone="Asia/Makassar")
    before = datetime.now(UTC).replace(microsecond=0)
    reply = att.client.get(f"/iclock/cdata?SN={serial}&type=time").data.decode()
    assert reply.startswith("Time=") and reply.endswith("+08:00")
    assert before <= datetime.fromisoformat(reply[5:]) <= datetime.now(UTC) + timedelta(seconds=1)
    encoded = att.client.get(f"/iclock/rtdata?SN={serial}&type=time").data.decode()
    seconds, zone = encoded.split(",")
    assert zone == "ServerTZ=+0800"
    assert abs(int(seconds.removeprefix("DateTime=")) - zk_seconds_of(datetime.now(UTC).replace(tzinfo=None))) < 5


def test_commands_from_the_api_and_their_multi_line_results(att):
    """[SDK 3.2 commands] INFO answered over several lines (`ID=`, `Return=`, `CMD=`, then the options)."""
    serial = att.device()
    expected = {
        ("INFO", ()): "INFO", ("CHECK", ()): "CHECK", ("REBOOT", ()): "REBOOT",
        ("LOG", (("since", "2025-01-01T00:00:00"), ("until", "2025-01-31T23:59:59"))):
            "DATA QUERY ATTLOG StartTime=2025-01-01 00:00:00\tEndTime=2025-01-31 23:59:59",
        ("SET_OPTION", (("name", "Delay"), ("value", "30"))): "SET OPTION Delay=30",
        ("GET_OPTION", (("names", ("~DeviceName", "FirmVer")),)): "GET OPTIONS ~DeviceName,FirmVer",
        ("DATA_QUERY", (("table", "user"),)): "DATA QUERY USERINFO",
        ("ENROLL", (("pin", "46"), ("finger", 6))): "ENROLL_FP PIN=46\tFID=6\tRETRY=3\tOVERWRITE=1",
    }
    for (kind, params), line in expected.items():
        response = _command(att, serial, command=kind, **dict(params))
        assert response.status_code == 201, response.json
        assert (response.json["command"], response.json["state"]) == (line, "queued")
    refused = _command(att, serial, command="ENROLL", pin="4 6")
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "pin"
    assert _command(att, serial, command="FORMAT").status_code == 422
    sent = _poll(att, serial)
    assert set(sent) == set(expected.values())
    result = (f"ID={sent['INFO']}\nReturn=0\nCMD=INFO\n~DeviceName=K40/ID\nMAC=00:17:61:12:34:56\n"
              f"TransactionCount=0\nID={sent['REBOOT']}&Return=0&CMD=REBOOT\n")
    assert att.client.post(f"/iclock/devicecmd?SN={serial}", data=result).data == b"OK"
    commands = {c["command"]: c for c in att.client.get(f"/devices/{serial}/commands", headers=att.admin).json["commands"]}
    assert commands["INFO"]["state"] == "done" and "TransactionCount=0" in commands["INFO"]["result"]
    assert commands["REBOOT"]["state"] == "done" and commands["CHECK"]["state"] == "sent"
    assert _device(att, serial)["options"]["DeviceName"] == "K40/ID"
    assert "DEVICECMD" in _raw_tables(att, serial)  # the result body itself is kept


def test_clear_log_only_after_a_verified_full_upload(att, new_nip):
    """CLEAR LOG needs an INFO answered after the last upload, reporting no more records than are stored."""
    serial = att.device()
    lines = "".join(f"46\t2025-05-0{d} 07:00:00\t0\t1\t0\n" for d in (1, 2, 3))
    assert att.post_attlog(serial, lines).data == b"OK: 3"
    assert _command(att, serial, command="CLEAR_LOG").status_code == 409  # not processed, no INFO
    att.work()
    assert _command(att, serial, command="CLEAR_LOG").status_code == 409  # no INFO yet

    def info(count):
        assert _command(att, serial, command="INFO").status_code == 201
        command_id = _poll(att, serial)["INFO"]
        att.client.post(f"/iclock/devicecmd?SN={serial}",
                        data=f"ID={command_id}\nReturn=0\nCMD=INFO\nTransactionCount={count}\n")
    info(5)
    refused = _command(att, serial, command="CLEAR_LOG")
    assert refused.status_code == 409 and "5 records and 3 are stored" in refused.json["detail"]
    info(3)
    cleared = _command(att, serial, command="CLEAR_LOG")
    assert cleared.status_code == 201 and cleared.json["command"] == "CLEAR LOG"


def test_querydata_answers_a_data_query_and_closes_it(att):
    """[ZKT]/[SDK 3.2 querydata] a 3.x device answers `DATA QUERY tablename=user` through `/iclock/querydata`."""
    serial = att.device()
    assert att.client.post(f"/iclock/registry?SN={serial}", data=b"DeviceType=att,~DeviceName=SpeedFace-V5L").status_code \
        == 200
    queued = _command(att, serial, command="DATA_QUERY", table="user")
    assert queued.json["command"] == "DATA QUERY tablename=user,fielddesc=*,filter=*"  # push 3.x wording
    command_id = _poll(att, serial)[queued.json["command"]]
    reply = _post(att, serial, f"querydata?type=tabledata&cmdid={command_id}&tablename=user&count=2&packcnt=1"
                               "&packidx=1", USERS)
    assert reply.data == b"user=2"
    [command] = att.client.get(f"/devices/{serial}/commands", headers=att.admin).json["commands"]
    assert (command["state"], command["result"]) == ("done", "2 record(s) of user received")
    att.work()
    assert [u["pin"] for u in att.client.get(f"/devices/{serial}/users", headers=att.admin).json["users"]] == ["46", "99"]
    assert _raw_tables(att, serial) == ["REGISTRY", "QUERYDATA.USER"]


def test_an_unknown_table_is_kept_raw_counted_and_shown_on_the_device(att):
    """A table nobody documents here is never answered `OK` and dropped: kept, counted, visible."""
    serial = att.device()
    before = REGISTRY.get_sample_value("kinerja_attendance_unrecognised_uploads_total") or 0
    assert _post(att, serial, "cdata?table=rtstate", b"sensor=01\trelay=00\talarm=0000000000000000\n").data == b"OK"
    assert REGISTRY.get_sample_value("kinerja_attendance_unrecognised_uploads_total") == before + 1
    [unknown] = _device(att, serial)["unrecognised_uploads"]
    assert (unknown["table"], unknown["uploads"]) == ("RTSTATE", 1)
    att.work()
    with att.sessions() as session:
        r = tables.raw_uploads.c
        assert session.execute(select(r.body).where(r.device_serial == serial)).scalar().startswith(b"sensor=01")


def test_attendance_photo_is_the_evidence_of_its_punch(att, new_nip, token):
    """[ADMS] ATTPHOTO: header lines, a NUL, the JPEG; the punch then shows its photo to whom may see it."""
    serial = att.device()
    nip, supervisor, stranger = new_nip(), new_nip(), new_nip()
    att.employee(supervisor)
    att.employee(nip, supervisor_id=supervisor)
    att.enrol(serial, "46", nip)
    assert att.post_attlog(serial, "46\t2025-01-29 06:58:48\t0\t15\t0\n").data == b"OK: 1"
    photo = b"PIN=20250129065848-46.jpg\nSN=" + serial.encode() + b"\nsize=24\nCMD=uploadphoto\x00" + JPEG
    assert _post(att, serial, "cdata?table=ATTPHOTO&Stamp=77", photo).data == b"OK"
    att.work()
    [punch] = att.punches(nip, date(2025, 1, 29))
    assert punch["photo"] == f"/punches/{punch['punch_id']}/photo"
    for who, status in ((token(nip, "staff"), 200), (token(supervisor, "supervisor"), 200),
                        (token(stranger, "staff"), 403), (att.admin, 200)):
        response = att.client.get(punch["photo"], headers=who)
        assert response.status_code == status
        if status == 200:
            assert response.data == JPEG and response.mimetype == "image/jpeg"
    handshake = att.client.get(f"/iclock/cdata?SN={serial}&options=all").data.decode().splitlines()
    assert "ATTPHOTOStamp=77" in handshake  # photos already kept are not asked for again


def test_reconciliation_and_its_one_action(att, new_nip):
    """[ADMS] OPERLOG USER/FP/FACE lines report who is on the machine; push or remove the differences."""
    serial = att.device()
    att.enrol(serial, "46", att.employee(new_nip()))
    att.enrol(serial, "8", att.employee(new_nip()))
    _poll(att, serial)  # the enrolments' own commands
    operlog = ("USER PIN=46\tName=Siti\tPri=0\tPasswd=\tCard=\tGrp=1\n"
               "USER PIN=99\tName=Tamu\tPri=0\tPasswd=4321\tCard=\tGrp=1\n"
               "FP PIN=99\tFID=1\tSize=8\tValid=1\tTMP=FPSECRET\n"
               "FACE PIN=99\tFID=50\tSIZE=8\tVALID=1\tTMP=FACESECRET\n")
    assert _post(att, serial, "cdata?table=OPERLOG&OpStamp=12", operlog).data == b"OK: 4"
    att.work()
    view = att.client.get(f"/devices/{serial}/reconciliation", headers=att.admin).json
    assert view["on_device_not_enrolled"] == [{"pin": "99", "name": "Tamu", "templates": ["face", "fp"]}]
    assert [m["pin"] for m in view["enrolled_missing_from_device"]] == ["8"]
    pushed = att.client.post(f"/devices/{serial}/reconcile", json={"action": "push"}, headers=att.admin)
    removed = att.client.post(f"/devices/{serial}/reconcile", json={"action": "remove", "pins": ["99"]},
                              headers=att.admin)
    assert (pushed.status_code, pushed.json["pins"], removed.json["pins"]) == (201, ["8"], ["99"])
    assert att.client.post(f"/devices/{serial}/reconcile", json={"action": "remove", "pins": ["46"]},
                           headers=att.admin).status_code == 422  # 46 is enrolled: not removable
    assert set(_poll(att, serial)) == {"DATA UPDATE USERINFO PIN=8\tName=Siti\tPrivilege=0\tCard=",
                                       "DATA DELETE USERINFO PIN=99"}


def test_every_acknowledged_record_of_every_form_is_one_punch(att, new_nip):
    """All attendance forms, each sent twice: as many punches as distinct (PIN, time), each published once."""
    serial = att.device()
    nip = att.employee(new_nip())
    for pin in ("46", "41235478"):
        att.enrol(serial, pin, nip)
    second = zk_seconds_of(datetime(2025, 6, 2, 16, 0, 0))
    forms = [
        ("cdata?table=ATTLOG&Stamp=1", "46\t2025-06-02 07:00:00\t0\t1\t0\t0\t0\t0\t0\t0\t501\n"),  # [ADMS]
        ("cdata?table=rtlog", RTLOG),  # [V3L]
        ("cdata?table=tabledata&tablename=transaction",
         f"transaction cardno=0\tpin=46\tverified=1\tdoorid=1\teventtype=0\tinoutstate=1\ttime_second={second}\n"),
        ("querydata?type=tabledata&tablename=ATTLOG&count=1", "46\t2025-06-02 12:00:00\t2\t1\t0\n"),  # [SDK]
    ]
    acknowledged = 0
    for _ in range(2):
        for query, body in forms:
            response = _post(att, serial, query, body)
            assert response.status_code == 200
            text = response.data.decode()
            acknowledged += int(text.rsplit(":", 1)[1]) if text.startswith("OK:") else 0
    att.work()
    assert acknowledged == 2
    punches = att.punches(nip, date(2025, 6, 2)) + att.punches(nip, date(2026, 9, 28))
    assert sorted(p["local_time"] for p in punches) == [
        "2025-06-02T07:00:00", "2025-06-02T12:00:00", "2025-06-02T16:00:00", "2026-09-28T11:40:45"]
    assert sorted(len(e.data["punch_ids"]) for e in att.outbox("attendance.day.built")) == [1, 3]  # both days built


def test_a_body_over_the_limit_is_refused_before_it_is_read(att):
    """Issue 11: a device body larger than ATTENDANCE_MAX_DEVICE_BODY_BYTES (4 MiB) is answered 413, unread."""
    serial = att.device()
    limit = att.client.application.extensions["kinerja"].service.max_device_body_bytes
    huge = b"46\t2025-01-29 06:58:48\t0\t15\t0\n" * (limit // 30 + 1)
    assert len(huge) > limit
    refused = _post(att, serial, "cdata?table=ATTLOG", huge)
    assert (refused.status_code, refused.data.decode()) == (413, f"ERROR: the body is larger than {limit} bytes")
    assert _raw_tables(att, serial) == []
    assert _post(att, serial, "cdata?table=ATTLOG", huge[:limit // 2]).status_code == 200


def test_a_serial_that_never_called_is_approved_only_by_an_explicit_pre_registration(att):
    """Issue 11: `POST /devices/0/approve` with a stray body approved a device nobody had seen."""
    assert att.client.post("/devices/0/approve", json={"zone": "Asia/Jakarta"}, headers=att.admin).status_code == 404
    assert att.client.post("/devices/0/approve", json={"zone": "Asia/Jakarta", "x": 1}, headers=att.admin) \
        .status_code == 422  # a stray field is not a detail
    assert att.client.post("/devices", json={"device_serial": "CQUJ0001", "zone": "Asia/Jakarta"},
                           headers=att.admin).status_code == 422  # where it hangs is part of the details
    made = att.client.post("/devices", json={"device_serial": "CQUJ0001", "zone": "Asia/Jakarta",
                                             "location": "Lobi Dinas Kesehatan"}, headers=att.admin)
    assert made.status_code == 201 and made.json["state"] == "approved"
    assert made.json["options"]["Location"] == "Lobi Dinas Kesehatan"
    again = att.client.post("/devices", json={"device_serial": "CQUJ0001", "zone": "Asia/Jakarta",
                                              "location": "Lobi"}, headers=att.admin)
    assert again.status_code == 409
