"""Events reuse one schema instance per type: still refused with the fields at fault, and safe across threads."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.events import InvalidEvent, make_event, parse_event


def _holiday(name, on="2026-08-17"):
    return make_event("directory.holiday.upserted", on, {"date": on, "name": name}, "test")


def test_a_bad_event_after_good_ones_is_refused_naming_its_fields_and_the_next_good_one_passes():
    good = _holiday("Kemerdekaan")
    assert parse_event(good.to_json()).data == good.data
    with pytest.raises(InvalidEvent) as refused:
        make_event("directory.holiday.upserted", "x", {"date": "not a date"}, "test")
    assert set(refused.value.errors["data"]) == {"date", "name"}
    assert parse_event(_holiday("Natal", "2026-12-25").to_json()).data["name"] == "Natal"


def test_events_made_and_parsed_from_several_threads_keep_their_own_data_and_errors():
    def one(i):
        on = f"2026-01-{1 + i % 28:02d}"
        if i % 3 == 0:
            try:
                make_event("directory.holiday.upserted", on, {"date": on, "name": i}, "test")
            except InvalidEvent as exc:
                return ("refused", sorted(exc.errors["data"]))
            return ("accepted", i)
        event = parse_event(_holiday(f"H{i}", on).to_json())
        return (event.data["name"], event.data["date"].isoformat())

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(600)))
    for i, result in enumerate(results):
        expected = ("refused", ["name"]) if i % 3 == 0 else (f"H{i}", f"2026-01-{1 + i % 28:02d}")
        assert result == expected
