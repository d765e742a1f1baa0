"""The count behind `OK: <n>` is the parser's count, whatever the lines look like."""
import random

from attendance.domain import adms
from attendance.handlers.devices import count_attlog

GOOD = "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t10881"
LINES = [
    GOOD, "8\t2025-01-29 12:10:17\t1\t1\t0\t0\t0\t0\t0\t0\t10902", "11\t2025-08-27 10:57:49\t0\t25\t0\t0\t0\t0\t0\t0",
    "46\t2025-01-29 06:58:48\t0\t15\t0", "46\t2025-01-29 06:58:48\t0\t15\t", "46\t2025-01-29 16:0",
    "46\t2025-02-30 07:00:00\t0\t1\t0", "46\t0000-01-01 07:00:00\t0\t1\t0", "46\t2025-01-29 24:00:00\t0\t1\t0",
    "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\tx1", "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t\t",
    "46\t2025-01-29 06:58:48\t0\t15\t0\t0\t0\t0\t0\t0\t", " 46 \t2025-01-29 06:58:48\t0\t15\t0", "Ä6\t2025-01-29 06:58:48\t0\t1\t0",
    "46\t2025-01-29 06:58:48\t-1\t15\tabc\tdef", "46\t2025-01-29 06:58:48\t0\t15\t0\t\t\t\t\t\t1234567890123456789",
    "", "   ", "\r", "\x0b\x0c", "garbage", "1234567890123456789012345\t2025-01-29 06:58:48\t0\t1\t0",
    "46\t2024-02-29 07:00:00\t0\t1\t0", "46\t2025-02-29 07:00:00\t0\t1\t0", "46\t1900-02-29 07:00:00\t0\t1\t0",
    "46\t2025-04-31 07:00:00\t0\t1\t0", "46\t2025-01-31 07:00:00\t0\t1\t0", "46\t2025-01-29 06:58:48\t0\t15\t0 ",
    "46\t2025-12-31 23:59:59\t0\t1\t0\t1\t2\t3\t4\t5\t6\t7",
]


def _parser_count(body: bytes) -> int:
    parsed = adms.parse_attlog(body)
    return len(parsed.records) + parsed.duplicates


def test_known_line_shapes_are_counted_as_the_parser_counts_them():
    for line in LINES:
        for body in (line.encode(), (line + "\r\n").encode(), f"{GOOD}\n{line}\n{GOOD}\r\n".encode()):
            assert count_attlog(body) == _parser_count(body), body
    assert count_attlog(b"\xff\xfe\x00garbage\x01\n" + GOOD.encode()) == 1
    assert count_attlog(("\n".join([GOOD] * 3)).encode()) == 3  # repeats are acknowledged too


def test_mangled_lines_are_counted_as_the_parser_counts_them():
    rng = random.Random(20250129)
    alphabet = "\t \r0123456789-:aZ\x00é"
    for _ in range(3000):
        chars = list(rng.choice(LINES[:3]))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(chars) + 1)
            action = rng.random()
            if action < 0.4 and chars:
                chars[min(at, len(chars) - 1)] = rng.choice(alphabet)
            elif action < 0.7:
                chars.insert(at, rng.choice(alphabet))
            elif chars:
                del chars[min(at, len(chars) - 1)]
        body = f"{GOOD}\n{''.join(chars)}\r\n".encode()
        assert count_attlog(body) == _parser_count(body), body
