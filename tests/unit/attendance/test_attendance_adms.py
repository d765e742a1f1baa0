from datetime import datetime

import pytest

from attendance.domain.adms import (
    CommandResult,
    FingerprintEnrolment,
    UserInfo,
    parse_attlog,
    parse_devicecmd,
    parse_operlog,
    parse_options,
    parse_registry,
    render_commands,
    render_handshake,
    user_delete_command,
    user_update_command,
)

# The three lines captured from real devices (ADMS.md).
CAPTURED = (
    b"46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\n"
    b"8\t2025-01-29 12:10:17\t1\t1\t0\t0\t0\t0\t0\t0\t10902\n"
    b"11\t2025-08-27 10:57:49\t0\t25\t0\t0\t0\t0\t0\t0\n"
)


@pytest.mark.parametrize("index, pin, local_time, status, verify, sequence", [
    (0, "46", datetime(2025, 1, 29, 6, 58, 48), 0, 15, 10881),
    (1, "8", datetime(2025, 1, 29, 12, 10, 17), 1, 1, 10902),
    (2, "11", datetime(2025, 8, 27, 10, 57, 49), 0, 25, None),
])
def test_captured_attlog_lines_parse(index, pin, local_time, status, verify, sequence):
    batch = parse_attlog(CAPTURED)
    record = batch.records[index]
    assert (record.pin, record.local_time, record.status, record.verify, record.workcode, record.sequence) == (
        pin, local_time, status, verify, "0", sequence)
    assert batch.rejected == ()
    assert len(batch.records) == 3


@pytest.mark.parametrize("body", [
    CAPTURED.replace(b"\n", b"\r\n"),
    CAPTURED.rstrip(b"\n"),
    b"\n\r\n" + CAPTURED + b"\r\n   \n",
])
def test_line_endings_and_blank_lines_do_not_matter(body):
    batch = parse_attlog(body)
    assert [r.pin for r in batch.records] == ["46", "8", "11"]
    assert batch.rejected == ()
    assert batch.records[0].raw_line == "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881"


@pytest.mark.parametrize("fields, accepted", [
    (4, False),
    (5, True),
    (7, True),
    (11, True),
    (12, True),
    (16, True),  # TFT firmware: work code and tip codes (PUSH SDK 3.2, section 2.4.2)
    (17, False),
])
def test_field_count_between_five_and_sixteen(fields, accepted):
    values = (["46", "2025-01-29 06:58:48", "0", "1", "0", "0", "0", "0", "0", "0", "10881"] + ["7"] * 6)[:fields]
    batch = parse_attlog("\t".join(values).encode())
    assert (len(batch.records), len(batch.rejected)) == ((1, 0) if accepted else (0, 1))
    if accepted:  # only a line of exactly 11 fields ends with the device's record sequence
        assert batch.records[0].sequence == (10881 if fields == 11 else None)


def test_a_full_batch_of_128_records_is_kept():
    lines = [f"{pin}\t2025-01-29 07:{pin % 60:02d}:{pin // 60:02d}\t0\t1\t0\t0\t0\t0\t0\t0\t{1000 + pin}"
             for pin in range(128)]
    batch = parse_attlog("\r\n".join(lines).encode())
    assert len(batch.records) == 128
    assert [r.sequence for r in batch.records] == list(range(1000, 1128))
    assert batch.rejected == () and batch.duplicates == 0


@pytest.mark.parametrize("bad_line, reason_word", [
    (b"46\t2025-01-29 06:5", "fields"),                               # cut short by the network
    (b"46\t2025-01-29 06:58\t0\t15\t0", "time"),                      # truncated time
    (b"46\t2025-02-30 06:58:48\t0\t15\t0", "real date"),              # impossible date
    (b"46\t2025-01-29 06:58:48\tA\t15\t0", "status"),                 # non-numeric status
    (b"46\t2025-01-29 06:58:48\t0\tx\t0", "verify"),
    (b"\t2025-01-29 06:58:48\t0\t15\t0", "PIN"),                      # empty PIN
    (b"\x00\x13\xfe\xff\x89PNG", "UTF-8"),                            # garbage bytes
    (b"46\t2025-01-29 06:58:48\t0\t15\t\xc3\x28", "UTF-8"),           # invalid UTF-8 in workcode
    (b"46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10x81", "sequence"),
    (b"GET /iclock/cdata HTTP/1.1", "fields"),
])
def test_bad_lines_are_rejected_while_good_lines_beside_them_are_kept(bad_line, reason_word):
    body = b"1\t2025-01-29 07:01:00\t0\t1\t0\n" + bad_line + b"\n2\t2025-01-29 07:02:00\t0\t1\t0\n"
    batch = parse_attlog(body)
    assert [r.pin for r in batch.records] == ["1", "2"]
    [rejected] = batch.rejected
    assert rejected.line_no == 2
    assert reason_word in rejected.reason
    assert rejected.raw.startswith(bad_line[:2].decode("utf-8", "backslashreplace"))


