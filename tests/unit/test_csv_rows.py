"""Both CSV importers name a bad header on line 1, every problem at once,
and a bad row by its line (nothing is imported from such a file)."""

from __future__ import annotations

from iam_service.services import asset_import, hr_import


def test_an_hr_file_with_a_misspelt_column_names_it_and_the_missing_one() -> None:
    events, errors = hr_import.parse_rows("type,employe_id\nhire,E1\n")
    assert events == []
    assert [str(e) for e in errors] == [
        "line 1: unknown column 'employe_id'; missing column 'employee_id'"
    ]


def test_an_asset_file_with_an_unknown_column_is_refused_on_line_1() -> None:
    rows, errors = asset_import.parse_rows("asset_type,tag,colour\nlaptop,LT-1,red\n")
    assert rows == []
    assert [str(e) for e in errors] == ["line 1: unknown column 'colour'"]


def test_a_bad_hr_row_is_named_by_its_line_and_field() -> None:
    _, errors = hr_import.parse_rows("type,employee_id\nterminate,E1\nfire,E2\n")
    [error] = errors
    assert error.line == 3
    assert error.message.startswith("type: ")
