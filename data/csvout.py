"""The one way this product writes CSV for a spreadsheet to open.

Every text cell is quoted, so a semicolon-locale spreadsheet does not split it at
a ``;``; and every formula prefix (= + - @) that starts the cell, or follows any
delimiter a locale may use (, ; tab |) or a line break, gets an apostrophe, so
no part of a cell runs as a formula even if it is split after all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_AFTER_DELIMITER = re.compile(r"(^|[,;\t|\r\n])(\s*)([=+\-@])")


def safe_cell(value: object) -> str:
    """A text cell a spreadsheet will not run as a formula, wherever it splits it."""
    text = "" if value is None else str(value)
    return FORMULA_AFTER_DELIMITER.sub(r"\1\2'\3", text)


def csv_text(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV with quoted, neutralised text cells; numbers stay numbers."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([safe_cell(header) for header in headers])
    for row in rows:
        writer.writerow(
            [value if isinstance(value, int | float) and not isinstance(value, bool)
             else safe_cell(value) for value in row]  # fmt: skip
        )
    return out.getvalue()
