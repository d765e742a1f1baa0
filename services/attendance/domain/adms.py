"""The ADMS ("iclock") push protocol of fingerprint machines: parsing raw upload bodies, rendering replies.

Bodies are read as raw bytes, line by line, so one bad line never costs the good lines beside it.
An ATTLOG line needs 5 to 16 TAB-separated fields (PUSH SDK: TFT firmware sends work and tip codes up
to 16): PIN, local time `YYYY-MM-DD HH:MM:SS`, status, verify, workcode, then reserved fields; on a line
of exactly 11 the 11th is the device's record sequence. Fewer than 5 fields is a cut line and is
rejected, never guessed (every known firmware sends the workcode).

Push 3.x sends `key=value` fields instead (`rtlog`, `tabledata` user/biodata/transaction, `querydata`):
`parse_keyed_punches`, `parse_users`, `parse_templates` read them whatever the letter case of the keys.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .records import set_attributes

MIN_ATTLOG_FIELDS = 5
MAX_ATTLOG_FIELDS = 16
SEQUENCE_FIELDS = 11  # the length of the lines that end with the device's record sequence
ERROR_DELAY_SECONDS = 30
DELAY_SECONDS = 10
TRANS_TIMES = "00:00;14:05"
TRANS_INTERVAL_MINUTES = 1
TRANS_FLAG = "TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tUserPic"

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_PIN = re.compile(r"[0-9A-Za-z]{1,24}")
_NUMBER = re.compile(r"-?\d{1,9}", re.ASCII)
_UNSIGNED = re.compile(r"\d{1,18}", re.ASCII)
_PAIR_START = re.compile(r"~?[A-Za-z][A-Za-z0-9_]*=")
_SECRET_VALUE = re.compile(r"\b(passwd|tmp|content)=[^\t]*", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RAW_KEPT_CHARS = 200


def reason_kind(reason: str) -> str:
    """A refusal's reason without the values it quotes (numbers, quoted text): a bounded label to count by."""
    kind = re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", reason)
    kind = re.sub(r"\d+", "N", kind)
    return kind[:80]


@dataclass(frozen=True)
class RejectedLine:
    """A line kept aside: its 1-based line number, its text and why it was refused."""

    line_no: int
    raw: str
    reason: str


@dataclass(frozen=True, init=False)
class AttlogRecord:
    """One punch as the device sent it; `local_time` is the device's naive local time."""

    pin: str
    local_time: datetime
    status: int
    verify: int
    workcode: str
    sequence: int | None
    raw_line: str

    def __init__(self, pin: str, local_time: datetime, status: int, verify: int, workcode: str, sequence: int | None,
                 raw_line: str):
        set_attributes(self, {"pin": pin, "local_time": local_time, "status": status, "verify": verify,
                              "workcode": workcode, "sequence": sequence, "raw_line": raw_line})  # one a line


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
    """An `FP` line reduced to who and which finger."""

    pin: str
    finger_id: int


@dataclass(frozen=True)
class Template:
    """Biometric data a device holds for a PIN, kept as an opaque blob: a fingerprint (`fp`), a face
    (`face`), a unified 3.x template (`biodata-<type>`) or a user photo (`userpic`)."""

    pin: str
    kind: str
    index: int
    data: bytes


@dataclass(frozen=True)
class OperlogBatch:
    """An OPERLOG upload, by kind of line."""

    operations: tuple[OperationLog, ...]
    users: tuple[UserInfo, ...]
    fingerprints: tuple[FingerprintEnrolment, ...]
    rejected: tuple[RejectedLine, ...]
    templates: tuple[Template, ...] = ()


@dataclass(frozen=True)
class PhotoUpload:
    """An ATTPHOTO upload: the photo a device took at a punch (`<yyyymmddHHMMSS>-<pin>.jpg`)."""

    pin: str
    local_time: datetime
    photo: bytes