def test_repeated_pin_and_time_inside_a_batch_is_kept_once():
    line = b"46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881\n"
    other_status = b"46\t2025-01-29 06:58:48\t1\t1\t0\n"
    batch = parse_attlog(line + line + other_status + b"46\t2025-01-29 06:58:49\t0\t15\t0\n")
    assert [(r.pin, r.local_time.second, r.sequence) for r in batch.records] == [("46", 48, 10881), ("46", 49, None)]
    assert batch.duplicates == 2


def test_operlog_users_fingerprints_and_operations():
    body = (
        "OPLOG 4\t0\t2025-01-29 06:58:48\t0\t0\t0\t0\n"
        "USER PIN=46\tName=Siti Aminah\tPri=14\tPasswd=9731\tCard=12345678\tGrp=1\tTZ=0000000100000000\n"
        "FP PIN=46\tFID=6\tSize=1020\tValid=1\tTMP=TWlTUzIxAAAD+gQECAUHCc7QAAAb+2kBAAAAg\n"
        "FP PIN=46\tFID=7\tSize=1020\tValid=1\tTMP=TWlTUzIxAAAD+gQECAUHCc7QAAAb+2kBAAAAh\n"
    ).encode()
    batch = parse_operlog(body)
    assert batch.users == (UserInfo("46", "Siti Aminah", 14, "12345678"),)
    assert batch.fingerprints == (FingerprintEnrolment("46", 6), FingerprintEnrolment("46", 7))
    [operation] = batch.operations
    assert (operation.operation, operation.admin, operation.local_time) == (4, "0", datetime(2025, 1, 29, 6, 58, 48))
    assert batch.rejected == ()
    assert "9731" not in repr(batch)  # the password is never kept; templates are, as opaque bytes
    assert [(t.pin, t.kind, t.index, t.data[-1:]) for t in batch.templates] == [("46", "fp", 6, b"g"),
                                                                              ("46", "fp", 7, b"h")]


@pytest.mark.parametrize("encoded_name", [
    "王小明".encode("gbk"),       # old Chinese firmware
    "王小明".encode("utf-8"),
])
def test_operlog_names_in_utf8_or_gbk(encoded_name):
    body = b"USER PIN=7\tName=" + encoded_name + b"\tPri=0\tPasswd=\tCard=\tGrp=1\n"
    assert parse_operlog(body).users == (UserInfo("7", "王小明", 0, ""),)


@pytest.mark.parametrize("line, reason_word", [
    (b"WORKPIC PIN=46\tFileName=46.jpg\tSize=1024\tContent=/9j/4AAQSkZJRgABAQ", "unknown"),
    (b"USER PIN=\tName=Anon\tPri=0\tPasswd=9876", "PIN"),
    (b"USER PIN=5\tName=Budi\tPri=admin\tPasswd=9876", "Pri"),
    (b"FP PIN=5\tFID=x\tSize=10\tValid=1\tTMP=SECRETTEMPLATE", "FID"),
    (b"OPLOG 4\t0\t2025-01-29", "time"),
    (b"OPLOG 4\t0", "fields"),
])
def test_operlog_unknown_or_broken_lines_are_rejected_without_secrets(line, reason_word):
    batch = parse_operlog(b"USER PIN=1\tName=Ani\tPri=0\n" + line)
    assert [u.pin for u in batch.users] == ["1"]
    [rejected] = batch.rejected
    assert reason_word in rejected.reason
    for secret in ("9876", "SECRETTEMPLATE", "/9j/4AAQ"):
        assert secret not in rejected.raw


@pytest.mark.parametrize("body, key, value", [
    (b"~DeviceName=K40/ID,MAC=00:17:61:12:34:56,TransactionCount=1234", "DeviceName", "K40/ID"),
    (b"~DeviceName=K40/ID,MAC=00:17:61:12:34:56,TransactionCount=1234", "MAC", "00:17:61:12:34:56"),
    (b"~DeviceName=Kantor Bupati, Lantai 2,~MaxUserCount=3000", "DeviceName", "Kantor Bupati, Lantai 2"),
    (b"~DeviceName=Kantor Bupati, Lantai 2,~MaxUserCount=3000", "MaxUserCount", "3000"),
    (b"~IPAddress=10.1.2.3,~Note=a,b,c,UserCount=42", "Note", "a,b,c"),
    (b"~IPAddress=10.1.2.3,~Note=a,b,c,UserCount=42", "UserCount", "42"),
    (b"~DeviceName=SpeedFace-V5L\r\nFWVersion=Ver 6.60 May 14 2018\r\n", "FWVersion", "Ver 6.60 May 14 2018"),
])
def test_options_keep_commas_inside_values(body, key, value):
    assert parse_options(body)[key] == value


