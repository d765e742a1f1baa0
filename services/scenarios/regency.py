"""A regency's month, from fingerprint punches to an approved payroll run, through every service's public API.

The cast is drawn from a seed: the regional secretary (*Sekda*), the inspectorate (an *Inspektur* and two
auditors who verify the departments' decisions), and several departments, each with a head (*Kepala*),
section heads (*Kepala Bidang*) and their staff, a fingerprint device, and tasks with time norms. The month
is drawn from the same seed: when each person arrives and leaves, who comes late (and in which TL band),
who leaves early, who is absent without notice, who is on leave, and what each logs every day. The same
seed always gives the same people, units, devices and month, so every figure can be predicted before it
is played (`expected`) and compared with what the platform answers.

Playing is idempotent: each step first looks at what the platform already has (entries, absences,
decisions, closed months, the payroll run) and only adds what is missing, so the same seed and month can
be played again on the same stack: the second play changes nothing and reports the same figures.
"""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable

from scenarios.clients import Api, ApiError, wait_until
from scenarios.month import SCHEDULED_END, _nip

SCHEDULED_START = time(7, 30)
LUNCH_MINUTES = {0: 60, 1: 60, 2: 60, 3: 60, 4: 90}  # Perpres 21/2023: Friday's break is longer
NET_MINUTES = {weekday: 510 + (30 if weekday == 4 else 0) - LUNCH_MINUTES[weekday] for weekday in range(5)}  # 450
FIRST_NAMES = ("Agus", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gilang", "Hendra", "Indah", "Joko", "Kartika",
               "Lestari", "Made", "Nur", "Oktavia", "Putu", "Rahmat", "Sari", "Teguh", "Utami", "Wahyu", "Yuni")
LAST_NAMES = ("Santoso", "Wijaya", "Lestari", "Saputra", "Hidayat", "Kurniawan", "Rahmawati", "Pratama",
              "Siregar", "Nasution", "Harahap", "Setiawan", "Susanti", "Gunawan", "Permana", "Utomo")
DEPARTMENTS = (
    ("DISDIK", "Dinas Pendidikan", ("Pembinaan SD", "Pembinaan SMP", "Ketenagaan"),
     (("Memverifikasi data pokok pendidikan", 30, "berkas"), ("Menyusun laporan bantuan operasional sekolah", 60, "laporan"))),
    ("DINKES", "Dinas Kesehatan", ("Pelayanan Kesehatan", "Pencegahan Penyakit", "Sumber Daya Kesehatan"),
     (("Merekap laporan puskesmas", 30, "laporan"), ("Menyusun bahan surveilans", 60, "dokumen"))),
    ("DPUPR", "Dinas Pekerjaan Umum dan Penataan Ruang", ("Bina Marga", "Sumber Daya Air", "Cipta Karya"),
     (("Memeriksa dokumen kontrak", 60, "dokumen"), ("Mengolah data inspeksi jalan", 30, "ruas"))),
    ("BPKAD", "Badan Pengelolaan Keuangan dan Aset Daerah", ("Anggaran", "Perbendaharaan", "Akuntansi"),
     (("Memverifikasi surat permintaan pembayaran", 30, "berkas"), ("Menyusun laporan realisasi", 60, "laporan"))),
)
# Fungsional positions of the staff, with their job class (kelas jabatan): it sets the TPP base amount.
STAFF_POSITIONS = (("RG-ANALIS", "Analis Kebijakan", 9), ("RG-PRANATA", "Pranata Komputer", 7),
                   ("RG-PENGADMIN", "Pengadministrasi Umum", 5))
BEHAVIOUR_VALUES = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif")
# Habits: (share of people, chance of a late morning, chance of leaving early).
HABITS = ((0.75, 0.02, 0.01), (0.20, 0.15, 0.05), (0.05, 0.40, 0.10))
# How late a late morning is, one way per TL band (drawn with weights 60/25/10/5).
LATE_BY = (lambda r: r.randint(1, 25), lambda r: r.randint(31, 55), lambda r: r.randint(61, 85), lambda r: 95)


@dataclass(frozen=True)
class Person:
    """One employee of the regency."""

    nip: str
    name: str
    unit_id: str
    position_id: str
    position_name: str
    job_class: int
    kind: str
    supervisor: str | None
    status: str = "PNS"
    device: str | None = None
    pin: str | None = None
    section: str | None = None


