"""CSV that a spreadsheet opens without running anything: the one writer for every CSV we
export (import rejects, deliveries, consular check-ins, after-action reports).

A cell that begins with =, +, -, @, a tab or a carriage return is read by Excel, LibreOffice
and Google Sheets as a formula ("CSV injection": =HYPERLINK(...) leaking data, DDE running a
command). Such a cell is written with a leading apostrophe, which every spreadsheet shows as
plain text (OWASP's advice). Numbers and phone numbers, whole or masked (+99450***4567), are
left as they are: made of digits, + and *, they name no function, no cell and no program, so
they cannot run anything, and quoting them would only spoil every export for its reader."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

from alerts.validation import printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_INERT = re.compile(r"\+?[0-9*]+|-?[0-9]+(\.[0-9]+)?", re.ASCII)


def cell(value: Any) -> Any:
    """`value` as it may be written: text that a spreadsheet would run is made text again, and
    what no file can carry (a lone surrogate would fail the whole export) is U+FFFD."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    if value.startswith(FORMULA_STARTS) and not _INERT.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer's writerow and writerows, every cell passed through `cell`."""

    def __init__(self, stream: Any, **fmt: Any) -> None:
        self._writer = csv.writer(stream, **fmt)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: Any, **fmt: Any) -> SafeWriter:
    """Use in place of csv.writer(stream, ...)."""
    return SafeWriter(stream, **fmt)