@dataclass(frozen=True)
class CommandResult:
    """A device's answer to a queued command: 0 ok, -1 unsupported, -1002 syntax error; `output` holds the
    lines that came with it (INFO's options, GET OPTION's values), as sent."""

    id: int
    return_code: int
    cmd: str
    output: str = ""


class _Refused(ValueError):
    """A line that cannot be read; its message is the reason."""


def parse_attlog(body: bytes) -> AttlogBatch:
    """Parse an ATTLOG upload; bad lines are rejected with a reason, repeats of (pin, time) dropped."""
    return _punch_batch(body, _attlog_record)


def _punch_batch(body: bytes, read_line) -> AttlogBatch:
    """Each non-blank line read by `read_line` (raw bytes -> AttlogRecord, or _Refused): the distinct records,
    the lines refused with their reason, and how many lines repeated a (pin, time) pair."""
    records: dict[tuple[str, datetime], AttlogRecord] = {}
    rejected: list[RejectedLine] = []
    duplicates = 0
    for line_no, raw in _lines(body):
        try:
            record = read_line(raw)
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
_PLAIN_ATTLOG = re.compile(rb"([0-9A-Za-z]{1,24})\t(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"
                           rb"\t(-?\d{1,9})\t(-?\d{1,9})\t([0-9A-Za-z]*)((?:\t[0-9A-Za-z]*)*)")


def _attlog_record(raw: bytes) -> AttlogRecord:
    plain = _PLAIN_ATTLOG.fullmatch(raw)
    if plain is not None:
        pin, when, status, verify, workcode, rest = plain.groups()
        more = rest.split(b"\t")[1:]
        count = MIN_ATTLOG_FIELDS + len(more)
        sequence = more[SEQUENCE_FIELDS - MIN_ATTLOG_FIELDS - 1] if count == SEQUENCE_FIELDS else b""
        if count <= MAX_ATTLOG_FIELDS and (not sequence or sequence.isdigit() and len(sequence) <= 18):
            try:  # the time's digits in `fromisoformat`'s form: one call, the same ranges checked as `datetime()`
                local_time = datetime.fromisoformat(when.decode())
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
    templates: list[Template] = []
    rejected: list[RejectedLine] = []
    for line_no, raw in _lines(body):
        try:
            line = _decode_legacy(raw)
            kind, rest = _kind_and_rest(line)
            kind = kind.upper()
            if kind == "OPLOG":
                operations.append(_operation(rest))
            elif kind in ("USER", "USERINFO"):
                users.append(_user(rest))
            elif kind == "FP":
                fingerprints.append(_fingerprint(rest))
                templates.append(_template(_tab_pairs(rest), "fp", "fid"))
            elif kind == "FACE":
                templates.append(_template(_tab_pairs(rest), "face", "fid"))
            elif kind in ("BIODATA", "USERPIC", "BIOPHOTO"):
                templates.append(_keyed_template(kind, _tab_pairs(rest)))
            else:
                raise _Refused(f"unknown line type {kind[:20]!r}")
        except _Refused as refusal:
            rejected.append(RejectedLine(line_no, _redacted(_shown(raw)), str(refusal)))
    return OperlogBatch(tuple(operations), tuple(users), tuple(fingerprints), tuple(rejected), tuple(templates))


def _template(pairs: dict[str, str], kind: str, index_key: str) -> Template:
    index = pairs.get(index_key, "0") or "0"
    data = pairs.get("tmp") or pairs.get("content") or ""
    if not data:
        raise _Refused(f"{kind} line without its template")
    return Template(_pin(pairs.get("pin", "")), kind, _number(index, index_key.upper()), data.encode("ascii", "replace"))


def _keyed_template(kind: str, pairs: dict[str, str]) -> Template:
    if kind == "BIODATA":
        return _template(pairs, f"biodata-{_number(pairs.get('type', '0') or '0', 'Type')}", "no")
    return _template(pairs, "userpic" if kind == "USERPIC" else f"biophoto-{pairs.get('type', '0')}", "no")


