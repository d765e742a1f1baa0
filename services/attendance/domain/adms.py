"""The ADMS ("iclock") push protocol of fingerprint machines: parsing raw upload bodies, rendering replies.

Bodies are read as raw bytes, line by line, so one bad line never costs the good lines beside it.
An ATTLOG line needs 5 to 11 TAB-separated fields: PIN, local time `YYYY-MM-DD HH:MM:SS`, status,
verify, workcode, then reserved fields, the 11th being the device's record sequence. Fewer than 5 fields
is a cut line and is rejected, never guessed (every known firmware sends the workcode).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

MIN_ATTLOG_FIELDS = 5
MAX_ATTLOG_FIELDS = 11
SEQUENCE_FIELDS = 11  # the length of the lines that end with the device's record sequence
ERROR_DELAY_SECONDS = 30
DELAY_SECONDS = 10
TRANS_TIMES = "00:00;14:05"
TRANS_INTERVAL_MINUTES = 1
# No AttPhoto here and no ATTPHOTOStamp in the handshake: we never ask for photos.
TRANS_FLAG = "TransData AttLog\tOpLog\tEnrollUser\tChgUser"

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_PIN = re.compile(r"[0-9A-Za-z]{1,24}")
_NUMBER = re.compile(r"-?\d{1,9}", re.ASCII)
_UNSIGNED = re.compile(r"\d{1,18}", re.ASCII)
_PAIR_START = re.compile(r"~?[A-Za-z][A-Za-z0-9_]*=")
_SECRET_VALUE = re.compile(r"\b(passwd|tmp|content)=[^\t]*", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RAW_KEPT_CHARS = 200


@dataclass(frozen=True)
class RejectedLine:
    """A line kept aside: its 1-based line number, its text and why it was refused."""

    line_no: int
    raw: str
    reason: str


@dataclass(frozen=True)
class AttlogRecord:
    """One punch as the device sent it; `local_time` is the device's naive local time."""

    pin: str
    local_time: datetime
    status: int
    verify: int
    workcode: str
    sequence: int | None
    raw_line: str


@dataclass(frozen=True)
class AttlogBatch:
    """An ATTLOG upload: distinct records, rejected lines, and how many lines repeated a (pin, time) pair."""

    records: tuple[AttlogRecord, ...]
    rejected: tuple[RejectedLine, ...]
    duplicates: int


@dataclass(frozen=True)
class OperationLog:
    """An `OPLOG` line: an operation code done by an admin on the device at local time."""

    operation: int
    admin: str
    local_time: datetime
    objects: tuple[str, ...]


@dataclass(frozen=True)
class UserInfo:
    """A `USER` line: the person enrolled under a PIN (the password is never kept)."""

    pin: str
    name: str
    privilege: int
    card: str


@dataclass(frozen=True)
class FingerprintEnrolment:
    """An `FP` line reduced to who and which finger; the template itself is never kept."""

    pin: str
    finger_id: int


@dataclass(frozen=True)
class OperlogBatch:
    """An OPERLOG upload, by kind of line."""

    operations: tuple[OperationLog, ...]
    users: tuple[UserInfo, ...]
    fingerprints: tuple[FingerprintEnrolment, ...]
    rejected: tuple[RejectedLine, ...]


@dataclass(frozen=True)
class CommandResult:
    """A device's answer to a queued command: 0 ok, -1 unsupported, -1002 syntax error."""

    id: int
    return_code: int
    cmd: str


class _Refused(ValueError):
    """A line that cannot be read; its message is the reason."""