@dataclass(frozen=True)
class Department:
    """A department (SKPD) with its device, head, section heads, staff and tasks."""

    code: str
    unit_id: str
    name: str
    device: str
    head: str
    section_heads: tuple[str, ...]
    members: tuple[str, ...]
    tasks: tuple[tuple[str, str, int, str], ...]  # item id, description, norm minutes, output unit


@dataclass(frozen=True)
class Regency:
    """The people and units a seed gives (the same seed, the same ids)."""

    seed: int
    suffix: str
    sekda: str
    inspektur: str
    auditors: tuple[str, ...]
    admin: str
    departments: tuple[Department, ...]
    people: dict = field(hash=False, compare=False)

    @classmethod
    def generate(cls, seed: int, departments: int = 4, sections: int = 3, staff_per_section: int = 8) -> "Regency":
        """Draw the regency: `departments` departments of one head, `sections` section heads and their staff."""
        rng = random.Random(f"regency-{seed}")
        suffix = hashlib.sha256(f"kinerja-regency-{seed}".encode()).hexdigest()[:5].upper()
        used: set[str] = set()

        def new_nip() -> str:
            while True:
                nip = _nip(rng, rng.choice("12"))
                if nip not in used:
                    used.add(nip)
                    return nip

        def name() -> str:
            return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

        people: dict[str, Person] = {}
        setda, insp = f"SETDA-{suffix}", f"INSP-{suffix}"
        sekda = new_nip()
        people[sekda] = Person(sekda, "Sekretaris Daerah", setda, "RG-SEKDA", "Sekretaris Daerah", 16, "struktural", None)
        inspektur = new_nip()
        people[inspektur] = Person(inspektur, f"{name()} (Inspektur)", insp, "RG-INSPEKTUR", "Inspektur", 14,
                                   "struktural", sekda)
        auditors = tuple(new_nip() for _ in range(2))
        for nip in auditors:
            people[nip] = Person(nip, name(), insp, "RG-AUDITOR", "Auditor", 9, "fungsional", inspektur)
        admin = new_nip()  # the personnel officer (BKPSDM) who imports the roster; signs in as admin only
        depts = []
        for code, dept_name, section_names, tasks in DEPARTMENTS[:departments]:
            unit_id, device = f"{code}-{suffix}", f"RG{code[:3]}{suffix}"
            pins = iter(range(1, 1000))
            head = new_nip()
            people[head] = Person(head, name(), unit_id, "RG-KADIS", "Kepala Dinas", 14, "struktural", sekda,
                                  device=device, pin=str(next(pins)))
            section_heads, members = [], [head]
            for section in section_names[:sections]:
                kabid = new_nip()
                people[kabid] = Person(kabid, name(), unit_id, "RG-KABID", "Kepala Bidang", 11, "struktural", head,
                                       device=device, pin=str(next(pins)), section=section)
                section_heads.append(kabid)
                members.append(kabid)
                for _ in range(staff_per_section):
                    position_id, position_name, job_class = rng.choice(STAFF_POSITIONS)
                    nip = new_nip()
                    people[nip] = Person(nip, name(), unit_id, position_id, position_name, job_class, "fungsional",
                                         kabid, "CPNS" if rng.random() < 0.1 else "PNS", device, str(next(pins)),
                                         section)
                    members.append(nip)
            items = tuple((f"{code}-{i + 1}-{suffix}", description, norm, unit)
                          for i, (description, norm, unit) in enumerate(tasks))
            depts.append(Department(code, unit_id, dept_name, device, head, tuple(section_heads), tuple(members), items))
        return cls(seed, suffix, sekda, inspektur, auditors, admin, tuple(depts), people)

    @property
    def staff(self) -> tuple[str, ...]:
        """Everyone in a department: they punch, log work and are paid in this play."""
        return tuple(nip for dept in self.departments for nip in dept.members)

    def reports_of(self, supervisor: str) -> tuple[str, ...]:
        """The people whose work `supervisor` approves."""
        return tuple(p.nip for p in self.people.values() if p.supervisor == supervisor and p.nip in self.staff)

    def department_of(self, nip: str) -> Department:
        """The department a member belongs to."""
        return next(d for d in self.departments if nip in d.members)

    def verifier_of(self, dept: Department) -> str:
        """The auditor who verifies a department (departments shared out in turn)."""
        return self.auditors[self.departments.index(dept) % len(self.auditors)]

    def roster_csv(self) -> str:
        """The roster as the personnel system exports it."""
        rows = ["nip,nama,unit_id,unit_name,parent_unit_id,position_id,position_name,job_class,position_kind,"
                "supervisor_nip,status,zone,device_serial,device_pin"]
        names = {f"SETDA-{self.suffix}": "Sekretariat Daerah", f"INSP-{self.suffix}": "Inspektorat"}
        names.update({d.unit_id: f"{d.name} ({self.suffix})" for d in self.departments})
        for p in self.people.values():
            rows.append(f"{p.nip},{p.name},{p.unit_id},{names[p.unit_id]},,{p.position_id},{p.position_name},"
                        f"{p.job_class},{p.kind},{p.supervisor or ''},{p.status},WIB,{p.device or ''},{p.pin or ''}")
        return "\n".join(rows) + "\n"

    def catalogue_csv(self) -> str:
        """Each department's tasks, open to that department only."""
        rows = ["item_id,unit_id,description,norm_minutes,output_unit"]
        rows += [f"{item},{d.unit_id},{desc},{norm},{unit}" for d in self.departments for item, desc, norm, unit in d.tasks]
        return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Day:
    """One person's working day as drawn: punches, or why there are none, and the work logged."""

    day: date
    arrive: time | None = None
    leave: time | None = None
    on_leave: bool = False  # cuti, recorded by the personnel officer
    item: str | None = None
    quantity: int = 0
    start: time | None = None
    minutes: int = 0

    @property
    def late_minutes(self) -> int:
        """Minutes after the scheduled start."""
        return max(0, _minutes(self.arrive) - _minutes(SCHEDULED_START)) if self.arrive else 0

    @property
    def early_minutes(self) -> int:
        """Minutes before the scheduled end."""
        return max(0, _minutes(SCHEDULED_END[self.day.weekday()]) - _minutes(self.leave)) if self.leave else 0


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _at(minutes: int, second: int = 0) -> time:
    return time(minutes // 60, minutes % 60, second)


def band(minutes: int, kind: str) -> str | None:
    """The national TL/PSW band of `minutes` late or early (1-30, 31-60, 61-90, more)."""
    if minutes <= 0:
        return None
    return f"{kind}{1 if minutes <= 30 else 2 if minutes <= 60 else 3 if minutes <= 90 else 4}"


@dataclass(frozen=True)
class MonthPlan:
    """The month as drawn from the seed, for every member of every department."""

    year: int
    month: int
    working_days: tuple[date, ...]
    days: dict = field(hash=False, compare=False)  # nip -> tuple[Day, ...] (only working days)

    @property
    def period(self) -> str:
        """`YYYY-MM`."""
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def draw(cls, regency: Regency, year: int, month: int) -> "MonthPlan":
        """Each member's month: habits per person, then each working day drawn from them."""
        rng = random.Random(f"month-{regency.seed}-{year}-{month}")
        first = date(year, month, 1)
        working = tuple(first + timedelta(days=i) for i in range(31)
                        if (first + timedelta(days=i)).month == month and (first + timedelta(days=i)).weekday() < 5)
        days = {}
        for nip in regency.staff:
            dept = regency.department_of(nip)
            roll = rng.random()
            late_chance, early_chance = next((late, early) for share, late, early in _cumulative(HABITS) if roll < share)
            absent = {rng.choice(working)} if rng.random() < 0.06 else set()
            leave = set()
            if rng.random() < 0.08:
                start = rng.randrange(len(working) - 3)
                leave = set(working[start:start + rng.choice((2, 3))])
                absent -= leave  # a leave stretch is recorded whole, so nobody is absent inside it
            own = []
            for day in working:
                if day in absent:
                    own.append(Day(day))
                    continue
                if day in leave:
                    own.append(Day(day, on_leave=True))
                    continue
                late = rng.random() < late_chance
                arrive = 7 * 60 + 30 + rng.choices(LATE_BY, weights=(60, 25, 10, 5))[0](rng) \
                    if late else rng.randint(6 * 60 + 55, 7 * 60 + 29)
                end = _minutes(SCHEDULED_END[day.weekday()])
                leave_at = end - rng.choice((rng.randint(10, 25), rng.randint(35, 50))) if rng.random() < early_chance \
                    else end + rng.randint(0, 25)  # early by a margin from each band's edge, whatever the seconds
                item, _, norm, _ = rng.choice(dept.tasks)
                start = max(8 * 60, -(-(arrive + 5) // 15) * 15)
                room = leave_at - start - LUNCH_MINUTES[day.weekday()]
                quantity = max(1, min(rng.choice((300, 360, 420)), room) // norm)
                own.append(Day(day, _at(arrive, rng.randint(0, 59)), _at(leave_at, rng.randint(0, 59)), item=item,
                               quantity=quantity, start=_at(start), minutes=quantity * norm))
            days[nip] = tuple(own)
        return cls(year, month, working, days)

    def present(self, nip: str) -> tuple[Day, ...]:
        """The days the person punched in."""
        return tuple(d for d in self.days[nip] if d.arrive)

    def attlog(self, regency: Regency, dept: Department) -> list[bytes]:
        """The department device's ATTLOG uploads (tab-separated, 128 lines each)."""
        lines = []
        for nip in dept.members:
            pin = regency.people[nip].pin
            for day in self.present(nip):
                for state, moment in (("0", day.arrive), ("1", day.leave)):
                    lines.append(f"{pin}\t{day.day} {moment:%H:%M:%S}\t{state}\t1\t0\t0\t0\t0\t0\t0")
        return ["\n".join(lines[i:i + 128]).encode() + b"\n" for i in range(0, len(lines), 128)]


def _cumulative(habits):
    total = 0.0
    for share, late, early in habits:
        total += share
        yield total, late, early


def expected(regency: Regency, plan: MonthPlan) -> dict[str, dict]:
    """Per member, the figures the plan predicts (before anything is played)."""
    out = {}
    for nip in regency.staff:
        days = plan.days[nip]
        present = [d for d in days if d.arrive]
        out[nip] = {
            "present": len(present),
            "absent_without_notice": sum(1 for d in days if not d.arrive and not d.on_leave),
            "on_leave": sum(1 for d in days if d.on_leave),
            "late": Counter(band(d.late_minutes, "TL") for d in present if d.late_minutes),
            "early": Counter(band(d.early_minutes, "PSW") for d in present if d.early_minutes),
            "entries": len(present),
            "credited_minutes": sum(d.minutes for d in present),
            # Every working day counts its scheduled net minutes, absence included (no holidays drawn); a day of
            # leave (cuti) is excused, not required (the presets' [discipline.required_minutes] leave = "excused").
            "effective_minutes": sum(NET_MINUTES[d.day.weekday()] for d in days if not d.on_leave),
        }
    return out


def check_window(plan: MonthPlan, today: date, entry_window_days: int | None, decision_days: int | None) -> str | None:
    """Why the month cannot be played today under the policy's windows (None when it can)."""
    if (plan.year, plan.month) >= (today.year, today.month):
        return f"{plan.period} has not ended yet: play a past month (--year/--month)"
    first, last = plan.working_days[0], plan.working_days[-1]
    if entry_window_days is not None and (today - first).days > entry_window_days:
        return (f"{plan.period} starts {(today - first).days} days ago but the policy lets work be entered only "
                f"{entry_window_days} days back (from {today - timedelta(days=entry_window_days)}): play a later month")
    if decision_days is not None and (today - last).days > decision_days:
        return (f"the decisions on {plan.period} are past the policy's {decision_days}-day deadline: "
                f"play a later month")
    return None


@dataclass
class Progress:
    """What one play added, step by step (all zeros when the month had already been played)."""

    counts: Counter = field(default_factory=Counter)

    def add(self, what: str, n: int = 1) -> None:
        """Count `n` things added."""
        self.counts[what] += n


def play(api: dict[str, Api], sign: Callable[[str, tuple[str, ...]], str], regency: Regency, plan: MonthPlan,
         log: Callable[[str], None] = lambda _: None, timeout_s: float = 240) -> dict:
    """Play the month through the public APIs, adding only what is missing; return what the platform answers."""
    added = Progress()
    admin = sign(regency.admin, ("admin",))
    first, last = plan.working_days[0], plan.working_days[-1]
    finance = [d for d in regency.departments if d.code == "BPKAD"] or list(regency.departments)
    drafter, approver = finance[0].members[-1], finance[0].members[-2]
    drafter_token, approver_token = sign(drafter, ("staff", "finance")), sign(approver, ("staff", "finance"))
    run = _existing_run(api, drafter_token, plan)
    if run is not None and run["state"] in ("approved", "paid"):
        log(f"payroll: the {plan.period} run {run['run_id']} is already {run['state']}: nothing to play, reading it")
        return _collect(api, admin, approver_token, regency, plan, run, added)

    log(f"directory: {len(regency.people)} people in {len(regency.departments) + 2} units, "
        f"{len(regency.departments)} devices")
    report = api["directory"].ok("POST", "/roster/imports", admin, data=regency.roster_csv().encode(),
                                 content_type="text/csv")
    if report["rows_rejected"]:
        raise ApiError(f"directory refused roster rows: {report['errors']}")
    report = api["activities"].ok("POST", "/catalogue/imports", admin, data=regency.catalogue_csv().encode(),
                                  content_type="text/csv")
    if report.get("rows_rejected"):
        raise ApiError(f"activities refused catalogue rows: {report['errors']}")

    log("attendance: devices announce themselves, are approved and push the month's punches")
    for dept in regency.departments:
        api["attendance"].call("GET", "/iclock/cdata", params={"SN": dept.device, "options": "all", "pushver": "2.4.1"})
        api["attendance"].ok("POST", f"/devices/{dept.device}/approve", admin, json={"zone": "Asia/Jakarta"})
        for body in plan.attlog(regency, dept):
            reply = api["attendance"].call("POST", "/iclock/cdata", data=body, content_type="text/plain",
                                           params={"SN": dept.device, "table": "ATTLOG", "Stamp": "1"})
            if reply.status != 200 or not str(reply.body).startswith("OK:"):
                raise ApiError(f"device {dept.device} upload refused: {reply.status} {reply.body}")
    for nip in regency.staff:
        taken = {(a["start_date"], a["end_date"]) for a in api["attendance"].ok(
            "GET", "/absences", admin, params={"employee_id": nip, "from": str(first), "to": str(last)})["absences"]}
        for start, end in _runs([d.day for d in plan.days[nip] if d.on_leave]):
            if (str(start), str(end)) not in taken:
                api["attendance"].ok("POST", "/absences", admin, json={
                    "employee_id": nip, "kind": "leave", "start_date": str(start), "end_date": str(end)})
                added.add("absences")
    for nip in regency.staff:
        wait_until(f"the punched days of {nip} in attendance", lambda nip=nip: len([
            d for d in api["attendance"].ok("GET", "/days", admin, params={
                "employee_id": nip, "from": str(first), "to": str(last)})["days"] if d["clock_in"]])
            == len(plan.present(nip)), timeout_s)
    for day in plan.working_days:
        api["attendance"].ok("POST", "/days/build", admin, json={"date": str(day)})

    log("activities: every member logs each day's work")
    tokens = {nip: sign(nip, ("staff", "supervisor") if regency.reports_of(nip) else ("staff",)) for nip in regency.staff}
    for dept in regency.departments:
        newest = dept.members[-1]
        wait_until(f"{newest} known to activities", lambda newest=newest: api["activities"].call(
            "GET", "/entries", tokens[newest]).status == 200, timeout_s)
    for nip in regency.staff:
        logged = {e["local_date"] for e in api["activities"].ok("GET", "/entries", admin, params={
            "employee_id": nip, "from": str(first), "to": str(last)})["entries"] if e["state"] != "withdrawn"}
        for day in plan.present(nip):
            if str(day.day) in logged:
                continue
            end = (datetime.combine(day.day, day.start) + timedelta(minutes=day.minutes)).time()
            reply = api["activities"].call("POST", "/entries", tokens[nip], json={
                "start_at": f"{day.day}T{day.start}", "end_at": f"{day.day}T{end}", "catalogue_item_id": day.item,
                "quantity": day.quantity, "output": f"{day.quantity} x {day.item}", "evidence_ids": []})
            if reply.status != 201:
                raise ApiError(f"activities refused {nip}'s entry of {day.day}: {reply.status} {reply.body} "
                               f"(is the platform running on the demo policy, POLICY_FILE=deploy/policies/demo.toml?)")
            added.add("entries")

    log("approvals: supervisors rate behaviour and approve their queues in bulk")
    supervisors = [regency.sekda] + [n for d in regency.departments for n in (d.head, *d.section_heads)]
    for supervisor in supervisors:
        token = sign(supervisor, ("staff", "supervisor"))
        for nip in regency.reports_of(supervisor):
            wait_until(f"behaviour rating of {nip}", lambda token=token, nip=nip: api["scoring"].call(
                "PUT", f"/behaviour/{nip}/{plan.period}", token, json={v: 4 for v in BEHAVIOUR_VALUES}).status == 200,
                timeout_s)
        waiting = _undecided(api, admin, regency.reports_of(supervisor), plan)
        items = wait_until(f"{len(waiting)} entries in the queue of {supervisor}", lambda token=token, waiting=waiting: (
            lambda q: q if waiting <= {i["entry_id"] for i in q} else None)(
            api["approvals"].ok("GET", "/queue", token)["items"]), timeout_s) if waiting else []
        ids = [i["entry_id"] for i in items if i["entry_id"] in waiting]
        for chunk in range(0, len(ids), 500):
            result = api["approvals"].ok("POST", "/decisions/bulk", token, json={
                "entry_ids": ids[chunk:chunk + 500], "action": "approve"})
            if result["failed"]:
                raise ApiError(f"bulk approval failed: {[r for r in result['results'] if not r['ok']][:3]}")
            added.add("decisions", result["succeeded"])

    log("verification: the inspectorate upholds every decision and closes each department's month")
    for dept in regency.departments:
        verifier = regency.verifier_of(dept)
        token = sign(verifier, ("staff", "verifier"))
        api["approvals"].ok("PUT", f"/verifiers/{verifier}/units/{dept.unit_id}", admin)
        closed = {m["month"] for m in api["approvals"].ok("GET", f"/units/{dept.unit_id}/months", admin)["months"]}
        if plan.period in closed:
            continue
        for item in api["approvals"].ok("GET", "/verifications/queue", token, params={
                "unit_id": dept.unit_id, "month": plan.period})["items"]:
            api["approvals"].ok("POST", f"/decisions/{item['decision']['decision_id']}/verification", token,
                                json={"verdict": "uphold"})
            added.add("verifications")
        api["approvals"].ok("POST", f"/units/{dept.unit_id}/months/{plan.period}/close", token)
        added.add("months closed")

    log("scoring: waiting for every member's complete month")
    want = expected(regency, plan)
    scores, last = {}, {}

    def complete(nip: str):
        last[nip] = reply = api["scoring"].call("GET", f"/months/{nip}/{plan.period}", admin)
        return reply.body if reply.status == 200 and all(
            reply.body.get(key) == want[nip][key] for key in ("credited_minutes", "effective_minutes")) else None

    for nip in regency.staff:
        try:
            scores[nip] = wait_until(f"the complete scored month of {nip}", lambda nip=nip: complete(nip), timeout_s)
        except TimeoutError:
            body = last[nip].body if isinstance(last[nip].body, dict) else {}
            raise ApiError(f"scoring of {nip} for {plan.period} did not reach the plan's figures in {timeout_s:.0f} s: "
                           f"{body.get('credited_minutes')} credited minutes of {want[nip]['credited_minutes']}, "
                           f"{body.get('effective_minutes')} effective minutes of {want[nip]['effective_minutes']} "
                           f"(answer {last[nip].status}: {str(last[nip].body)[:600]})") from None

    log("payroll: one officer drafts and reviews the run, another approves it")
    if run is None:
        run = api["payroll"].ok("POST", "/runs", drafter_token, json={"year": plan.year, "month": plan.month})
        added.add("payroll runs")
    if run["state"] == "draft":
        versions = {(nip, s["version"]) for nip, s in scores.items()}
        run = wait_until("the run priced on the final scores", lambda: (
            lambda r: r if versions <= _priced(api, drafter_token, r["run_id"]) else None)(
            api["payroll"].ok("POST", f"/runs/{run['run_id']}/recompute", drafter_token)), timeout_s)
        run = api["payroll"].ok("POST", f"/runs/{run['run_id']}/review", drafter_token)
    run = api["payroll"].ok("POST", f"/runs/{run['run_id']}/approve", approver_token,
                            json={"content_hash": run["content_hash"]})
    return _collect(api, admin, approver_token, regency, plan, run, added)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive working days as (first, last) stretches."""
    out: list[list[date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days <= 3:  # a weekend between two working days keeps the stretch
            out[-1][1] = day
        else:
            out.append([day, day])
    return [(a, b) for a, b in out]


def _existing_run(api: dict[str, Api], token: str, plan: MonthPlan) -> dict | None:
    runs = [r for r in api["payroll"].ok("GET", "/runs", token, params={"year": plan.year})["runs"]
            if r["month"] == plan.month]
    return runs[0] if runs else None


def _undecided(api: dict[str, Api], token: str, reports: tuple[str, ...], plan: MonthPlan) -> set[str]:
    first, last = plan.working_days[0], plan.working_days[-1]
    return {e["entry_id"] for nip in reports for e in api["activities"].ok("GET", "/entries", token, params={
        "employee_id": nip, "from": str(first), "to": str(last), "state": "submitted"})["entries"]}


def _priced(api: dict[str, Api], token: str, run_id: str) -> set:
    return {(p["employee_id"], p["facts"]["score_version"])
            for p in api["payroll"].ok("GET", f"/runs/{run_id}/payslips", token)["payslips"]}


def _collect(api, admin, finance, regency: Regency, plan: MonthPlan, run: dict, added: Progress) -> dict:
    """What the platform answers about the played month, for the report and the tests."""
    first, last = plan.working_days[0], plan.working_days[-1]
    staff = set(regency.staff)
    payslips = {p["employee_id"]: p for p in api["payroll"].ok("GET", f"/runs/{run['run_id']}/payslips", finance)["payslips"]
                if p["employee_id"] in staff}
    if set(payslips) != staff:
        raise ApiError(f"the {plan.period} payroll run {run['run_id']} has no payslip for "
                       f"{len(staff - set(payslips))} of this regency's members: it was drafted before they were "
                       f"played and there is one run per month; play this seed on a fresh stack (KINERJA_DATA_DIR) "
                       f"or play again the seed that made the run")
    days, scores = {}, {}
    for nip in regency.staff:
        days[nip] = api["attendance"].ok("GET", "/days", admin, params={
            "employee_id": nip, "from": str(first), "to": str(last)})["days"]
        scores[nip] = api["scoring"].ok("GET", f"/months/{nip}/{plan.period}", admin)
    flags = [f for f in api["scoring"].ok("GET", "/flags", admin, params={
        "from": str(first), "to": str(last), "limit": 5000})["flags"] if f["employee_id"] in staff]
    units = {d.unit_id for d in regency.departments}
    posture = [line for line in api["scoring"].ok("GET", "/posture", admin, params={
        "year": plan.year, "months": str(plan.month)})["lines"] if line["unit_id"] in units]
    public = [u for u in api["scoring"].ok("GET", "/public/units", params={"year": plan.year, "month": plan.month})["units"]
              if u["unit_id"] in units]
    return {"run": run, "payslips": payslips, "days": days, "scores": scores, "flags": flags, "posture": posture,
            "public": public, "added": dict(added.counts)}


def sign_ins(api: dict[str, Api], sign: Callable[[str, tuple[str, ...]], str], regency: Regency,
             timeout_s: float = 120) -> list[dict]:
    """One real account per role, ready for the portal: the roles granted in the directory (as the personnel
    officer grants them), the identity service holding the account with those roles, and a fresh one-time
    activation code (a code not yet used is replaced; activating with it sets the password)."""
    admin = sign(regency.admin, ("admin",))
    dept = regency.departments[0]
    finance = next((d for d in regency.departments if d.code == "BPKAD"), dept)
    staff = next(n for n in dept.members if not regency.reports_of(n))
    chosen = (("staff", staff, ["staff"]), ("supervisor", regency.people[staff].supervisor, ["staff", "supervisor"]),
              ("verifier", regency.verifier_of(dept), ["staff", "verifier"]),
              ("finance", finance.members[-2], ["staff", "finance"]), ("admin", finance.members[-3], ["staff", "admin"]))
    accounts = []
    for role, nip, roles in chosen:
        api["directory"].ok("PUT", f"/employees/{nip}/roles", admin, json={"roles": roles})
        wait_until(f"the account of {nip} with {roles} in identity", lambda nip=nip, roles=roles: (lambda r: r.status == 200 and set(
            roles) <= set(r.body.get("roles", [])))(api["identity"].call("GET", f"/accounts/{nip}", admin)), timeout_s)
        code = api["identity"].ok("POST", f"/accounts/{nip}/activation-codes", admin)["code"]
        accounts.append({"role": role, "nip": nip, "name": regency.people[nip].name, "roles": roles, "code": code})
    return accounts