def test_registry_body_of_push_3():
    body = (b"DeviceType=acc,~DeviceName=SpeedFace-V5L[TI],FirmVer=ZAM180-Ver1.1.17,"
            b"MultiBioDataSupport=0:0:0:0:0:0:0:0:1:1,~MaxUserCount=3000")
    assert parse_registry(body) == {
        "DeviceType": "acc", "DeviceName": "SpeedFace-V5L[TI]", "FirmVer": "ZAM180-Ver1.1.17",
        "MultiBioDataSupport": "0:0:0:0:0:0:0:0:1:1", "MaxUserCount": "3000",
    }


def test_devicecmd_results():
    body = (b"ID=17&Return=0&CMD=DATA\r\nID=18&Return=-1002&CMD=DATA\n"
            b"ID=19&Return=0&CMD=INFO\n~DeviceName=K40\nID=oops&Return=0\n")
    assert parse_devicecmd(body) == [
        CommandResult(17, 0, "DATA"), CommandResult(18, -1002, "DATA"), CommandResult(19, 0, "INFO", "~DeviceName=K40"),
    ]


@pytest.mark.parametrize("zone, offset_minutes, time_zone_line", [
    ("WIB", 7 * 60, "TimeZone=7"),
    ("WITA", 8 * 60, "TimeZone=8"),
    ("WIT", 9 * 60, "TimeZone=9"),
    ("India (half-hour)", 5 * 60 + 30, "TimeZone=330"),
])
def test_handshake_for_each_zone(zone, offset_minutes, time_zone_line):
    text = render_handshake("CQUJ123456789", {"ATTLOG": 10902, "OPERLOG": 55}, offset_minutes, "kinerja-0.1")
    lines = text.splitlines()
    assert lines[0] == "GET OPTION FROM: CQUJ123456789"
    for expected in ("ATTLOGStamp=10902", "Stamp=10902", "OPERLOGStamp=55", "OpStamp=55", "ErrorDelay=30",
                     "Delay=10", "TransTimes=00:00;14:05", "TransInterval=1",
                     "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tUserPic",
                     time_zone_line, "Realtime=1", "Encrypt=0", "ServerVer=kinerja-0.1",
                     "ATTPHOTOStamp=0", "PhotoStamp=0"):  # photos are asked for: a punch's evidence
        assert expected in lines


def test_handshake_of_a_new_device_starts_from_zero():
    lines = render_handshake("NEW1", {}, 480, "1").splitlines()
    assert {"ATTLOGStamp=0", "Stamp=0", "OPERLOGStamp=0", "OpStamp=0"} <= set(lines)


@pytest.mark.parametrize("serial", ["CQUJ1\nATTPHOTOStamp=1", "SN\t1"])
def test_handshake_refuses_a_serial_that_would_inject_options(serial):
    with pytest.raises(ValueError):
        render_handshake(serial, {}, 420, "1")


@pytest.mark.parametrize("commands, expected", [
    ([], "OK"),
    ([(17, user_update_command("46", "Siti"))], "C:17:DATA UPDATE USERINFO PIN=46\tName=Siti\tPrivilege=0\tCard=\n"),
    ([(18, user_delete_command("46")), (19, "INFO"), (20, "CHECK")],
     "C:18:DATA DELETE USERINFO PIN=46\nC:19:INFO\nC:20:CHECK\n"),
])
def test_render_commands(commands, expected):
    assert render_commands(commands) == expected


def test_user_update_with_privilege_and_card():
    assert user_update_command("7", "Budi Santoso", privilege=14, card="0012345678") == (
        "DATA UPDATE USERINFO PIN=7\tName=Budi Santoso\tPrivilege=14\tCard=0012345678")


@pytest.mark.parametrize("pin, name", [("46", "Siti\tPri=14"), ("46", "Siti\nC:99:CLEAR DATA"), ("4 6", "Siti")])
def test_user_update_refuses_values_that_would_forge_fields(pin, name):
    with pytest.raises(ValueError):
        user_update_command(pin, name)


@pytest.mark.parametrize("line", [b"USER PIN=9\tName=Ani\tPri=0", b"USER\tPIN=9\tName=Ani\tPri=0", b"USER Pin=9\tNAME=Ani"])
def test_operlog_user_line_variants_of_firmware(line):
    assert parse_operlog(line).users == (UserInfo("9", "Ani", 0, ""),)


