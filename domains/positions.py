"""Pages a system of record can resume at any depth: each item says where the list
goes on after it.

Offsets break deep in a list (SOQL refuses OFFSET past 2,000 rows; OData ``$skip``
slows down), so ports whose systems can seek (keyset on a stable key) take ``after``,
an opaque position, and answer a :class:`PositionedPage`. A position is the adapter's
to define and to check; the domain only carries it, inside its signed cursor, to the
next call of the same list with the same filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from domains.paging import Page

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PositionedPage(Page[T]):
    """A page whose ``positions[i]`` resumes the list right after ``items[i]``.

    ``after=positions[i]`` on the next call continues behind item ``i``, so a caller
    that keeps only some of the items (tenant filtering) resumes exactly where it
    stopped reading, never skipping or repeating a record.
    """

    positions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.items):
            raise ValueError("a positioned page needs one position per item")

    @property
    def next_position(self) -> str | None:
        """Where the page after this one starts; None at the end of the list."""
        return self.positions[-1] if self.has_more and self.positions else None
