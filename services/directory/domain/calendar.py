"""Indonesia's national holidays and cuti bersama of a year, as proposals for the admin, and what a re-seed does.

The source is the maintained `holidays` package (python-holidays): `country_holidays("ID", years=Y,
language="id", categories=...)`. Indonesia has two categories there: `public` (*hari libur nasional*, the national
holidays of the SKB of three ministers) and `government` (*cuti bersama*, the collective leave days of the same
SKB). Names are in Indonesian; a date the package only estimates (the Islamic holidays of a year whose SKB it
does not know yet) carries "(perkiraan)" in its name, which the admin sees before confirming.

A proposal is never in force by itself: the admin confirms, adjusts (date or name) or removes it. A re-seed of the
same year proposes what is new, renames a proposal nobody has decided on yet, withdraws such a proposal the
package no longer lists, and leaves alone every date an admin has decided on (confirmed, adjusted, removed, or
added by hand).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

import holidays

COUNTRY = "ID"
LANGUAGE = "id"
# The package's categories for Indonesia and what they are in the SKB.
CATEGORIES = {holidays.PUBLIC: "hari libur nasional", holidays.GOVERNMENT: "cuti bersama"}
HAND = "admin"  # the source of a holiday added by hand


@dataclass(frozen=True)
class Proposal:
    """A holiday the calendar proposes: its date, Indonesian name, and where it came from."""

    date: date
    name: str
    source: str


@dataclass(frozen=True)
class Stored:
    """A holiday row as the re-seed needs it. `decided`: an admin confirmed, adjusted, removed or added it."""

    date: date
    name: str
    source: str
    decided: bool


@dataclass(frozen=True)
class SeedPlan:
    """What a seed writes: new proposals, renamed proposals, withdrawn proposals, and the dates left alone."""

    new: tuple[Proposal, ...]
    renamed: tuple[Proposal, ...]
    withdrawn: tuple[date, ...]
    kept: tuple[date, ...]


def source_label(category: str) -> str:
    """The source stored with a proposal: the package, its version and the category."""
    return f"holidays {holidays.__version__} {COUNTRY} {category}"


def national_holidays(year: int) -> list[Proposal]:
    """The year's national holidays and cuti bersama of Indonesia, in date order; two on one date are joined."""
    by_date: dict[date, list[tuple[str, str]]] = {}
    for category in CATEGORIES:
        calendar = holidays.country_holidays(COUNTRY, years=year, language=LANGUAGE, categories=(category,))
        for day in sorted(calendar):
            by_date.setdefault(day, []).extend((name, category) for name in calendar.get_list(day))
    return [Proposal(day, "; ".join(name for name, _ in entries),
                     source_label("+".join(dict.fromkeys(category for _, category in entries))))
            for day, entries in sorted(by_date.items())]


def plan_seed(proposals: Iterable[Proposal], stored: Mapping[date, Stored]) -> SeedPlan:
    """What seeding `proposals` over the year's `stored` holidays changes (see the module docstring)."""
    proposals = list(proposals)
    listed = {p.date for p in proposals}
    new, renamed, kept = [], [], []
    for proposal in proposals:
        current = stored.get(proposal.date)
        if current is None:
            new.append(proposal)
        elif current.decided or current.source == HAND:
            kept.append(proposal.date)
        elif (current.name, current.source) != (proposal.name, proposal.source):
            renamed.append(proposal)
    withdrawn = [day for day, row in sorted(stored.items())
                 if day not in listed and not row.decided and row.source != HAND]
    return SeedPlan(tuple(new), tuple(renamed), tuple(withdrawn), tuple(kept))
