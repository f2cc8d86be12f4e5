"""Password rules and hashing: length is what counts, hashes are argon2id and salted."""

from __future__ import annotations

import pytest

from backend.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "use at least 10 characters"),
        ("123456789", "use at least 10 characters"),
        ("1234567890", None),
        ("          ", "a password cannot be only spaces"),
        ("x" * 256, None),
        ("x" * 257, "use at most 256 characters"),
        ("ünïcødé pässwörd", None),
    ],
)
def test_password_rules(password: str, problem: str | None) -> None:
    assert password_problem(password) == problem


def test_hashes_are_salted_argon2id_and_verify() -> None:
    first, second = hash_password("a long enough secret"), hash_password("a long enough secret")
    assert first != second and first.startswith("$argon2id$")
    assert verify_password(first, "a long enough secret")
    assert not verify_password(first, "a long enough secreT")
    assert not verify_password("not a hash", "a long enough secret")
    assert not needs_rehash(first)
