"""How a CSV file is written: its text encoding, field delimiter, decimal mark and date order.

Files come from Yahoo and vendors (UTF-8, commas, decimal points, ISO dates) but also from European
brokers and spreadsheets: semicolons or tabs, decimal commas with dots between thousands
(``1.234,56``), day-first dates (``31.12.2014``), a byte-order mark, Windows-1252 or Latin-1 text.
Everything is detected from the file and can be forced (``CsvFormat``):

* encoding: a byte-order mark decides (UTF-8 or UTF-16); else UTF-8 if the bytes are valid UTF-8,
  else Windows-1252, else Latin-1 (which reads any byte);
* delimiter: of ``,`` ``;`` tab and ``|``, the one that splits the header and the first rows into the
  same number of fields (at least two), the most fields winning;
* decimal mark: from the price cells; a cell whose only separator has exactly three digits after it
  (``1,234``) says nothing, the others vote;
* date order: day first when a first number above 12 appears (``31.12.2014``), month first when a
  second one does; when neither does, day first for dotted dates (nobody writes ``12.31.2014``) and in
  files with decimal commas (European files), else month first. ISO dates (``2014-12-31``) are never
  affected.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from workstation.errors import InvalidInputError

DELIMITERS = (",", ";", "\t", "|")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DECIMALS = (".", ",")
_SAMPLE_LINES = 50
_UNAMBIGUOUS_SHARE = 0.9

# A number with a decimal comma, optionally dots (or spaces) between thousands: 1,5  1.234,56  1 234,5
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}([. \u00a0\u202f]\d{3})+|\d+),\d+$")
# A number with a decimal point, optionally commas (or spaces) between thousands: 1.5  1,234.56
_DECIMAL_POINT = re.compile(r"^[+-]?(\d{1,3}([, \u00a0\u202f]\d{3})+|\d+)\.\d+$")
_GROUPED_BY_SPACE = re.compile(r"\d[ \u00a0\u202f]\d{3}(?:\D|$)")
# One separator followed by exactly three digits: 1,234 or 1.234 could be either.
_AMBIGUOUS = re.compile(r"^[+-]?\d{1,3}[.,]\d{3}$")
# The leading day/month numbers of a date that is not ISO: 31.12.2014, 1/2/14, 02-01-2014 09:30
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})([./-])(\d{1,2})\2\d{2,4}(?:\D|$)")


@dataclass(frozen=True)
class CsvFormat:
    """What to force when reading a bar file; None means: detect it from the file."""

    delimiter: str | None = None
    decimal: str | None = None
    dayfirst: bool | None = None

    def __post_init__(self) -> None:
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise InvalidInputError(f"the delimiter must be one character, got {self.delimiter!r}")
        if self.decimal is not None and self.decimal not in DECIMALS:
            raise InvalidInputError(f"the decimal mark must be '.' or ',', got {self.decimal!r}")
        if self.delimiter is not None and self.delimiter == self.decimal:
            raise InvalidInputError("the delimiter and the decimal mark cannot be the same character")


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding), encoding
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=delimiter)]


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the header and the first rows alike (',' when nothing does)."""
    lines = [line.rstrip("\r\n") for line in itertools.islice(io.StringIO(text), _SAMPLE_LINES + 1) if line.strip()]
    best, best_fields = ",", 0
    for delimiter in DELIMITERS:
        counts = _field_counts(lines, delimiter)
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(1 for count in counts if count == counts[0])
        if agreeing / len(counts) >= _UNAMBIGUOUS_SHARE and counts[0] > best_fields:
            best, best_fields = delimiter, counts[0]
    return best


def detect_decimal(cells: Iterable[str], delimiter: str) -> str:
    """',' when the price cells are written with decimal commas, else '.'."""
    comma = point = 0
    commas_seen = False
    for cell in cells:
        value = cell.strip()
        if "," in value:
            commas_seen = True
        if not value or _AMBIGUOUS.match(value):
            continue
        if _DECIMAL_COMMA.match(value):
            comma += 1
        elif _DECIMAL_POINT.match(value):
            point += 1
    if comma != point:
        return "," if comma > point else "."
    # Only ambiguous cells (1,234): a comma inside a field of a comma-separated file had to be quoted,
    # which a thousands separator would be; elsewhere a comma is the decimal mark.
    return "," if commas_seen and delimiter != "," else "."


def to_plain_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Number text as Python writes it ('1.234,56' -> '1234.56' with decimal ','); other text unchanged,
    so that validation reports it as not a number."""
    text = values.astype("string")
    if decimal == ",":
        grouped = text.str.match(r"^\s*[+-]?\d{1,3}([. \u00a0\u202f]\d{3})+(,\d*)?\s*$", na=False)
        text = text.where(~grouped, text.str.replace(r"[. \u00a0\u202f]", "", regex=True))
        return text.str.replace(",", ".", regex=False)
    grouped = text.str.match(r"^\s*[+-]?\d{1,3}([, \u00a0\u202f]\d{3})+(\.\d*)?\s*$", na=False)
    return text.where(~grouped, text.str.replace(r"[, \u00a0\u202f]", "", regex=True))


def digits_may_be_grouped(text: str, delimiter: str) -> bool:
    """Whether a field of the file can hold a thousands separator in a decimal-point file: a comma inside a
    field (which a comma-separated file must quote) or a space between digit groups. When none can, the
    numbers need no rewriting (the usual case, and the fast one for large files)."""
    comma_in_a_field = ("," in text) if delimiter != "," else ('"' in text)
    return comma_in_a_field or _GROUPED_BY_SPACE.search(text) is not None


def detect_dayfirst(values: Iterable[str], *, decimal_comma: bool = False) -> bool:
    """Whether dates that are not ISO put the day first (see the module's rules)."""
    separator = None
    for value in values:
        found = _DAY_MONTH.match(value)
        if found is None:
            continue
        first, separator, second = int(found.group(1)), found.group(2), int(found.group(3))
        if first > 12:
            return True
        if second > 12:
            return False
    return separator == "." or decimal_comma
