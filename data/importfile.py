"""Reading an import file: CSV (any common delimiter, UTF-8 or Latin-1) or Excel."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field

from babel.numbers import format_decimal

from data.csvout import csv_text
from data.errors import ValidationFailed
from data.fields import FIELDS
from data.i18n import _, current_language, ngettext
from data.numbers import DEFAULT_LOCALE, NumericCell, locale_of

MAX_BYTES = 20 * 1024 * 1024
"""A file as uploaded (the web request that carries it is capped a little above)."""
MAX_ROWS = 200_000
MAX_CELLS = MAX_ROWS * 30
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
"""An Excel file is a zip: what its parts unpack to, checked before any is read (a 1.5 MB
file can unpack to gigabytes)."""
DELIMITERS = ",;\t|"


@dataclass
class FileRow:
    number: int
    """The row's line in the file, the header being line 1."""
    values: dict[str, str]
    problem: str | None = None
    locale: str = DEFAULT_LOCALE
    """How numbers are written in the file's text cells (its decimal convention)."""


@dataclass
class ImportFile:
    filename: str
    columns: list[str]
    """Field names, in the file's order."""
    rows: list[FileRow] = field(default_factory=list)
    locale: str = DEFAULT_LOCALE


def _column_for(header: str) -> str | None:
    key = header.strip().lower()
    for spec in FIELDS:
        if key in (spec.name, spec.label_id.lower(), spec.label.lower()):
            return spec.name
    return None


def _decode(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's Unicode Text
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise ValidationFailed({"file": _("this UTF-16 text file cannot be read")}) from None
    if b"\x00" in content[:8192]:
        raise ValidationFailed({"file": _("this is not a text CSV file (it holds binary data)")})
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


class _Budget:
    """Rows and cells read so far; refuses the file once either passes its limit."""

    def __init__(self) -> None:
        self.rows = self.cells = 0

    def take(self, cells: int) -> None:
        self.rows += 1
        self.cells += cells
        if self.rows > MAX_ROWS + 1:
            raise ValidationFailed(
                {
                    "file": _("the file has more than {count} rows; split it into parts").format(
                        count=format_decimal(MAX_ROWS, locale=current_language())
                    )
                }
            )
        if self.cells > MAX_CELLS:
            raise ValidationFailed(
                {
                    "file": _("the file has more than {count} cells; split it into parts").format(
                        count=format_decimal(MAX_CELLS, locale=current_language())
                    )
                }
            )


def _records_from_csv(text: str) -> list[list[str]]:
    sample = text[:20000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    budget, records = _Budget(), []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        if any(c.strip() for c in row):
            budget.take(len(row))
            records.append(row)
    return records


def _check_unpacked_size(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise ValidationFailed({"file": _("this Excel file cannot be read")}) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationFailed(
            {"file": _("this Excel file unpacks to more than {size} MB; split it into parts or "
                       "save it as CSV").format(size=MAX_UNPACKED_BYTES // 2**20)}
        )  # fmt: skip


def _records_from_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    _check_unpacked_size(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed({"file": _("this Excel file cannot be read")}) from None
    try:
        sheet = workbook.worksheets[0]
        budget, records = _Budget(), []
        for row in sheet.iter_rows(values_only=True):  # read_only: row by row, as it streams
            cells = [_cell_text(value) for value in row]
            if any(cell.strip() for cell in cells):
                budget.take(len(cells))
                records.append(cells)
    finally:
        workbook.close()
    return records


def _cell_text(value: object) -> str:
    """An Excel cell as text; a number cell keeps its value whatever the file's convention."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return NumericCell(value)
    return str(value)


DECIMAL_CONVENTIONS = {".": "en", ",": "it"}
"""A file's decimal separator → the locale its numbers are read in (1,500.00 or 1.500,00)."""


def read_import_file(filename: str, content: bytes, locale: str | None = None) -> ImportFile:
    """Parse the file, or raise ValidationFailed saying what is wrong with it as a whole;
    numbers in its text cells are read as written in ``locale``."""
    locale = locale_of(locale)
    if len(content) > MAX_BYTES:
        raise ValidationFailed(
            {"file": _("the file is larger than {size} MB").format(size=MAX_BYTES // (1024 * 1024))}
        )
    if not content.strip():
        raise ValidationFailed({"file": _("the file is empty")})
    if filename.lower().endswith((".xlsx", ".xlsm")) or content[:2] == b"PK":
        records = _records_from_xlsx(content)
    else:
        records = _records_from_csv(_decode(content))
    if not records:
        raise ValidationFailed({"file": _("the file is empty")})
    header, *data = records
    columns = [_column_for(name) for name in header]
    unknown = [name.strip() for name, column in zip(header, columns, strict=True) if column is None]
    if unknown:
        raise ValidationFailed(
            {"file": _("unknown columns: {columns}").format(columns=", ".join(unknown))}
        )
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValidationFailed(
            {"file": _("columns given twice: {columns}").format(columns=", ".join(duplicates))}
        )
    if "account" not in columns:
        raise ValidationFailed({"file": _("the key column Account number (account) is missing")})
    if not data:
        raise ValidationFailed({"file": _("the file has a header but no rows")})
    rows = []
    for number, record in enumerate(data, start=2):
        extra = [cell for cell in record[len(columns) :] if cell.strip()]
        cells = record[: len(columns)] + [""] * (len(columns) - len(record))
        problem = (
            ngettext("has {count} cell more than the header",
                     "has {count} cells more than the header", len(extra)).format(count=len(extra))
            if extra
            else None
        )  # fmt: skip
        rows.append(FileRow(number, dict(zip(columns, cells, strict=True)), problem, locale))
    return ImportFile(filename=filename, columns=list(columns), rows=rows, locale=locale)


def template_csv(locale: str | None = None) -> str:
    """An empty import file: every field's header and one example row, its amount written
    with ``locale``'s decimal separator."""
    example = {
        "account": "C900001",
        "name": "Example Trading S.r.l.",
        "customer_group": "RETAIL",
        "currency": "EUR",
        "on_hold": "No",
        "credit_limit": format_decimal(25000, format="0.00", locale=locale_of(locale)),
        "terms_of_payment": "Net30",
        "payment_terms_base_days": "30",
        "country": "IT",
        "email": "accounts@example.com",
    }
    names = [spec.name for spec in FIELDS]
    return csv_text(names, [[example.get(name, "") for name in names]])
