"""Indonesian by default, English on request: months, dates and rupiah in the person's language, and a
compiled catalogue that matches its source."""
import io
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import Babel, force_locale

from portal import formats

TRANSLATIONS = Path(__file__).resolve().parents[3] / "services" / "portal" / "translations"


def _app():
    app = Flask("portal")
    Babel(app, default_locale="id")
    return app


def test_months_dates_and_rupiah_in_indonesian():
    with _app().test_request_context():
        assert formats.month_label(2026, 10) == "Oktober 2026"
        assert formats.long_date("2026-08-17") == "17 Agustus 2026"
        assert formats.day_name("2026-08-17") == "Senin, 17 Agustus 2026"
        assert formats.rupiah(4_799_900) == "Rp 4.799.900"
        assert formats.rupiah(-28_000) == "−Rp 28.000"
        assert formats.minutes(450) == "7:30"


def test_english_on_request():
    with _app().test_request_context(), force_locale("en"):
        assert formats.month_label(2026, 10) == "October 2026"
        assert formats.rupiah(4_799_900) == "Rp 4,799,900"


def test_local_time_of_a_stored_instant():
    assert formats.local_time("2026-10-01T00:25:00+00:00", "Asia/Jakarta") == "07:25"
    assert formats.local_time("2026-10-01T00:25:00+00:00", "WITA") == "08:25"


def test_every_message_is_translated_and_the_compiled_catalogue_matches_its_source():
    po = read_po((TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po").open("rb"))
    mo = read_mo(io.BytesIO((TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.mo").read_bytes()))
    def table(catalog):
        return {_plain(m.id): _plain(m.string) for m in catalog if m.id}
    source = table(po)
    assert all(v and all(v) for v in source.values()), [k for k, v in source.items() if not (v and all(v))]
    assert source == table(mo)


def _plain(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value
