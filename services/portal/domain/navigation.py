"""Which pages a person sees in the navigation, by role."""
from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:
    """Mark `text` for translation; it is translated where it is shown."""
    return text


@dataclass(frozen=True)
class Page:
    """One navigation entry: its endpoint, label (an English message id) and the roles that see it."""

    endpoint: str
    label: str
    roles: frozenset[str]


PAGES = (
    Page("portal.home", N_("Home"), frozenset()),
    Page("portal.work", N_("Today's work"), frozenset({"staff"})),
    Page("presence.checkin", N_("Check in"), frozenset({"staff"})),
    Page("portal.my_days", N_("My days"), frozenset({"staff"})),
    Page("portal.payslips", N_("My payslips"), frozenset({"staff"})),
    Page("portal.queue", N_("Approvals"), frozenset({"supervisor"})),
    Page("portal.ratings", N_("Behaviour ratings"), frozenset({"supervisor"})),
    Page("presence.review", N_("Check-ins to review"), frozenset({"supervisor"})),
    Page("portal.verification", N_("Verification"), frozenset({"verifier"})),
    Page("portal.runs", N_("Payroll"), frozenset({"finance"})),
    Page("finance.simulation", N_("Policy simulation"), frozenset({"finance", "admin"})),
    Page("leaders.dashboard_page", N_("Dashboard"), frozenset({"supervisor", "verifier", "finance", "admin", "ops"})),
    Page("leaders.devices", N_("Devices"), frozenset({"admin", "ops"})),
    Page("leaders.roster", N_("Roster import"), frozenset({"admin"})),
    Page("admin.verifiers", N_("Verifiers"), frozenset({"admin", "ops"})),
    Page("admin.holidays", N_("Holidays"), frozenset({"admin", "ops"})),
    Page("admin.schedules", N_("Schedules"), frozenset({"admin", "ops"})),
    Page("admin.areas", N_("Check-in areas"), frozenset({"admin", "ops"})),
    Page("portal.transparency", N_("Transparency"), frozenset()),
)


def pages_for(roles) -> list[Page]:
    """The pages a person with `roles` may open, in menu order (pages without roles are everyone's)."""
    held = set(roles)
    return [page for page in PAGES if not page.roles or page.roles & held]


def may_open(endpoint: str, roles) -> bool:
    """Whether a person with `roles` may open the page `endpoint` (pages outside the menu are not limited here)."""
    listed = [page for page in PAGES if page.endpoint == endpoint]
    return not listed or bool(set(pages_for(roles)) & set(listed))
