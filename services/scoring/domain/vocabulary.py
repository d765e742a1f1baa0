"""Names shared by the scoring rules and their policy: flag kinds, predicates, BerAKHLAK values."""

from enum import StrEnum


class FlagKind(StrEnum):
    """What a cross-check between attendance and activities found."""

    OVERTIME_WITHOUT_ACTIVITY = "overtime_without_activity"
    ACTIVITY_OUTSIDE_ATTENDANCE = "activity_outside_attendance"
    ACTIVITY_WITHOUT_ATTENDANCE = "activity_without_attendance"
    OVERLAPPING_ACTIVITIES = "overlapping_activities"
    ACTIVITY_EXCEEDS_PRESENCE = "activity_exceeds_presence"
    PRESENT_WITHOUT_ACTIVITY = "present_without_activity"
    MISSING_CLOCK_IN = "missing_clock_in"
    MISSING_CLOCK_OUT = "missing_clock_out"
    LATE_ARRIVAL = "late_arrival"
    EARLY_LEAVE = "early_leave"
    DOUBTFUL_PRESENCE = "doubtful_presence"  # a check-in from a phone awaiting the supervisor's review


SANGAT_BAIK = "Sangat Baik"
BAIK = "Baik"
BUTUH_PERBAIKAN = "Butuh Perbaikan"
CUKUP = "Cukup"
KURANG = "Kurang"
SANGAT_KURANG = "Sangat Kurang"

# PermenPANRB 6/2022 predicates, best first; its "Kurang/Misconduct" cell is reported as KURANG.
MATRIX_PREDICATES = (SANGAT_BAIK, BAIK, BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG)
# PP 30/2019 predicates, best first.
PP30_PREDICATES = (SANGAT_BAIK, BAIK, CUKUP, KURANG, SANGAT_KURANG)
ALL_PREDICATES = (SANGAT_BAIK, BAIK, BUTUH_PERBAIKAN, CUKUP, KURANG, SANGAT_KURANG)

BELOW = "below"
MEETS = "meets"
ABOVE = "above"

# The seven BerAKHLAK core values of ASN behaviour (PermenPANRB 6/2022).
BERAKHLAK_VALUES = (
    "berorientasi_pelayanan",
    "akuntabel",
    "kompeten",
    "harmonis",
    "loyal",
    "adaptif",
    "kolaboratif",
)

LATE_BANDS = ("TL1", "TL2", "TL3", "TL4")
EARLY_BANDS = ("PSW1", "PSW2", "PSW3", "PSW4")
TK = "TK"