def parse_attlog(body: bytes) -> AttlogBatch:
    """Parse an ATTLOG upload; bad lines are rejected with a reason, repeats of (pin, time) dropped."""
    records: dict[tuple[str, datetime], AttlogRecord] = {}
    rejected: list[RejectedLine] = []
    duplicates = 0
    for line_no, raw in _lines(body):
        try:
            record = _attlog_record(raw)
        except _Refused as refusal:
            rejected.append(RejectedLine(line_no, _shown(raw), str(refusal)))
            continue
        key = (record.pin, record.local_time)
        if key in records:
            duplicates += 1
        else:
            records[key] = record
    return AttlogBatch(tuple(records.values()), tuple(rejected), duplicates)


# The plain form of an ATTLOG line (ASCII, no padding): PIN, time, status, verify, workcode, then plain
# fields. A line of this form is read here in one match; any other goes through the field-by-field reading
# below, which gives the same record for a plain line and the reason for a bad one.
_PLAIN_ATTLOG = re.compile(rb"([0-9A-Za-z]{1,24})\t(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})"
                           rb"\t(-?\d{1,9})\t(-?\d{1,9})\t([0-9A-Za-z]*)((?:\t[0-9A-Za-z]*)*)")


def _attlog_record(raw: bytes) -> AttlogRecord:
    plain = _PLAIN_ATTLOG.fullmatch(raw)
    if plain is not None:
        pin, year, month, day, hour, minute, second, status, verify, workcode, rest = plain.groups()
        more = rest.split(b"\t")[1:]
        count = MIN_ATTLOG_FIELDS + len(more)
        sequence = more[SEQUENCE_FIELDS - MIN_ATTLOG_FIELDS - 1] if count == SEQUENCE_FIELDS else b""
        if count <= MAX_ATTLOG_FIELDS and (not sequence or sequence.isdigit() and len(sequence) <= 18):
            try:
                local_time = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
            except ValueError:
                pass  # not a real date: the reading below says so
            else:
                return AttlogRecord(pin.decode(), local_time, int(status), int(verify), workcode.decode(),
                                    int(sequence) if sequence else None, raw.decode())
    return _attlog_fields(raw)


def _attlog_fields(raw: bytes) -> AttlogRecord:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("not valid UTF-8") from None
    fields = [field.strip() for field in line.split("\t")]
    if len(fields) < MIN_ATTLOG_FIELDS:
        raise _Refused(f"{len(fields)} fields, at least {MIN_ATTLOG_FIELDS} expected (cut line)")
    if len(fields) > MAX_ATTLOG_FIELDS:
        raise _Refused(f"{len(fields)} fields, at most {MAX_ATTLOG_FIELDS} expected")
    pin, when, status, verify, workcode = fields[:MIN_ATTLOG_FIELDS]
    sequence = fields[SEQUENCE_FIELDS - 1] if len(fields) == SEQUENCE_FIELDS else ""
    if sequence and not _UNSIGNED.fullmatch(sequence):
        raise _Refused(f"sequence {sequence!r} is not a number")
    return AttlogRecord(
        pin=_pin(pin),
        local_time=_local_time(when),
        status=_number(status, "status"),
        verify=_number(verify, "verify"),
        workcode=workcode,
        sequence=int(sequence) if sequence else None,
        raw_line=line,
    )


def parse_operlog(body: bytes) -> OperlogBatch:
    """Parse an OPERLOG upload (OPLOG, USER and FP lines); other lines are rejected with a reason."""
    operations: list[OperationLog] = []
    users: list[UserInfo] = []
    fingerprints: list[FingerprintEnrolment] = []
    rejected: list[RejectedLine] = []
    for line_no, raw in _lines(body):
        try:
            line = _decode_legacy(raw)
            kind, rest = _kind_and_rest(line)
            if kind == "OPLOG":
                operations.append(_operation(rest))
            elif kind == "USER":
                users.append(_user(rest))
            elif kind == "FP":
                fingerprints.append(_fingerprint(rest))
            else:
                raise _Refused(f"unknown line type {kind[:20]!r}")
        except _Refused as refusal:
            rejected.append(RejectedLine(line_no, _redacted(_shown(raw)), str(refusal)))
    return OperlogBatch(tuple(operations), tuple(users), tuple(fingerprints), tuple(rejected))


