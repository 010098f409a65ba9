"""A table's cells read after their columns' names (helix/pii/tables.py): where the view's spans land in the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helix.pii.tables import labelled_view


def test_each_cell_is_read_after_its_columns_name() -> None:
    text = 'note\nname,"dob",city\nAna,1990-01-02,"Lima, Peru"\n\nafter'
    view = labelled_view(text)
    assert view is not None
    assert view.text == "name: Ana\ndob: 1990-01-02\ncity: Lima, Peru\n"
    date = view.text.index("1990")
    assert view.back(date, date + 10) == (text.index("1990"), text.index("1990") + 10)


def test_an_inserts_values_under_its_column_list_quotes_left_out() -> None:
    text = "INSERT INTO t (`id`, ssn) VALUES (1, '123-45-6789'), (2, 'x''y');"
    view = labelled_view(text)
    assert view is not None
    assert view.text == "id: 1\nssn: 123-45-6789\nid: 2\nssn: x''y\n"


def test_a_span_in_a_columns_name_maps_nowhere_and_one_across_it_is_clipped_to_the_value() -> None:
    text = "a,b,c\n1,22,333\n"
    view = labelled_view(text)
    assert view is not None
    assert view.back(0, 1) is None  # "a" of "a: 1"
    b = view.text.index("b: ")
    assert view.back(b, b + 5) == (text.index("22"), text.index("22") + 2)


def test_prose_and_two_column_lines_are_no_table() -> None:
    assert labelled_view("Hi, thanks, see you.\nYes, sure, fine by me.") is None
    assert labelled_view("Hi, thanks, see you\nYes, sure, fine by me") is None  # no digit: no data
    assert labelled_view("key,value\nx,1\n") is None
    assert labelled_view("one line, no table, at all") is None


@given(st.text(alphabet=st.sampled_from("ab1 ,;|\t\n'\"()INSERTvalues"), max_size=120))
def test_each_cell_of_the_view_is_the_texts_and_every_span_maps_into_a_cell(text: str) -> None:
    view = labelled_view(text)
    if view is None:
        return
    cells = list(zip(view.view_starts, view.text_starts, view.lengths, strict=True))
    for at, start, length in cells:
        assert view.text[at : at + length] == text[start : start + length]
        assert view.back(at, at + length) == (start, start + length)
    for start in range(len(view.text)):
        for end in range(start + 1, min(len(view.text), start + 12) + 1):
            span = view.back(start, end)
            if span is not None:
                assert any(s <= span[0] <= span[1] <= s + n for _, s, n in cells)


def test_a_row_of_spaces_after_an_inserts_values_is_read_in_linear_time() -> None:
    """Three runs that each took spaces made `SQL_ITEM` cubic: 2,000 spaces took 49 s (a reviewer's find)."""
    view = labelled_view("INSERT INTO t (a) VALUES (" + " " * 200_000)
    assert view is None or len(view.text) < 100


def test_a_crlf_files_table_is_read_and_its_cells_keep_no_carriage_return() -> None:
    view = labelled_view("name,dob,city\r\nAna,1990-01-02,Lima\r\n\r\nafter,a,b\r\n")
    assert view is not None and view.text == "name: Ana\ndob: 1990-01-02\ncity: Lima\n"
