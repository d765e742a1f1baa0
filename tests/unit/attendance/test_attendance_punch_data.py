"""A stored punch's event data is read from its row by position: the same as reading each column by its name."""
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, literal, select

from attendance import store
from attendance.handlers.punches import punch_data
from runtime.events import make_events

VALUES = {"id": 41, "device_serial": "DEV1", "pin": "46", "employee_id": "198001012005011001", "source": "adms",
          "at": datetime(2025, 1, 29, 0, 58, 48), "local_time": datetime(2025, 1, 29, 7, 58, 48),
          "zone": "Asia/Jakarta", "local_date": date(2025, 1, 29), "device_status": 0, "verify": 15}


def _by_name(row) -> dict:
    return {"punch_id": str(row.id), "employee_id": row.employee_id, "device_serial": row.device_serial,
            "pin": row.pin, "source": row.source, "at": row.at.replace(tzinfo=UTC), "local_time": row.local_time,
            "zone": row.zone, "local_date": row.local_date, "device_status": row.device_status, "verify": row.verify}


def test_a_rows_punch_columns_and_any_after_them_give_the_data_read_by_name():
    engine = create_engine("sqlite://")
    extra = {"origin": "api", "voided_at": None, "photo_id": 7}  # what the list of punches selects after them
    with engine.connect() as conn:
        for columns in (store.PUNCH_COLUMNS, (*store.PUNCH_COLUMNS, *extra)):
            row = conn.execute(select(*(literal({**VALUES, **extra}[name]).label(name) for name in columns))).one()
            assert punch_data(row) == _by_name(row)
            event, = make_events("attendance.punch.recorded", [(row.employee_id, punch_data(row))], "t")
            assert event.data == _by_name(row) and event.dumped["at"] == "2025-01-29T00:58:48+00:00"
    assert set(VALUES) == set(store.PUNCH_COLUMNS)
