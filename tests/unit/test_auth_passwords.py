"""argon2id at OWASP's parameters, the password policy, and the keyed hashes of one-time codes."""

from __future__ import annotations

import re

import argon2
import pytest

from runtime.auth.logic import CODE_DIGITS, CodeHasher, Purpose, new_code, normalize_email
from runtime.auth.passwords import OWASP, HashParameters, PasswordHasher
from runtime.auth.settings import TEST_STAGE, AuthSettings
from runtime.common.errors import ConfigurationError

CHEAP = HashParameters(memory_kib=64, time_cost=1, parallelism=1)


def test_default_parameters_are_owasps_argon2id_minimum() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    assert (OWASP.memory_kib, OWASP.time_cost, OWASP.parallelism) == (19 * 1024, 2, 1)
    password_hash = PasswordHasher().hash("correct horse battery")
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    parameters = argon2.extract_parameters(password_hash)
    assert (parameters.type, parameters.salt_len, parameters.hash_len) == (argon2.Type.ID, 16, 32)


def test_verify_accepts_only_the_password() -> None:
    hasher = PasswordHasher(CHEAP)
    password_hash = hasher.hash("correct horse battery")
    assert hasher.verify(password_hash, "correct horse battery")
    assert not hasher.verify(password_hash, "correct horse batterY")
    assert not hasher.verify(password_hash, "")
    assert not hasher.verify("not a hash", "correct horse battery")
    assert not hasher.verify(password_hash.replace("argon2id", "argon2i"), "correct horse battery")


def test_each_hash_is_salted() -> None:
    hasher = PasswordHasher(CHEAP)
    assert hasher.hash("same password") != hasher.hash("same password")


def test_composed_and_decomposed_accents_are_the_same_password() -> None:
    hasher = PasswordHasher(CHEAP)
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    assert composed != decomposed
    assert hasher.verify(hasher.hash(composed), decomposed)


def test_needs_rehash_when_the_parameters_changed() -> None:
    old = PasswordHasher(CHEAP).hash("correct horse battery")
    assert PasswordHasher(CHEAP).needs_rehash(old) is False
    assert PasswordHasher(HashParameters(memory_kib=128, time_cost=1, parallelism=1)).needs_rehash(old) is True
    assert PasswordHasher(CHEAP).needs_rehash("garbage") is False


def test_dummy_verification_runs_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(self, password_hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    PasswordHasher(CHEAP).verify_dummy("anything")
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")


@pytest.mark.parametrize(
    "overrides",
    [{"ARGON2_MEMORY_KIB": "1024"}, {"ARGON2_TIME_COST": "1"}],
)
@pytest.mark.parametrize("stage", ["dev", "prod", "local"])
def test_deployed_stages_refuse_parameters_below_owasp(
    monkeypatch: pytest.MonkeyPatch, stage: str, overrides: dict[str, str]
) -> None:
    monkeypatch.setenv("USERS_TABLE", "users")
    monkeypatch.setenv("MAIL_FROM", "no-reply@example.com")
    monkeypatch.setenv("STAGE", stage)
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError):
        AuthSettings.from_environment().hash_parameters()
    monkeypatch.setenv("STAGE", TEST_STAGE)
    assert AuthSettings.from_environment().hash_parameters().memory_kib <= OWASP.memory_kib


def test_settings_default_to_owasp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_TABLE", "users")
    monkeypatch.setenv("MAIL_FROM", "no-reply@example.com")
    monkeypatch.setenv("STAGE", "prod")
    assert AuthSettings.from_environment().hash_parameters() == OWASP


def test_codes_are_random_fixed_length_digits() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(re.fullmatch(rf"\d{{{CODE_DIGITS}}}", c) for c in codes)
    assert len(codes) > 190


def test_code_hashes_are_keyed_and_bound_to_user_and_purpose() -> None:
    hasher = CodeHasher.from_secrets([b"k" * 48])
    stored = hasher.digest("user-1", Purpose.RESET_PASSWORD, "12345678")
    assert "12345678" not in stored
    assert hasher.matches(stored, "user-1", Purpose.RESET_PASSWORD, "12345678")
    assert not hasher.matches(stored, "user-1", Purpose.RESET_PASSWORD, "12345679")
    assert not hasher.matches(stored, "user-2", Purpose.RESET_PASSWORD, "12345678")
    assert not hasher.matches(stored, "user-1", Purpose.VERIFY_EMAIL, "12345678")
    # Another server key cannot produce (or check) the same hash.
    assert not CodeHasher.from_secrets([b"o" * 48]).matches(stored, "user-1", Purpose.RESET_PASSWORD, "12345678")


def test_codes_sent_before_a_key_rotation_still_match() -> None:
    before = CodeHasher.from_secrets([b"old" * 16])
    stored = before.digest("user-1", Purpose.VERIFY_EMAIL, "00000042")
    after = CodeHasher.from_secrets([b"new" * 16, b"old" * 16])
    assert after.matches(stored, "user-1", Purpose.VERIFY_EMAIL, "00000042")
    assert after.digest("user-1", Purpose.VERIFY_EMAIL, "00000042") != stored


def test_emails_compare_case_insensitively() -> None:
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
