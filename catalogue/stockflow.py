"""Stock and flow: what each dataset brings to the SAE, and when.

Every volume is measured (a scan: files, databases, mailboxes) or declared (the grid: the
current stock and the yearly flow of a row a référent added). What is « à verser » in a
dataset's target year is its stock plus its declared flow from this year up to that year;
each part stays apart so that every table and chart says which it shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from catalogue.roadmap import Kind, RoadmapEntry

APPLICATION_SOURCES = ("database", "mail")  # measured volumes that are not files: databases and mailboxes


@dataclass(frozen=True)
class TransferVolume:
    """What a dataset brings to the SAE in its target year, part by part."""

    measured: int = 0  # stock measured by a scan (files, databases, mailboxes)
    applications: int = 0  # the part of `measured` read in databases and mailboxes
    declared_stock: int = 0  # stock declared in the grid (row added, no scan)
    declared_flow: int = 0  # declared yearly flow, from this year up to the target year

    @property
    def total(self) -> int:
        return self.measured + self.declared_stock + self.declared_flow

    def __add__(self, other: TransferVolume) -> TransferVolume:
        return TransferVolume(self.measured + other.measured, self.applications + other.applications,
                              self.declared_stock + other.declared_stock, self.declared_flow + other.declared_flow)


def transfer_volume(e: RoadmapEntry, this_year: int) -> TransferVolume:
    """Stock plus the declared flow up to the target year, for a dataset to transfer (else nothing)."""
    if e.kind is not Kind.TRANSFER or e.target_year is None:
        return TransferVolume()
    f = e.facts
    return TransferVolume(f.bytes, f.bytes if f.source in APPLICATION_SOURCES else 0, f.declared_stock,
                          f.declared_flow * max(e.target_year - this_year, 0))


def transfer_total(entries: Iterable[RoadmapEntry], this_year: int) -> TransferVolume:
    """The sum of the datasets' transfer volumes, part by part."""
    total = TransferVolume()
    for e in entries:
        total += transfer_volume(e, this_year)
    return total


def plan_by_year(entries: list[RoadmapEntry], this_year: int | None = None) -> list[dict]:
    """Per target year: datasets and volume to ingest (total, then measured, declared
    stock and declared flow), datasets and volume to eliminate."""
    this_year = this_year or dt.date.today().year
    years: dict[int, dict] = {}
    for e in entries:
        if e.target_year is None:
            continue
        y = years.setdefault(e.target_year, {"annee": e.target_year, "verser_jeux": 0, "verser_octets": 0,
                                             "verser": TransferVolume(), "eliminer_jeux": 0, "eliminer_octets": 0})
        if e.kind is Kind.TRANSFER:
            part = transfer_volume(e, this_year)
            y["verser_jeux"] += 1
            y["verser_octets"] += part.total
            y["verser"] += part
        elif e.kind in (Kind.ELIMINATE, Kind.KEEP):
            # A dataset kept in service until year N is eliminated that year.
            y["eliminer_jeux"] += 1
            y["eliminer_octets"] += e.facts.stock
    return [years[k] for k in sorted(years)]
