"""A small unit's month, from device punches to a payroll run, through the public APIs of every service.

The cast: a head of unit (*kepala*) whose own work goes to the regional secretary (*Sekda*), two staff
(one a CPNS who arrives late twice and is absent once without notice), a verifier of the independent
unit, and two finance officers (one drafts the run, the other approves it). A fingerprint device pushes
their punches; staff log their work daily; supervisors approve in bulk; the verifier upholds every
decision and closes the month; scoring scores it; payroll drafts and approves the run.
"""
from __future__ import annotations

import random
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable

from scenarios.clients import Api, wait_until

ENTRY_START, ENTRY_END, ENTRY_QUANTITY, NORM_MINUTES = time(8, 0), time(15, 0), 7, 60
# Perpres 21/2023: Mon-Thu 07:30-16:00 less a 60-minute break, Fri 07:30-16:30 less 90: 450 net minutes a day.
SCHEDULED_END = {0: time(16, 0), 1: time(16, 0), 2: time(16, 0), 3: time(16, 0), 4: time(16, 30)}
NET_MINUTES_A_DAY = 450


def _nip(rng: random.Random, gender: str = "1") -> str:
    birth = date(1970, 1, 1) + timedelta(days=rng.randrange(25 * 365))
    return f"{birth:%Y%m%d}{birth.year + 25}{birth.month:02d}{gender}{rng.randrange(1, 1000):03d}"


@dataclass
class Cast:
    """The people, unit and device of one played month (fresh ids each time, so it can be played again)."""

    suffix: str
    unit_id: str
    head: str
    staff_a: str
    staff_b: str
    sekda: str
    verifier: str
    admin: str
    finance_drafter: str
    finance_approver: str
    device_serial: str
    pins: dict = field(default_factory=dict)

    @classmethod
    def fresh(cls, seed: int | None = None) -> "Cast":
        """New ids for everyone."""
        rng = random.Random(seed)
        suffix = uuid.UUID(int=rng.getrandbits(128)).hex[:6].upper()
        nips = set()
        while len(nips) < 9:
            nips.add(_nip(rng, rng.choice("12")))
        head, a, b, sekda, verifier, admin, drafter, approver, _ = sorted(nips)
        return cls(suffix, f"DINAS-{suffix}", head, a, b, sekda, verifier, admin, drafter, approver, f"DEMO{suffix}",
                   {head: "1", a: "2", b: "3"})


@dataclass(frozen=True)
class Plan:
    """What happens in the month: working days, the late days and the absent day of staff B."""

    year: int
    month: int
    working_days: tuple[date, ...]
    late_days_b: tuple[date, ...]
    absent_day_b: date

    @classmethod
    def for_month(cls, year: int, month: int) -> "Plan":
        """Mon-Fri of the month; B is late on the 2nd and 4th working days and absent on the 6th."""
        first = date(year, month, 1)
        days = tuple(first + timedelta(days=i) for i in range(31)
                     if (first + timedelta(days=i)).month == month and (first + timedelta(days=i)).weekday() < 5)
        return cls(year, month, days, (days[1], days[3]), days[5])

    @property
    def period(self) -> str:
        """`YYYY-MM`."""
        return f"{self.year:04d}-{self.month:02d}"

    def present(self, who: str, cast: Cast) -> tuple[date, ...]:
        """Days the person comes to work."""
        return tuple(d for d in self.working_days if not (who == cast.staff_b and d == self.absent_day_b))


