"""The services' words the pages show (states, statuses, flag kinds, actions), marked for translation.

The services answer with these codes; the pages translate each one where it is shown.
"""
from portal.domain.navigation import N_

ENTRY_STATES = (N_("submitted"), N_("approved"), N_("rejected"), N_("struck"), N_("withdrawn"))
RUN_STATES = (N_("draft"), N_("reviewed"), N_("approved"), N_("paid"))
ACTIONS = (N_("approve"), N_("reject"), N_("strike"), N_("set_minutes"))
DAY_STATUSES = (N_("present"), N_("late"), N_("absent"), N_("leave"), N_("sick"), N_("duty"), N_("permission"),
                N_("holiday"), N_("off"))
FLAG_STATES = (N_("open"), N_("cleared"), N_("resolved"))
FLAG_KINDS = (N_("overtime_without_activity"), N_("activity_outside_attendance"),
              N_("activity_without_attendance"), N_("overlapping_activities"), N_("activity_exceeds_presence"),
              N_("present_without_activity"), N_("missing_clock_in"), N_("missing_clock_out"),
              N_("late_arrival"), N_("early_leave"), N_("doubtful_presence"))
SCORE_FACTS = (N_("activity_score"), N_("discipline_score"), N_("final_score"), N_("predicate"))
DEVICE_STATES = (N_("pending"), N_("approved"), N_("disabled"))
BUDGET_SERIES = (N_("planned"), N_("paid"))
BEHAVIOUR_LEVELS = (N_("below"), N_("meets"), N_("above"))
# The identity service's reasons for refusing a new password (shown next to the password field).
PASSWORD_PROBLEMS = (N_("at least 10 characters"), N_("must not contain the NIP"), N_("too few different characters"),
                     N_("The code is unknown, used or expired: ask your admin for a new one."),
                     N_("This password is not accepted."), N_("This account is not active."))
# The seven BerAKHLAK values a supervisor rates each month (scoring's keys; their names are the same in both
# languages, as the regulation (PermenPANRB 6/2022) names them).
BEHAVIOUR_VALUES = (("berorientasi_pelayanan", "Berorientasi Pelayanan"), ("akuntabel", "Akuntabel"),
                    ("kompeten", "Kompeten"), ("harmonis", "Harmonis"), ("loyal", "Loyal"), ("adaptif", "Adaptif"),
                    ("kolaboratif", "Kolaboratif"))
