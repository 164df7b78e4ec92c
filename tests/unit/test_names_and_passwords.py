"""User names for new accounts (generated passwords: test_password_rules.py)."""

from __future__ import annotations

from iam_service.domain.usernames import MAX_LENGTH, base_username, unique_username


def test_user_names_come_from_latin_names() -> None:
    assert base_username("Hanako", "Yamada", "E100") == "hyamada"
    assert base_username("Zoë", "Müller-Lüdenscheidt", "E1") == "zmullerludenscheidt"


def test_names_without_latin_letters_fall_back_to_the_employee_id() -> None:
    assert base_username("花子", "山田", "E-100") == "ee100"


def test_user_names_fit_samaccountname() -> None:
    assert len(base_username("A", "B" * 40, "E1")) == MAX_LENGTH


def test_a_taken_name_gets_a_number() -> None:
    taken = {"hyamada", "hyamada2"}
    assert unique_username("hyamada", taken.__contains__) == "hyamada3"
    long = "x" * MAX_LENGTH
    assert unique_username(long, {long}.__contains__) == "x" * (MAX_LENGTH - 1) + "2"