def _photo() -> bytes:
    """A tiny real PNG (a 2x2 grey square), standing in for a photo of the work."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80\x80\x80" * 2 for _ in range(2)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def _roster_csv(cast: Cast) -> str:
    rows = [
        "nip,nama,unit_id,unit_name,parent_unit_id,position_id,position_name,job_class,position_kind,supervisor_nip,"
        "status,zone,device_serial,device_pin",
        f"{cast.sekda},Sekretaris Daerah,SETDA-{cast.suffix},Sekretariat Daerah,,SEKDA,Sekretaris Daerah,16,struktural,,PNS,WIB,,",
        f"{cast.verifier},Penilai Independen,INSP-{cast.suffix},Inspektorat,,AUDITOR,Auditor,9,fungsional,,PNS,WIB,,",
        f"{cast.head},Kepala Dinas,{cast.unit_id},Dinas Contoh {cast.suffix},,KADIS,Kepala Dinas,12,struktural,{cast.sekda},PNS,WIB,"
        f"{cast.device_serial},{cast.pins[cast.head]}",
        f"{cast.staff_a},Siti Aminah,{cast.unit_id},Dinas Contoh {cast.suffix},,ANALIS,Analis,9,fungsional,{cast.head},PNS,WIB,"
        f"{cast.device_serial},{cast.pins[cast.staff_a]}",
        f"{cast.staff_b},Budi Santoso,{cast.unit_id},Dinas Contoh {cast.suffix},,PRANATA,Pranata Komputer,7,fungsional,{cast.head},CPNS,WIB,"
        f"{cast.device_serial},{cast.pins[cast.staff_b]}",
    ]
    return "\n".join(rows) + "\n"


def _attlog(cast: Cast, plan: Plan) -> list[bytes]:
    lines = []
    for who in (cast.head, cast.staff_a, cast.staff_b):
        for day in plan.present(who, cast):
            arrive = time(8, 5) if (who == cast.staff_b and day in plan.late_days_b) else time(7, 25)
            leave = (datetime.combine(day, SCHEDULED_END[day.weekday()]) + timedelta(minutes=5)).time()
            for moment in (arrive, leave):
                lines.append(f"{cast.pins[who]}\t{day} {moment:%H:%M:%S}\t0\t1\t0\t0\t0\t0\t0\t0")
    return ["\n".join(lines[i:i + 128]).encode() + b"\n" for i in range(0, len(lines), 128)]


TARGET_PER_DAY = 10  # staff A's monthly SKP target: 10 documents a working day (she delivers 7: 70%)


def play_month(api: dict[str, Api], sign: Callable[[str, tuple[str, ...]], str], year: int, month: int,
               cast: Cast | None = None, log: Callable[[str], None] = lambda _: None, timeout_s: float = 180,
               photo_every_entry: bool = False) -> dict:
    """Play the month through the APIs and return the approved run with every payslip's totals.

    Staff A gets a monthly SKP target linked to the catalogue item she logs; B and the head get none, so a
    policy that prices targets pays their share by its rule for a missing figure. `photo_every_entry` proves
    every entry with its own photo (a policy may require it); otherwise only A's first entry has one.
    """
    cast = cast or Cast.fresh()
    plan = Plan.for_month(year, month)
    admin = sign(cast.admin, ("admin",))
    head, sekda = sign(cast.head, ("staff", "supervisor")), sign(cast.sekda, ("staff", "supervisor"))
    verifier = sign(cast.verifier, ("staff", "verifier"))
    staff = {cast.head: head, cast.staff_a: sign(cast.staff_a, ("staff",)), cast.staff_b: sign(cast.staff_b, ("staff",))}
    unit_staff = (cast.head, cast.staff_a, cast.staff_b)

    log(f"directory: unit {cast.unit_id}, roster of 5, device {cast.device_serial}")
    report = api["directory"].ok("POST", "/roster/imports", admin, data=_roster_csv(cast).encode(), content_type="text/csv")
    if report["rows_rejected"]:
        raise RuntimeError(f"roster refused: {report['errors']}")
    api["activities"].ok("POST", "/catalogue/imports", admin, content_type="text/csv", data=(
        "item_id,description,norm_minutes,output_unit\n"
        f"RAPAT-{cast.suffix},Menyusun bahan rapat koordinasi,{NORM_MINUTES},dokumen\n").encode())

    log("attendance: device handshake, approval and a month of punches")
    api["attendance"].call("GET", "/iclock/cdata", params={"SN": cast.device_serial, "options": "all", "pushver": "2.4.1"})
    api["attendance"].ok("POST", f"/devices/{cast.device_serial}/approve", admin, json={"zone": "Asia/Jakarta"})
    for body in _attlog(cast, plan):
        reply = api["attendance"].call("POST", "/iclock/cdata", data=body, content_type="text/plain",
                                       params={"SN": cast.device_serial, "table": "ATTLOG", "Stamp": "1"})
        if reply.status != 200 or not str(reply.body).startswith("OK:"):
            raise RuntimeError(f"device upload refused: {reply.status} {reply.body}")
    first, last = plan.working_days[0], plan.working_days[-1]
    for who in unit_staff:
        wait_until(f"attendance days of {who}", lambda who=who: len([
            d for d in api["attendance"].ok("GET", "/days", admin, params={
                "employee_id": who, "from": str(first), "to": str(last)})["days"]
            if d["clock_in"]]) == len(plan.present(who, cast)), timeout_s)
    for day in plan.working_days:
        api["attendance"].ok("POST", "/days/build", admin, json={"date": str(day)})

    log(f"activities: {sum(len(plan.present(w, cast)) for w in unit_staff)} daily entries")
    wait_until("the catalogue and roster in activities", lambda: api["activities"].call(
        "GET", "/entries", staff[cast.staff_a]).status == 200, timeout_s)
    photo = wait_until("the photo evidence accepted", lambda: (lambda r: r.body if r.status == 201 else None)(
        api["activities"].call("POST", "/evidence", staff[cast.staff_a], files={"file": ("rapat.png", _photo())})), timeout_s)
    for who in unit_staff:
        for day in plan.present(who, cast):
            if photo_every_entry and (who, day) != (cast.staff_a, plan.working_days[0]):
                evidence = [api["activities"].ok("POST", "/evidence", staff[who],
                                                 files={"file": ("kerja.png", _photo())})["evidence_id"]]
            else:
                evidence = [photo["evidence_id"]] if (who, day) == (cast.staff_a, plan.working_days[0]) else []
            body = {"start_at": f"{day}T{ENTRY_START}", "end_at": f"{day}T{ENTRY_END}",
                    "catalogue_item_id": f"RAPAT-{cast.suffix}", "quantity": ENTRY_QUANTITY,
                    "output": f"{ENTRY_QUANTITY} dokumen", "evidence_ids": evidence}
            wait_until(f"entry of {who} on {day} accepted", lambda body=body, who=who: api["activities"].call(
                "POST", "/entries", staff[who], json=body).status == 201, timeout_s)

    log("approvals: behaviour ratings, supervisors approve in bulk")
    values = {v: 4 for v in ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif")}
    for rater, who in ((head, cast.staff_a), (head, cast.staff_b), (sekda, cast.head)):
        wait_until(f"behaviour rating of {who}", lambda rater=rater, who=who: api["scoring"].call(
            "PUT", f"/behaviour/{who}/{plan.period}", rater, json=values).status == 200, timeout_s)
    target = {"output": "Bahan rapat koordinasi", "quantity": TARGET_PER_DAY * len(plan.working_days),
              "output_unit": "dokumen", "catalogue_item_id": f"RAPAT-{cast.suffix}"}
    api["scoring"].ok("PUT", f"/targets/{cast.staff_a}/{plan.period}", head, json={"targets": [target]})
    for token, reports in ((head, (cast.staff_a, cast.staff_b)), (sekda, (cast.head,))):
        expected = sum(len(plan.present(w, cast)) for w in reports)
        items = wait_until("a full queue", lambda token=token, expected=expected: (
            lambda q: q if len(q) >= expected else None)(api["approvals"].ok("GET", "/queue", token)["items"]), timeout_s)
        result = api["approvals"].ok("POST", "/decisions/bulk", token, json={
            "entry_ids": [i["entry_id"] for i in items], "action": "approve"})
        if result["failed"]:
            raise RuntimeError(f"bulk approval failed: {result}")

    log("verification: the independent unit upholds every decision and closes the month")
    api["approvals"].ok("PUT", f"/verifiers/{cast.verifier}/units/{cast.unit_id}", admin)
    for item in api["approvals"].ok("GET", "/verifications/queue", verifier, params={
            "unit_id": cast.unit_id, "month": plan.period})["items"]:
        api["approvals"].ok("POST", f"/decisions/{item['decision']['decision_id']}/verification", verifier,
                            json={"verdict": "uphold"})
    api["approvals"].ok("POST", f"/units/{cast.unit_id}/months/{plan.period}/close", verifier)

    log("scoring: waiting for the month's scores")
    # Events cross topics in no guaranteed order, so a first score may miss a late day or decision and be
    # re-scored as a new version: wait for the complete one (every entry credited, every working day's
    # scheduled minutes effective, whether or not the day is one payroll must see).
    expected_minutes = {who: ENTRY_QUANTITY * NORM_MINUTES * len(plan.present(who, cast)) for who in unit_staff}
    effective = NET_MINUTES_A_DAY * len(plan.working_days)
    score_versions = {}
    for who in unit_staff:
        scored = wait_until(f"the complete scored month of {who}", lambda who=who: (
            lambda r: r.body if r.status == 200 and r.body.get("credited_minutes") == expected_minutes[who]
            and r.body.get("effective_minutes") == effective else None)(
            api["scoring"].call("GET", f"/months/{who}/{plan.period}", admin)), timeout_s)
        score_versions[who] = scored["version"]

    log("payroll: draft, review, approve")
    drafter = sign(cast.finance_drafter, ("finance",))
    approver = sign(cast.finance_approver, ("finance",))
    run = api["payroll"].ok("POST", "/runs", drafter, json={"year": year, "month": month})
    run = wait_until("the run priced on the final scores", lambda: (
        lambda r: r if set(score_versions.items()) <= _priced(api, drafter, r["run_id"]) else None)(
        api["payroll"].ok("POST", f"/runs/{run['run_id']}/recompute", drafter)), timeout_s)
    api["payroll"].ok("POST", f"/runs/{run['run_id']}/review", drafter)
    run = api["payroll"].ok("POST", f"/runs/{run['run_id']}/approve", approver, json={"content_hash": run["content_hash"]})
    payslips = {p["employee_id"]: p for p in api["payroll"].ok("GET", f"/runs/{run['run_id']}/payslips", approver)["payslips"]
                if p["employee_id"] in unit_staff}
    flags = api["scoring"].ok("GET", "/flags", admin, params={"employee_id": cast.staff_b, "from": str(first),
                                                              "to": str(last), "state": "open"})
    posture = [line for line in api["scoring"].ok("GET", "/posture", admin, params={"year": year, "months": str(month)})["lines"]
               if line["unit_id"] == cast.unit_id]
    public = [unit for unit in api["scoring"].ok("GET", "/public/units", params={"year": year, "month": month})["units"]
              if unit["unit_id"] == cast.unit_id]
    return {"cast": cast, "plan": plan, "run": run, "payslips": payslips, "evidence": photo,
            "flags_b": flags["flags"], "posture": posture, "public": public}


def _priced(api: dict[str, Api], token: str, run_id: str):
    """(employee, score version) of every payslip in the run."""
    return {(p["employee_id"], p["facts"]["score_version"])
            for p in api["payroll"].ok("GET", f"/runs/{run_id}/payslips", token)["payslips"]}