def test_a_device_s_allowed_networks_are_normalised_and_checked():
    from attendance.domain.adms import address_allowed, allowed_networks
    assert allowed_networks([" 10.9.4.0/16", "10.9.0.0/16", "2001:DB8::/32", "192.168.1.7"]) == \
        ["10.9.0.0/16", "2001:db8::/32", "192.168.1.7/32"]
    with pytest.raises(ValueError, match="lobby"):
        allowed_networks(["10.0.0.0/8", "lobby"])
    assert address_allowed("203.0.113.9", None) and address_allowed("203.0.113.9", [])
    assert address_allowed("10.9.200.1", ["10.9.0.0/16"]) and not address_allowed("10.10.0.1", ["10.9.0.0/16"])
    assert address_allowed("::ffff:10.9.0.5", ["10.9.0.0/16"])  # an IPv4 caller seen through an IPv6 socket
    assert address_allowed("2001:db8::1", ["10.9.0.0/16", "2001:db8::/32"])
    assert not address_allowed(None, ["10.9.0.0/16"]) and not address_allowed("not-an-ip", ["10.9.0.0/16"])


def test_a_pending_device_is_told_to_wait_longer_after_a_refusal():
    from attendance.domain.adms import render_handshake
    assert "ErrorDelay=30\n" in render_handshake("SN1", {}, 420, "v")
    assert "ErrorDelay=300\n" in render_handshake("SN1", {}, 420, "v", error_delay=300)


def test_a_refusal_is_counted_by_its_reason_without_the_values_it_quotes():
    from attendance.domain.adms import parse_attlog, reason_kind
    batch = parse_attlog(b"46\t2025-01-29 07:41:02\t0\t15\t0\t0\t0\t0\t0\t0\tx501\r\n47\t2025-01-29\r\n48\t2025-01-30\r\n")
    kinds = {reason_kind(line.reason) for line in batch.rejected}
    assert len(batch.rejected) == 3 and len(kinds) == 2  # the two cut lines count as one reason
    assert not any(ch.isdigit() for kind in kinds for ch in kind) and "x501" not in " ".join(kinds)


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_a_firmware_sends_splits_the_body_into_its_records(end):
    from attendance.handlers.devices import count_attlog
    body = end.join(CAPTURED.splitlines()) + end
    parsed = parse_attlog(body)
    assert [r.pin for r in parsed.records] == ["46", "8", "11"] and not parsed.rejected
    assert count_attlog(body) == 3


def test_mixed_line_endings_keep_their_line_numbers():
    from attendance.domain.adms import split_lines
    assert split_lines(b"a\rb\r\nc\nd\r\r\ne") == [b"a", b"b", b"c", b"d", b"", b"e"]
    parsed = parse_attlog(b"46\t2025-01-29 06:58:48\t0\t15\t0\rcut\r\n\r8\t2025-01-29 12:10:17\t1\t1\t0\n")
    assert [r.pin for r in parsed.records] == ["46", "8"]
    assert [(r.line_no, r.raw) for r in parsed.rejected] == [(2, "cut")]


def _read(read_line, raw: bytes):
    """A line's record, or the reason it is refused."""
    from attendance.domain.adms import _Refused
    try:
        return read_line(raw)
    except _Refused as refusal:
        return ("refused", str(refusal))


def test_the_one_match_reading_of_a_plain_line_is_the_field_by_field_reading(monkeypatch):
    """Every line, plain or not, real date or not, reads as the field-by-field reading reads it; a plain line with a
    real date is read without it."""
    from attendance.domain import adms
    from attendance.domain.adms import _attlog_fields, _attlog_record
    times = [b"2025-01-29 06:58:48", b"2024-02-29 23:59:59", b"2025-02-29 08:00:00", b"2025-02-30 08:00:00",
             b"2025-13-01 08:00:00", b"2025-00-10 08:00:00", b"2025-01-00 08:00:00", b"0000-01-01 00:00:00",
             b"9999-12-31 23:59:59", b"2025-01-29 24:00:00", b"2025-01-29 23:60:00", b"2025-01-29 23:59:60",
             b"2025-1-29 06:58:48", b"2025-01-29T06:58:48", b"2025-01-29 06:58", b"2025-01-29 06:58:48.5",
             b"\xd9\xa2025-01-29 06:58:48", b" 2025-01-29 06:58:48"]
    tails = [b"\t0\t15\t0\t0\t0\t0\t0\t0\t10881", b"\t1\t1\t0", b"\t0\t25\t0\t0\t0\t0\t0\t0", b"\t-1\t2\tA7",
             b"\t0\t1\t0\t0\t0\t0\t0\t0\t1234567890123456789", b"\tx\t1\t0"]
    lines = [pin + b"\t" + time + tail for pin in (b"46", b"A1", b"0" * 25) for time in times for tail in tails]
    accepted = 0
    for raw in lines:
        assert _read(_attlog_record, raw) == _read(_attlog_fields, raw), raw
        accepted += not isinstance(_read(_attlog_record, raw), tuple)
    assert accepted >= 30  # real lines among them, read alike
    monkeypatch.setattr(adms, "_attlog_fields", None)
    assert _attlog_record(lines[0]) == _attlog_fields(lines[0])
