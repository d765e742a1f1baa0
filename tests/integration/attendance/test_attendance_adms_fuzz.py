"""ADMS uploads of every shape a device or a network can produce (issue 14, items 3 and 5): line endings LF,
CRLF and a bare CR; lines in other encodings, cut, or not lines at all, mixed with good ones; tables that
are not punches; sizes from one line to a few hundred; bodies sent again. Every good line acknowledged in an
`OK: <n>` is stored exactly once, and a body with lines but none readable is kept but never answered OK."""
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from attendance import tables

pytestmark = pytest.mark.postgres

BASE = datetime(2025, 3, 3, 6, 0, 0)
ENDINGS = (b"\n", b"\r\n", b"\r")
CAPTURED = [b"46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881",
            b"8\t2025-01-29 12:10:17\t1\t1\t0\t0\t0\t0\t0\t0\t10902",
            b"11\t2025-08-27 10:57:49\t0\t25\t0\t0\t0\t0\t0\t0"]


def _stored(att, serial) -> Counter:
    p = tables.punches.c
    with att.sessions() as session:
        rows = session.execute(select(p.pin, p.local_time).where(p.device_serial == serial)).all()
    return Counter((pin, local_time) for pin, local_time in rows)


def _attlog_stamp(att, serial) -> str:
    reply = att.client.get(f"/iclock/cdata?SN={serial}&options=all").get_data(as_text=True)
    return next(line for line in reply.splitlines() if line.startswith("ATTLOGStamp="))


@pytest.mark.parametrize("end", ENDINGS, ids=["LF", "CRLF", "CR"])
def test_every_line_ending_is_read_and_stored(att, end):
    serial = att.device()
    reply = att.post_attlog(serial, end.join(CAPTURED) + end, stamp=7)
    assert reply.get_data(as_text=True) == "OK: 3"
    att.work()
    assert set(_stored(att, serial)) == {("46", datetime(2025, 1, 29, 6, 58, 48)),
                                         ("8", datetime(2025, 1, 29, 12, 10, 17)),
                                         ("11", datetime(2025, 8, 27, 10, 57, 49))}


def test_a_body_with_no_readable_line_is_kept_but_never_acknowledged(att):
    serial = att.device()
    assert att.post_attlog(serial, b"", stamp=5).get_data(as_text=True) == "OK: 0"  # nothing sent, nothing lost
    before = _attlog_stamp(att, serial)
    body = "\u00c46\t2025-01-29 06:58:48\t0\t15\t0\r\n46\t2025-01-29\r\n".encode("utf-16-le")
    reply = att.post_attlog(serial, body, stamp=99)
    assert reply.status_code == 200 and reply.get_data(as_text=True).startswith("ERROR")
    assert _attlog_stamp(att, serial) == before  # the device is not told it may move on
    u = tables.raw_uploads.c
    with att.sessions() as session:
        kept = session.execute(select(u.body).where(u.device_serial == serial, u.table_name == "ATTLOG")).scalars()
        assert body in list(kept)
    att.work()
    assert not _stored(att, serial)


class _Generator:
    """Seeded ADMS bodies: good lines each with a (PIN, time) and sequence of their own, and bad ones."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.next = 0

    def good(self) -> tuple[bytes, tuple[str, datetime]]:
        rng, n = self.rng, self.next
        self.next += 1
        pin, when = str(rng.randint(1, 60)), BASE + timedelta(minutes=7 * n, seconds=rng.randrange(60))
        fields = [pin, f"{when:%Y-%m-%d %H:%M:%S}", str(rng.randrange(6)), str(rng.choice((0, 1, 4, 15, 25))), "0"]
        shape = rng.random()
        if shape < 0.4:
            fields += ["0"] * 5 + [str(100_000 + n)]  # newer firmware: the 11th field is the record sequence
        elif shape < 0.6:
            fields += ["0"] * 5
        elif shape < 0.7:
            fields += [""] * rng.randint(1, 4)
        return "\t".join(fields).encode(), (pin, when)

    def bad(self) -> bytes:
        rng = self.rng
        line, _ = self.good()
        kind = rng.randrange(7)
        if kind == 0:  # cut in transit: fewer than five fields
            return b"\t".join(line.split(b"\t")[:rng.randint(1, 4)])
        if kind == 1:  # a date that does not exist
            return line.replace(b"2025-03-", b"2025-13-", 1) if b"2025-03-" in line else line[:3]
        if kind == 2:  # the PIN in another encoding
            pin = rng.choice(("\u540d\u5b57".encode("gbk"), "\u00c46".encode("latin-1"), "\u00c46".encode()))
            return pin + line[line.index(b"\t"):]
        if kind == 3:  # the whole line in UTF-16
            return line.decode().encode("utf-16-le")
        if kind == 4:  # noise without field or line breaks
            return bytes(rng.choice([b for b in range(256) if b not in b"\t\r\n"]) for _ in range(rng.randint(1, 80)))
        if kind == 5:  # too many fields
            return line + b"\t0" * 17
        return b"USER PIN=1\tName=Siti\tPri=0"  # an OPERLOG line sent as ATTLOG

    def body(self, lines: list[bytes]) -> bytes:
        rng = self.rng
        ending = rng.choice((*ENDINGS, None))  # None: each line its own ending
        out = b"".join(line + (ending or rng.choice(ENDINGS)) for line in lines)
        return out if rng.random() < 0.8 else out.rstrip(b"\r\n")


def test_fuzzed_uploads_store_every_acknowledged_good_line_exactly_once(att):
    gen = _Generator(seed=20261130)
    serial = att.device()
    acknowledged: set[tuple[str, datetime]] = set()
    sent: list[tuple[bytes, int, set]] = []
    for upload in range(60):
        rng = gen.rng
        if sent and rng.random() < 0.2:  # the same batch again (a lost reply, a device resending)
            body, good_count, keys = rng.choice(sent)
        else:
            lines, keys = [], set()
            good_share = rng.choice((0.0, 0.3, 0.7, 1.0))
            for _ in range(rng.choice((1, 2, 5, 20, 128, 300))):
                if rng.random() < good_share:
                    line, key = gen.good()
                    lines.append(line)
                    keys.add(key)
                else:
                    lines.append(gen.bad())
            body, good_count = gen.body(lines), len(keys)
            if rng.random() < 0.15:  # a table that holds no punches: kept raw, never read as one
                reply = att.client.post(f"/iclock/cdata?SN={serial}&table={rng.choice(('OPERLOG', 'FOODATA'))}",
                                        data=body, content_type="application/x-www-form-urlencoded")
                assert reply.status_code == 200, reply.get_data()
                continue
            sent.append((body, good_count, keys))
        reply = att.post_attlog(serial, body, stamp=upload).get_data(as_text=True)
        if good_count:
            assert reply == f"OK: {good_count}", (reply, body[:300])
            acknowledged |= keys
        else:
            assert reply.startswith("ERROR"), (reply, body[:300])
        if upload % 20 == 19:
            att.work()  # ingestion between uploads: a batch sent again after it was stored adds nothing
    att.work()
    stored = _stored(att, serial)
    assert set(stored) == acknowledged
    assert max(stored.values()) == 1
    assert len(acknowledged) > 500