def parse_users(body: bytes) -> tuple[tuple[UserInfo, ...], tuple[RejectedLine, ...]]:
    """Push 3.x `tabledata`/`querydata` user lines (`user uid=1\tcardno=\tpin=1\t...\tname=..\tprivilege=0`)."""
    users, rejected = [], []
    for line_no, raw in _lines(body):
        try:
            users.append(_user(_without_kind(_decode_legacy(raw), ("user", "userinfo"))))
        except _Refused as refusal:
            rejected.append(RejectedLine(line_no, _redacted(_shown(raw)), str(refusal)))
    return tuple(users), tuple(rejected)


def parse_templates(body: bytes, kind: str) -> tuple[tuple[Template, ...], tuple[RejectedLine, ...]]:
    """Push 3.x `biodata` (unified templates) or `biophoto`/`userpic` lines: one opaque template per line."""
    templates, rejected = [], []
    for line_no, raw in _lines(body):
        try:
            rest = _without_kind(_decode_legacy(raw), (kind.lower(),))
            templates.append(_keyed_template(kind.upper(), _tab_pairs(rest)))
        except _Refused as refusal:
            rejected.append(RejectedLine(line_no, _redacted(_shown(raw)), str(refusal)))
    return tuple(templates), tuple(rejected)


def _without_kind(line: str, kinds: tuple[str, ...]) -> str:
    """The `key=value` fields of a line, without its leading table word (`user `, `biodata `) when present."""
    kind, rest = _kind_and_rest(line)
    return rest if kind.lower() in kinds and "=" not in kind else line


