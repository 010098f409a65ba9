"""Tables pasted as text, and each of their cells read after its column's name.

A recognizer reads a value with the words just before it ("DOB: 1979-08-30", "postcode LS6 2QT"); in a table the
word that names a cell is a line or a statement away from it: a CSV's, a TSV's or a Markdown table's header line
(`meter_id,mpan,customer,postcode,kwh` over `SM-77182,1200050218834,T. Oyelowo,LS6 2QT,`), an SQL INSERT's column
list (`(id, full_name, ssn, dob) VALUES (4471, 'D. A.', '588310825', '1979-08-30')`), a pg_dump's COPY block, a
MySQL client's bordered table. `labelled_view` writes each cell on a line of its own after its column's name (`dob:
1979-08-30`), as a JSON value is read after its key, and maps what is found there back to the cell in the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice

COLUMN_SEPARATORS = ",;\t|"  # the cell separators of a table pasted as text (CSV, TSV, Markdown)

_SQL_INSERT = re.compile(r"(?i:\binsert\s+into\s+[\w.\"`\[\]]+\s*)\(([^()]{1,500})\)\s*(?i:values)\s*\(")
_SQL_NEXT_ROW = re.compile(r"\s*\)\s*,\s*\(")
# Possessive: three runs that each take spaces made a row of spaces with no "," or ")" after them cubic (49 s for
# 2,000 spaces). An unquoted value keeps its trailing spaces: readers trim them.
_SQL_ITEM = re.compile(r"\s*+('(?:[^'\n]|'')*+'|[^,()'\n]*+)\s*+(?:,|(?=\)))")
_SQL_COPY = re.compile(r"\bCOPY\s+[\w.\"]+\s*\(([^()\n]{1,500})\)\s+FROM\s+stdin;[ \t]*\n")

# A header line: three cells or more, each a column's name (a letter first, short, no full stop: no sentence), one
# kind of separator between them. Possessive: a line that is no header fails at once, whatever its length. Led by
# the line break before it (searched in "\n" + the text), which `re` skips to: ~10x faster than trying `^` everywhere.
_NAME_CHAR = r"[\w()#/'\"`-]"
# A name of up to five words, then any padding ("| password_hash      |").
_CELL = rf"[ \t]*+[\"'`]?[A-Za-z_]{_NAME_CHAR}*+(?:[ ]{_NAME_CHAR}++){{0,4}}+[ \t]*+"
_HEADER = re.compile(
    r"\n[ \t]*+\|?" + _CELL + r"(?P<sep>[,;\t|])" + _CELL + r"(?:(?P=sep)" + _CELL + r")++\|?[ \t]*+\r?$", re.MULTILINE
)
_DATA = re.compile(r"[\d@]")  # a row of data holds a digit or an address; a line of prose under prose seldom does
_RULE_ROW = re.compile(r"[ \t|:+-]*")  # a Markdown table's line under its header: |---|:--:|
_COLUMN_NAME = re.compile(r"[ \t\"'`\[\]]+")  # quotes and brackets around an SQL column's or a header's name
_MAX_CELLS = 5_000  # a table's cells read after their names in one text (a pasted dump can hold millions)


def split_cells(line: str, offset: int, separator: str) -> list[tuple[int, int]]:
    """(start, end) of each cell's value in `line` (offsets plus `offset`), quotes and the spaces around it excluded."""
    cells, i = [], 0
    while i <= len(line):
        if line[i : i + 1] == '"':
            close = line.find('"', i + 1)
            close = len(line) if close < 0 else close
            cells.append((offset + i + 1, offset + close))
            i = line.find(separator, close)
        else:
            j = line.find(separator, i)
            j = len(line) if j < 0 else j
            value = line[i:j]
            lead = len(value) - len(value.lstrip(" \t"))
            cells.append((offset + i + lead, offset + i + max(lead, len(value.rstrip(" \t")))))
            i = j
        if i < 0 or i >= len(line):
            break
        i += 1
    return cells


@dataclass(frozen=True, slots=True)
class LabelledView:
    """Each cell of a text's tables on a line of its own after its column's name: `text`, and where each cell's value
    sits in it (`view_starts`) and in the original (`text_starts`, `lengths`)."""

    text: str
    view_starts: list[int]
    text_starts: list[int]
    lengths: list[int]

    def back(self, start: int, end: int) -> tuple[int, int] | None:
        """The span of the original text that the view's `start:end` covers, clipped to one cell's value; None when
        it lies in a column's name only."""
        i = bisect.bisect_right(self.view_starts, start) - 1
        if i < 0 or start >= self.view_starts[i] + self.lengths[i]:
            i += 1  # it starts in a name: the value after it, if it reaches there
            if i >= len(self.view_starts) or end <= self.view_starts[i]:
                return None
        value_start, length = self.view_starts[i], self.lengths[i]
        clipped_start, clipped_end = max(start, value_start), min(end, value_start + length)
        offset = self.text_starts[i] - value_start
        return clipped_start + offset, clipped_end + offset