def _kind_and_rest(line: str) -> tuple[str, str]:
    """The line type (`OPLOG`, `USER`, `FP`) and what follows its first space or TAB."""
    kind, *rest = re.split(r"[ \t]", line, maxsplit=1)
    return kind, rest[0] if rest else ""


def _operation(rest: str) -> OperationLog:
    fields = [field.strip() for field in rest.split("\t")]
    if len(fields) < 3:
        raise _Refused(f"OPLOG with {len(fields)} fields, at least 3 expected")
    operation, admin, when, *objects = fields
    return OperationLog(_number(operation, "operation"), admin, _local_time(when), tuple(objects))


def _user(rest: str) -> UserInfo:
    pairs = _tab_pairs(rest)
    privilege = pairs.get("pri", "0") or "0"
    return UserInfo(
        pin=_pin(pairs.get("pin", "")),
        name=pairs.get("name", "").strip("\x00 "),
        privilege=_number(privilege, "Pri"),
        card=pairs.get("card", ""),
    )


def _fingerprint(rest: str) -> FingerprintEnrolment:
    pairs = _tab_pairs(rest)
    return FingerprintEnrolment(_pin(pairs.get("pin", "")), _number(pairs.get("fid", ""), "FID"))


def _tab_pairs(rest: str) -> dict[str, str]:
    """`Key=value` fields separated by TAB, keys lower-cased (firmware varies: PIN/Pin)."""
    pairs = {}
    for field in rest.split("\t"):
        key, _, value = field.partition("=")
        pairs[key.strip().lower()] = value.strip()
    return pairs


def parse_options(body: bytes) -> dict[str, str]:
    """Parse a `table=options` upload (`~DeviceName=..,MAC=..,~MaxUserCount=..`) into keys without `~`."""
    return _comma_pairs(body)


def parse_registry(body: bytes) -> dict[str, str]:
    """Parse a push 3.x `/iclock/registry` body (`DeviceType=acc,~DeviceName=..,FirmVer=..`)."""
    return _comma_pairs(body)


def _comma_pairs(body: bytes) -> dict[str, str]:
    """Comma- or line-separated `Key=value` pairs.

    A comma starts a new pair only when a `Key=` or `~Key=` follows it; otherwise it belongs to the value
    (`~DeviceName=Kantor Bupati, Lantai 2`). Real bodies mix `~`-prefixed and plain keys, so splitting
    only before `~` would swallow `MAC=`, `UserCount=` and the like into the previous value.
    """
    pairs: dict[str, str] = {}
    for line in _decode_legacy(body, strict=False).splitlines():
        key = None
        for chunk in line.split(","):
            start = _PAIR_START.match(chunk.lstrip())
            if start:
                key, _, value = chunk.lstrip().partition("=")
                key = key.lstrip("~")
                pairs[key] = value.strip()
            elif key is not None:
                pairs[key] = f"{pairs[key]},{chunk}".strip()
    return pairs


def parse_devicecmd(body: bytes) -> list[CommandResult]:
    """Parse `/iclock/devicecmd` results (`ID=17&Return=0&CMD=DATA` a line); other lines are ignored."""
    results = []
    for _, raw in _lines(body):
        line = raw.decode("utf-8", "replace").strip()
        pairs = dict(field.partition("=")[::2] for field in line.split("&"))
        if _UNSIGNED.fullmatch(pairs.get("ID", "")) and _NUMBER.fullmatch(pairs.get("Return", "")):
            results.append(CommandResult(int(pairs["ID"]), int(pairs["Return"]), pairs.get("CMD", "")))
    return results