# Push 3.x encodes `time_second` as seconds since 2000 with 31-day months (PUSH SDK 3.x, appendix).
def _zk_time(value: str) -> datetime:
    if not _UNSIGNED.fullmatch(value):
        raise _Refused(f"time_second {value[:30]!r} is not a number")
    seconds = int(value)
    days, second = divmod(seconds, 86400)
    months, day = divmod(days, 31)
    year, month = divmod(months, 12)
    try:
        return datetime(2000 + year, month + 1, day + 1, second // 3600, second // 60 % 60, second % 60)
    except ValueError:
        raise _Refused(f"time_second {value!r} is not a real date and time") from None


def parse_keyed_punches(body: bytes) -> AttlogBatch:
    """Push 3.x attendance as `key=value` fields: `rtlog` lines (`time=`, `pin=`, `inoutstatus=`,
    `verifytype=`, `event=`, `index=`) and `transaction` lines (`pin=`, `verified=`, `inoutstate=`,
    `time_second=`). Fields are TAB-separated (some firmware uses commas). A line with no user (PIN 0:
    a door or alarm event) is kept aside, not taken for a punch."""
    return _punch_batch(body, lambda raw: _keyed_punch(_decode_legacy(raw)))


def _keyed_punch(line: str) -> AttlogRecord:
    rest = _without_kind(line, ("transaction", "rtlog"))
    fields = rest.split("\t") if "\t" in rest else rest.split(",")
    pairs = {}
    for field in fields:
        key, _, value = field.partition("=")
        pairs[key.strip().lower()] = value.strip()
    pin = pairs.get("pin", "")
    if pin in ("", "0"):
        raise _Refused(f"no user (event {pairs.get('event', pairs.get('eventtype', '?'))[:10]}): not a punch")
    if pairs.get("time"):
        local_time = _local_time(pairs["time"])
    elif pairs.get("time_second"):
        local_time = _zk_time(pairs["time_second"])
    else:
        raise _Refused("no time")
    status = pairs.get("inoutstatus", pairs.get("inoutstate", "0")) or "0"
    verify = pairs.get("verifytype", pairs.get("verified", "0")) or "0"
    return AttlogRecord(pin=_pin(pin), local_time=local_time, status=_number(status, "inoutstatus"),
                        verify=_number(verify, "verifytype"), workcode=pairs.get("workcode", ""), sequence=None,
                        raw_line=line)


_PHOTO_NAME = re.compile(rb"(\d{14})-([0-9A-Za-z]{1,24})\.jpg", re.ASCII)


def parse_attphoto(body: bytes) -> PhotoUpload:
    """An ATTPHOTO upload: header lines (`PIN=<yyyymmddHHMMSS>-<pin>.jpg`, `SN=`, `size=`, `CMD=uploadphoto`),
    a NUL, then the JPEG bytes. Raises ValueError when the header or the photo is missing."""
    header, nul, photo = body.partition(b"\x00")
    if not nul:
        start = body.find(b"\xff\xd8")  # no NUL: the JPEG starts at its SOI marker
        header, photo = (body[:start], body[start:]) if start >= 0 else (body, b"")
    match = _PHOTO_NAME.search(header)
    if match is None:
        raise ValueError("no PIN=<yyyymmddHHMMSS>-<pin>.jpg header")
    if not photo:
        raise ValueError("no photo after the header")
    try:
        local_time = datetime.strptime(match.group(1).decode(), "%Y%m%d%H%M%S")
    except ValueError:
        raise ValueError(f"{match.group(1).decode()} is not a real date and time") from None
    return PhotoUpload(match.group(2).decode(), local_time, photo)


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
    privilege = pairs.get("pri", pairs.get("privilege", "0")) or "0"
    return UserInfo(
        pin=_pin(pairs.get("pin", "")),
        name=pairs.get("name", "").strip("\x00 "),
        privilege=_number(privilege, "Pri"),
        card=pairs.get("card", pairs.get("cardno", "")),
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
    """Parse `/iclock/devicecmd` results: `ID=17&Return=0&CMD=DATA` a line, or one result over several lines
    (`ID=17`, `Return=0`, `CMD=INFO`, then the command's output lines until the next `ID=`). A result
    without a numeric ID and Return is ignored."""
    results = []
    current: dict | None = None

    def close():
        if current and _UNSIGNED.fullmatch(current.get("ID", "")) and _NUMBER.fullmatch(current.get("Return", "")):
            results.append(CommandResult(int(current["ID"]), int(current["Return"]), current.get("CMD", ""),
                                         "\n".join(current["output"])))

    for _, raw in _lines(body):
        line = _decode_legacy(raw, strict=False).strip()
        key, _, value = line.partition("=")
        if key == "ID" and "&" in value:
            close()
            pairs = dict(field.partition("=")[::2] for field in line.split("&"))
            current = {"ID": pairs.get("ID", ""), "Return": pairs.get("Return", ""), "CMD": pairs.get("CMD", ""),
                       "output": []}
        elif key == "ID":
            close()
            current = {"ID": value.strip(), "output": []}
        elif current is not None and key in ("Return", "CMD") and key not in current:
            current[key] = value.strip()
        elif current is not None:
            current["output"].append(line)
    close()
    return results


def zk_seconds_of(moment: datetime) -> int:
    """A naive date-time in the push 3.x encoding (`time_second`, `DateTime`): seconds since 2000 with
    31-day months."""
    return (((moment.year - 2000) * 12 + moment.month - 1) * 31 + moment.day - 1) * 86400 + \
        moment.hour * 3600 + moment.minute * 60 + moment.second


def render_handshake(serial: str, stamps: Mapping[str, int | str], tz_offset_minutes: int,
                     server_version: str, error_delay: int = ERROR_DELAY_SECONDS) -> str:
    """The option block answering `GET /iclock/cdata?options=all`.

    `stamps` maps a table ("ATTLOG", "OPERLOG") to the last stamp stored for this device (0 when absent): a
    number, or the date-time some firmware counts in; both the new and the old key names are sent.
    TimeZone is in hours for whole-hour zones, else minutes. `ATTPHOTOStamp` asks for attendance photos
    (the evidence of a punch). `error_delay` is how long the device waits after a refused request.
    """
    _check_line_safe(serial, "serial")
    _check_line_safe(server_version, "server_version")
    attlog_stamp, operlog_stamp, photo_stamp = (str(stamps.get(t, 0)) for t in ("ATTLOG", "OPERLOG", "ATTPHOTO"))
    for stamp in (attlog_stamp, operlog_stamp, photo_stamp):
        _check_line_safe(stamp, "stamp")
    hours, minutes = divmod(tz_offset_minutes, 60)
    time_zone = hours if minutes == 0 else tz_offset_minutes
    lines = [
        f"GET OPTION FROM: {serial}",
        f"ATTLOGStamp={attlog_stamp}",
        f"Stamp={attlog_stamp}",
        f"OPERLOGStamp={operlog_stamp}",
        f"OpStamp={operlog_stamp}",
        f"ATTPHOTOStamp={photo_stamp}",
        f"PhotoStamp={photo_stamp}",
        f"ErrorDelay={error_delay}",
        f"Delay={DELAY_SECONDS}",
        f"TransTimes={TRANS_TIMES}",
        f"TransInterval={TRANS_INTERVAL_MINUTES}",
        f"TransFlag={TRANS_FLAG}",
        f"TimeZone={time_zone}",
        "Realtime=1",
        "Encrypt=0",
        f"ServerVer={server_version}",
    ]
    return "\n".join(lines) + "\n"


def allowed_networks(networks: Iterable[str]) -> list[str]:
    """The CIDR list a device may call from, normalised (`10.1.2.0/24`, `2001:db8::/32`); ValueError naming
    the first entry that is not a network."""
    normalised = []
    for network in networks:
        try:
            normalised.append(str(ipaddress.ip_network(str(network).strip(), strict=False)))
        except ValueError:
            raise ValueError(f"not a network: {network!r} (write it like 10.1.2.0/24)") from None
    return list(dict.fromkeys(normalised))


def address_allowed(address: str | None, networks: Iterable[str] | None) -> bool:
    """Whether a caller at `address` may speak for a device limited to `networks` (None or empty: anywhere)."""
    if not networks:
        return True
    try:
        caller = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    caller = getattr(caller, "ipv4_mapped", None) or caller
    return any(caller in ipaddress.ip_network(network, strict=False) for network in networks)


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


def enrolment_command(pin: str, name: str) -> str:
    """The command that puts an enrolled person on a device, the name cut to what a device shows."""
    return user_update_command(pin, _CONTROL.sub(" ", name)[:24])


def user_delete_command(pin: str) -> str:
    """The command that removes a user from a device."""
    return f"DATA DELETE USERINFO PIN={_pin(pin)}"


def split_lines(body: bytes) -> list[bytes]:
    """The lines of a body without their ends: LF, CRLF or a bare CR (firmware differs; a CR-only body read
    as one line would lose every record in it)."""
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return body.split(b"\n")


def has_lines(body: bytes) -> bool:
    """Whether the body holds any non-blank line."""
    return any(line.strip() for line in split_lines(body))


def _lines(body: bytes) -> Iterable[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers (see `split_lines`)."""
    for line_no, raw in enumerate(split_lines(body), start=1):
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


# --- commands an operator sends from the API ----------------------------------------------------------------

COMMAND_KINDS = ("INFO", "CHECK", "LOG", "CLEAR_LOG", "REBOOT", "SET_OPTION", "GET_OPTION", "DATA_QUERY", "ENROLL")
_OPTION_NAME = re.compile(r"~?[A-Za-z][A-Za-z0-9_]{0,63}")
# push 2.x table names of `DATA QUERY` for the 3.x names an operator uses
_QUERY_TABLES_2X = {"user": "USERINFO", "transaction": "ATTLOG", "biodata": "FINGERTMP", "userpic": "USERPIC"}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class CommandRefused(ValueError):
    """A command that cannot be sent as asked; `field` names the parameter at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def render_device_command(kind: str, params: Mapping[str, object], push3: bool) -> str:
    """The command line for an operator's request (PUSH SDK wording; push 3.x where the two protocols differ).

    - INFO, CHECK, REBOOT, CLEAR_LOG (`CLEAR LOG`): no parameters;
    - LOG: `since` (and optional `until`) as naive device-local date-times: the device re-sends its
      attendance log of that period (`DATA QUERY ATTLOG StartTime=..\\tEndTime=..`), the way to fill a gap;
    - SET_OPTION: `name`, `value`; GET_OPTION: `names` (a list);
    - DATA_QUERY: `table` (user, transaction, biodata, userpic) and optional `pin`;
    - ENROLL: `pin` and optional `finger` (0-9): the device asks the person to enrol a fingerprint.
    """
    if kind in ("INFO", "CHECK", "REBOOT"):
        return kind
    if kind == "CLEAR_LOG":
        return "CLEAR LOG"
    if kind == "LOG":
        since, until = params.get("since"), params.get("until") or datetime(2099, 12, 31, 23, 59, 59)
        if not isinstance(since, datetime):
            raise CommandRefused("since", "the local date-time to re-send the log from is required")
        if not isinstance(until, datetime) or until < since:
            raise CommandRefused("until", "must be a local date-time after since")
        return f"DATA QUERY ATTLOG StartTime={since:{_TIME_FORMAT}}\tEndTime={until:{_TIME_FORMAT}}"
    if kind == "SET_OPTION":
        name, value = str(params.get("name") or ""), str(params.get("value") if params.get("value") is not None else "")
        if not _OPTION_NAME.fullmatch(name):
            raise CommandRefused("name", "an option name: letters, digits and '_'")
        if _CONTROL.search(value):
            raise CommandRefused("value", "must not contain control characters")
        return f"SET OPTION {name}={value}"
    if kind == "GET_OPTION":
        names = params.get("names") or []
        if not names or not all(isinstance(n, str) and _OPTION_NAME.fullmatch(n) for n in names):
            raise CommandRefused("names", "a list of option names: letters, digits and '_'")
        return "GET OPTIONS " + ",".join(names)
    if kind == "DATA_QUERY":
        table = str(params.get("table") or "")
        if table not in _QUERY_TABLES_2X:
            raise CommandRefused("table", f"one of {', '.join(_QUERY_TABLES_2X)}")
        pin = params.get("pin")
        if pin is not None:
            _checked_pin(pin)
        if push3:
            return f"DATA QUERY tablename={table},fielddesc=*,filter={'pin=' + pin if pin else '*'}"
        return f"DATA QUERY {_QUERY_TABLES_2X[table]}" + (f" PIN={pin}" if pin else "")
    if kind == "ENROLL":
        pin = _checked_pin(params.get("pin"))
        finger = params.get("finger", 0)
        if not isinstance(finger, int) or not 0 <= finger <= 9:
            raise CommandRefused("finger", "a finger number from 0 to 9")
        if push3:
            return f"ENROLL_BIO TYPE=1\tPIN={pin}\tNO={finger}\tRETRY=3\tOVERWRITE=1"
        return f"ENROLL_FP PIN={pin}\tFID={finger}\tRETRY=3\tOVERWRITE=1"
    raise CommandRefused("command", f"one of {', '.join(COMMAND_KINDS)}")


def _checked_pin(pin) -> str:
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise CommandRefused("pin", "1 to 24 letters or digits")
    return pin


def result_options(output: str) -> dict[str, str]:
    """The `Key=value` lines of a command's output (INFO, GET OPTION), keys without `~`."""
    return _comma_pairs(output.encode())