def labelled_view(text: str) -> LabelledView | None:
    """The cells of `text`'s tables after their columns' names, or None when it holds no table."""
    readers = []
    if "insert" in text or "INSERT" in text:
        readers.append(sql_cells(text))
    if "COPY" in text:
        readers.append(_copy_cells(text))
    if "\n" in text:
        readers.append(_csv_cells(text))
    cells = list(islice(chain.from_iterable(readers), _MAX_CELLS))  # a huge dump is read no further than that
    if not cells:
        return None
    lines, view_starts, text_starts, lengths, at = [], [], [], [], 0
    for name, start, end in cells:
        line = f"{name}: {text[start:end]}\n"
        view_starts.append(at + len(name) + 2)
        text_starts.append(start)
        lengths.append(end - start)
        lines.append(line)
        at += len(line)
    return LabelledView("".join(lines), view_starts, text_starts, lengths)


def _csv_cells(text: str) -> Iterator[tuple[str, int, int]]:
    """(column name, start, end) of each non-empty cell under a header line, up to a blank line or a line without its
    separator; a Markdown table's rule under its header, and a row with no digit and no "@", are skipped."""
    lined = "\n" + text
    header = _HEADER.search(lined)
    while header is not None:
        separator = header["sep"]
        line_start, line_end = header.start(), header.end() - 1  # in the text, without the "\n" put before it
        cells = split_cells(text[line_start:line_end], line_start, separator)
        names = [_COLUMN_NAME.sub(" ", text[a:b]).strip() for a, b in cells]
        row_start = line_end + 1
        while row_start < len(text) and text[row_start] != "\n":
            line_end = text.find("\n", row_start)
            line_end = len(text) if line_end < 0 else line_end
            row_end = line_end - 1 if text[line_end - 1 : line_end] == "\r" else line_end  # a CRLF file's
            row = text[row_start:row_end]
            if row and not _RULE_ROW.fullmatch(row):  # a Markdown table's |---|, a MySQL client's +----+ border
                if separator not in row:
                    break
                if _DATA.search(row):
                    for name, (start, end) in zip(names, split_cells(row, row_start, separator), strict=False):
                        if name and end > start:
                            yield name, start, end
            elif not row:
                break  # a blank line (CRLF's) ends the table
            row_start = line_end + 1
        header = _HEADER.search(lined, row_start)  # the next header after these rows: each table read once


def _copy_cells(text: str) -> Iterator[tuple[str, int, int]]:
    """(column name, start, end) of each value of a pg_dump's COPY block: a row a line, tab-separated, to "\\."."""
    for copy in _SQL_COPY.finditer(text):
        names = [_COLUMN_NAME.sub(" ", column).strip() for column in copy.group(1).split(",")]
        row_start = copy.end()
        while row_start < len(text) and not text.startswith("\\.", row_start):
            row_end = text.find("\n", row_start)
            row_end = len(text) if row_end < 0 else row_end
            row = text[row_start:row_end]
            if "\t" not in row:
                break
            for name, (start, end) in zip(names, split_cells(row, row_start, "\t"), strict=False):
                if end > start and text[start:end] != "\\N":  # \N: NULL
                    yield name, start, end
            row_start = row_end + 1


def sql_cells(text: str) -> Iterator[tuple[str, int, int]]:
    """(column name, start, end) of each value of an INSERT's rows, a quoted value without its quotes."""
    for insert in _SQL_INSERT.finditer(text):
        names = [_COLUMN_NAME.sub(" ", column).strip() for column in insert.group(1).split(",")]
        at: int | None = insert.end()
        while at is not None:
            for name in names:
                item = _SQL_ITEM.match(text, at)
                if item is None:
                    break
                at = item.end()
                start, end = item.span(1)
                while end > start and text[end - 1] in " \t\r":
                    end -= 1
                if end - start > 2 and text[start] == "'":
                    start, end = start + 1, end - 1
                if end > start:
                    yield name, start, end
            following = _SQL_NEXT_ROW.match(text, at)  # "), (" and the next row of a multi-row INSERT
            at = following.end() if following is not None else None
