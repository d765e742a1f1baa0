"""Which entries count is approvals' word: scoring follows `creditable` on the latest decision or verification."""
from datetime import date

import pytest
import scoring_events as ev

pytestmark = pytest.mark.postgres
TUESDAY = date(2024, 3, 5)


def test_with_sampled_verification_only_sampled_unverified_entries_wait(scoring, new_nip, token):
    """Rate 0.2, verification required before credit: un-sampled approvals count at once, sampled ones once upheld."""
    boss, staff, verifier = new_nip(), new_nip(), new_nip()
    scoring.feed(ev.unit("dinas-v", "Dinas V"), ev.employee(boss, "dinas-x"),
                 ev.employee(staff, "dinas-v", supervisor=boss), ev.day(staff, TUESDAY))
    plain = ev.entry(staff, "v-plain", TUESDAY, "08:00", "10:00")  # 120 min, not sampled
    sampled = ev.entry(staff, "v-sampled", TUESDAY, "10:00", "11:30")  # 90 min, sampled for verification
    plain_ok = ev.decision(staff, "v-plain", TUESDAY, boss, credited=120, sampled=False, creditable=True)
    sampled_ok = ev.decision(staff, "v-sampled", TUESDAY, boss, credited=90, sampled=True, creditable=False)
    scoring.feed(plain, sampled, plain_ok, sampled_ok)
    scoring.published()

    scoring.feed(ev.month_closed("dinas-v", 2024, 3, verifier))
    [scored] = [e["data"] for e in scoring.published() if e["type"] == "scoring.month.scored"]
    tallied = [(l["entries"], l["credited_minutes"], l["counted"], l["reason"])
               for l in scored["breakdown"]["activity"]["lines"]]
    assert tallied == [(1, 120, True, "counted"), (1, 90, False, "awaiting verification")]
    month = scoring.client.get(f"/months/{staff}/2024-03", headers=token(boss, "supervisor")).get_json()
    lines = {line["entry_id"]: line for line in month["entries"]}
    assert (lines["v-plain"]["counted"], lines["v-plain"]["reason"]) == (True, "counted")
    assert (lines["v-sampled"]["counted"], lines["v-sampled"]["reason"]) == (False, "awaiting verification")
    assert scored["credited_minutes"] == 120 and scored["activity_score"] == "26.67"  # 120 ÷ 450

    scoring.feed(ev.verification(sampled_ok, verifier))  # upheld after the close: the month is re-scored
    [rescored] = [e["data"] for e in scoring.published() if e["type"] == "scoring.month.scored"]
    assert rescored["version"] == 2 and rescored["credited_minutes"] == 210
    assert rescored["activity_score"] == "46.67"
