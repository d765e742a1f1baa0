import pytest

from activities.domain import ActivitiesPolicy, EvidencePolicy, check_evidence, sniff_evidence

MIB = 1024 * 1024


@pytest.mark.parametrize(
    "first_bytes, mime",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\xff\xd8\xff\xe1\x00\x18Exif\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf"),
        (b"Laporan kegiatan hari ini\n", None),  # a text file renamed foto.jpg
        (b"GIF89a\x01\x00", None),
        (b"PK\x03\x04\x14\x00", None),  # a .docx
        (b"\x89PNG\r\n", None),  # truncated signature
        (b"", None),
    ],
)
def test_the_type_comes_from_the_first_bytes(first_bytes, mime):
    assert sniff_evidence(first_bytes) == mime


@pytest.mark.parametrize(
    "size, mime, evidence, messages",
    [
        (200_000, "image/jpeg", EvidencePolicy(), []),
        (5 * MIB, "application/pdf", EvidencePolicy(), []),
        (5 * MIB + 1, "image/png", EvidencePolicy(), ["is larger than 5 MiB"]),
        (0, "image/png", EvidencePolicy(), ["is empty"]),
        (1000, None, EvidencePolicy(), ["is not an accepted type"]),
        (1000, "application/pdf", EvidencePolicy(types=("image/jpeg", "image/png")), ["is not an accepted type"]),
        (3 * MIB, "image/jpeg", EvidencePolicy(max_bytes=2 * MIB), ["is larger than 2 MiB"]),
        (600 * 1024, "image/jpeg", EvidencePolicy(max_bytes=512 * 1024), ["is larger than 512 KiB"]),
    ],
)
def test_size_and_type_limits(size, mime, evidence, messages):
    errors = check_evidence(size, mime, ActivitiesPolicy(evidence=evidence))
    assert [error.field for error in errors] == ["file"] * len(messages)
    assert all(error.message.startswith(start) for error, start in zip(errors, messages))