def render_handshake(serial: str, stamps: Mapping[str, int], tz_offset_minutes: int, server_version: str) -> str:
    """The option block answering `GET /iclock/cdata?options=all`.

    `stamps` maps a table ("ATTLOG", "OPERLOG") to the last stamp stored for this device (0 when absent);
    both the new and the old key names are sent. TimeZone is in hours for whole-hour zones, else minutes.
    """
    _check_line_safe(serial, "serial")
    _check_line_safe(server_version, "server_version")
    attlog_stamp, operlog_stamp = int(stamps.get("ATTLOG", 0)), int(stamps.get("OPERLOG", 0))
    hours, minutes = divmod(tz_offset_minutes, 60)
    time_zone = hours if minutes == 0 else tz_offset_minutes
    lines = [
        f"GET OPTION FROM: {serial}",
        f"ATTLOGStamp={attlog_stamp}",
        f"Stamp={attlog_stamp}",
        f"OPERLOGStamp={operlog_stamp}",
        f"OpStamp={operlog_stamp}",
        f"ErrorDelay={ERROR_DELAY_SECONDS}",
        f"Delay={DELAY_SECONDS}",
        f"TransTimes={TRANS_TIMES}",
        f"TransInterval={TRANS_INTERVAL_MINUTES}",
        f"TransFlag={TRANS_FLAG}",
        f"TimeZone={time_zone}",
        "Realtime=1",
        "Encrypt=None",
        f"ServerVer={server_version}",
    ]
    return "\n".join(lines) + "\n"


def render_commands(commands: Iterable[tuple[int, str]]) -> str:
    """The `/iclock/getrequest` reply: a `C:<id>:<command>` line per command, or `OK` when none is queued."""
    lines = []
    for command_id, text in commands:
        if "\n" in text or "\r" in text:
            raise ValueError(f"command {command_id} spans several lines")
        lines.append(f"C:{int(command_id)}:{text}\n")
    return "".join(lines) or "OK"


def user_update_command(pin: str, name: str, privilege: int = 0, card: str = "") -> str:
    """The command that creates or updates a user on a device."""
    for value, field in ((name, "name"), (card, "card")):
        _check_line_safe(value, field)
    return f"DATA UPDATE USERINFO PIN={_pin(pin)}\tName={name}\tPrivilege={int(privilege)}\tCard={card}"


def user_delete_command(pin: str) -> str:
    """The command that removes a user from a device."""
    return f"DATA DELETE USERINFO PIN={_pin(pin)}"


def _lines(body: bytes) -> Iterable[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers, LF or CRLF."""
    for line_no, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if raw.strip():
            yield line_no, raw


def _decode_legacy(raw: bytes, strict: bool = True) -> str:
    """UTF-8, else GBK (old Chinese firmware); `strict=False` replaces what neither can read."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        if strict:
            raise _Refused("neither UTF-8 nor GBK") from None
        return raw.decode("utf-8", "replace")


def _pin(value: str) -> str:
    if not _PIN.fullmatch(value):
        raise _Refused(f"PIN {value[:30]!r} is not 1 to 24 letters or digits")
    return value


def _local_time(value: str) -> datetime:
    match = _TIME.fullmatch(value)
    if not match:
        raise _Refused(f"time {value[:30]!r} is not YYYY-MM-DD HH:MM:SS")
    try:
        return datetime(*(int(part) for part in match.groups()))
    except ValueError:
        raise _Refused(f"time {value!r} is not a real date and time") from None


def _number(value: str, field: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise _Refused(f"{field} {value[:30]!r} is not a number")
    return int(value)


def _shown(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")[:_RAW_KEPT_CHARS]


def _redacted(text: str) -> str:
    """Rejected OPERLOG lines may hold passwords, templates or photos: keep none of them."""
    return _SECRET_VALUE.sub(lambda m: f"{m.group(1)}=<redacted>", text)


def _check_line_safe(value: str, field: str) -> None:
    """A TAB or line break in a value would forge another field or command on the device."""
    if _CONTROL.search(value):
        raise ValueError(f"{field} must not contain control characters")
