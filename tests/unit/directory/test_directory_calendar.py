"""The national calendar proposed to the admin: 2026 as the `holidays` package gives it (checked by hand against
the SKB of three ministers for 2026: 17 national holidays and 8 days of cuti bersama), and what a re-seed does."""
from datetime import date

import holidays

from directory.domain.calendar import HAND, Proposal, Stored, national_holidays, plan_seed, source_label

PUBLIC, CUTI = source_label("public"), source_label("government")

# 2026, by hand: Idul Fitri 1447 H on 21-22 March (cuti bersama 20, 23, 24 March), Idul Adha 27 May, Nyepi 19 March.
EXPECTED_2026 = [
    (date(2026, 1, 1), "Tahun Baru Masehi", PUBLIC),
    (date(2026, 1, 16), "Isra Mikraj Nabi Muhammad", PUBLIC),
    (date(2026, 2, 16), "Cuti Bersama Tahun Baru Imlek", CUTI),
    (date(2026, 2, 17), "Tahun Baru Imlek", PUBLIC),
    (date(2026, 3, 18), "Cuti Bersama Hari Suci Nyepi", CUTI),
    (date(2026, 3, 19), "Hari Suci Nyepi", PUBLIC),
    (date(2026, 3, 20), "Cuti Bersama Hari Raya Idul Fitri", CUTI),
    (date(2026, 3, 21), "Hari Raya Idul Fitri", PUBLIC),
    (date(2026, 3, 22), "Hari kedua dari Hari Raya Idul Fitri", PUBLIC),
    (date(2026, 3, 23), "Cuti Bersama Hari Raya Idul Fitri", CUTI),
    (date(2026, 3, 24), "Cuti Bersama Hari Raya Idul Fitri", CUTI),
    (date(2026, 4, 3), "Wafat Yesus Kristus", PUBLIC),
    (date(2026, 4, 5), "Kebangkitan Yesus Kristus", PUBLIC),
    (date(2026, 5, 1), "Hari Buruh Internasional", PUBLIC),
    (date(2026, 5, 14), "Kenaikan Yesus Kristus", PUBLIC),
    (date(2026, 5, 15), "Cuti Bersama Kenaikan Yesus Kristus", CUTI),
    (date(2026, 5, 27), "Hari Raya Idul Adha", PUBLIC),
    (date(2026, 5, 28), "Cuti Bersama Hari Raya Idul Adha", CUTI),
    (date(2026, 5, 31), "Hari Raya Waisak", PUBLIC),
    (date(2026, 6, 1), "Hari Lahir Pancasila", PUBLIC),
    (date(2026, 6, 16), "Tahun Baru Islam", PUBLIC),
    (date(2026, 8, 17), "Hari Kemerdekaan Republik Indonesia", PUBLIC),
    (date(2026, 8, 25), "Maulid Nabi Muhammad", PUBLIC),
    (date(2026, 12, 24), "Cuti Bersama Hari Raya Natal", CUTI),
    (date(2026, 12, 25), "Hari Raya Natal", PUBLIC),
]


def test_2026_national_holidays_and_cuti_bersama_in_indonesian():
    assert holidays.__version__ == "0.109"  # the pin: another version may move a date, and this list says why
    assert [(p.date, p.name, p.source) for p in national_holidays(2026)] == EXPECTED_2026
    assert PUBLIC == "holidays 0.109 ID public" and CUTI == "holidays 0.109 ID government"


def test_an_estimated_date_says_so_in_its_name():
    # The package does not know the 2027 SKB's Idul Fitri yet: the admin sees "(perkiraan)" before confirming.
    names = {p.date: p.name for p in national_holidays(2027)}
    assert names[date(2027, 3, 10)] == "Hari Raya Idul Fitri (perkiraan)"


def _stored(day, name, source=PUBLIC, decided=False):
    return Stored(day, name, source, decided)


def test_a_first_seed_proposes_everything_and_a_second_changes_nothing():
    proposals = national_holidays(2026)
    first = plan_seed(proposals, {})
    assert len(first.new) == 25 and not (first.renamed or first.withdrawn or first.kept)
    stored = {p.date: _stored(p.date, p.name, p.source) for p in first.new}
    again = plan_seed(proposals, stored)
    assert (again.new, again.renamed, again.withdrawn, again.kept) == ((), (), (), ())


def test_a_reseed_leaves_decided_and_hand_dates_alone_and_updates_only_undecided_proposals():
    independence, christmas, labour = date(2026, 8, 17), date(2026, 12, 25), date(2026, 5, 1)
    proposals = [Proposal(independence, "Hari Kemerdekaan Republik Indonesia", PUBLIC),
                 Proposal(christmas, "Hari Raya Natal", PUBLIC), Proposal(labour, "Hari Buruh Internasional", PUBLIC)]
    stored = {
        independence: _stored(independence, "HUT RI ke-81", decided=True),        # adjusted by the admin
        christmas: _stored(christmas, "Natal (lama)"),                           # an undecided proposal
        labour: _stored(labour, "Libur daerah", source=HAND),                    # added by hand
        date(2026, 3, 30): _stored(date(2026, 3, 30), "Idul Fitri (perkiraan)"),  # the package moved it
        date(2026, 4, 20): _stored(date(2026, 4, 20), "Hari jadi kabupaten", source=HAND),
        date(2026, 6, 2): _stored(date(2026, 6, 2), "dihapus", decided=True),    # removed by the admin
    }
    plan = plan_seed(proposals, stored)
    assert plan.new == ()
    assert plan.renamed == (Proposal(christmas, "Hari Raya Natal", PUBLIC),)
    assert set(plan.kept) == {independence, labour}
    assert plan.withdrawn == (date(2026, 3, 30),)
