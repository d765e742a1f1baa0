"""The events' and the database's JSON codec writes the values the standard library's `json` writes."""
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from runtime import jsoncodec


def _standard(value, sort_keys=False):
    """What the codec replaced: `json.dumps` with dates and instants as `isoformat()`, decimals as strings."""
    def default(v):
        if isinstance(v, (datetime, date)):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        raise TypeError(type(v).__name__)
    return json.dumps(value, default=default, sort_keys=sort_keys)


INSTANTS = [datetime(2026, 12, 1, 12, 40, 0, 446389, tzinfo=timezone.utc), datetime(2026, 12, 1, 7, 30),
            datetime(2026, 12, 1, 7, 30, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59),
            *(datetime(year, 12, 1, 7, 30, 1, 10, tzinfo=ZoneInfo(zone)) for year in (1950, 2026)
              for zone in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "America/St_Johns", "Asia/Kathmandu")),
            datetime(2026, 6, 1, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=-3, minutes=-30))), date(2026, 11, 2),
            date(1, 1, 1)]
VALUES = [{"z": 1, "a": [1.5, -2, None, True, False], "é": 'ünïcode \u2028 "quoted" \\ back'},
          {"score": Decimal("87.25"), "at": INSTANTS, "nested": {"b": {"d": [], "c": {}}, "a": ""}},
          [{"punch_ids": ["3f1c5a9e-7b5d-4c2e-9a1b-2c3d4e5f6a7b"], "late_minutes": 0}], "text", 10 ** 15, None]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_the_codec_writes_the_value_json_writes(value, sort_keys):
    text = jsoncodec.dumps(value, sort_keys=sort_keys)
    assert json.loads(text) == json.loads(_standard(value, sort_keys))
    assert jsoncodec.loads(text) == json.loads(text)
    if sort_keys or not isinstance(value, dict):  # the keys in the same order: the same text but for spacing
        assert json.dumps(json.loads(text)) == json.dumps(json.loads(_standard(value, sort_keys)))


def test_instants_are_written_as_isoformat_writes_them():
    assert json.loads(jsoncodec.dumps(INSTANTS)) == [moment.isoformat() for moment in INSTANTS]


def test_what_json_refuses_the_codec_refuses():
    for value in ({"s": {1, 2}}, object(), {"x": 1j}):
        with pytest.raises(TypeError):
            _standard(value)
        with pytest.raises(TypeError):
            jsoncodec.dumps(value)
    for text in ("{", "", "[1,]", b"\xff"):
        with pytest.raises(ValueError):
            jsoncodec.loads(text)


def test_an_instants_text_is_its_isoformat():
    moments = [m for m in INSTANTS if isinstance(m, datetime)] + [
        datetime(2026, 12, 1, 0, 0, 0, 1, tzinfo=UTC), datetime(1900, 1, 1, 7, 30, tzinfo=ZoneInfo("Asia/Jakarta"))]
    assert [jsoncodec.isoformat(moment) for moment in moments] == [moment.isoformat() for moment in moments]
