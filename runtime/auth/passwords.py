"""Password hashing with argon2id at the parameters OWASP recommends, and the password policy.

Parameters: OWASP Password Storage Cheat Sheet, "Argon2id": "a minimum configuration of 19 MiB
of memory, an iteration count of 2, and 1 degree of parallelism"
(https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html). They are
settings so tests can run cheaper (still argon2id); the prod stage refuses anything weaker.
Hashes carry their own parameters, so raising them later upgrades each user at their next login
(``needs_rehash``), and old hashes keep verifying meanwhile.

Policy (NIST SP 800-63B 5.1.1.2): at least 8 characters, no composition rules, at most 128 so a
request cannot make us hash megabytes; passwords are NFKC-normalised first so the same password
typed on two keyboards (composed vs decomposed accents) is the same password.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from runtime.common.errors import ConfigurationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def normalize_password(password: str) -> str:
    """The form that is hashed and compared (NFKC, as NIST 800-63B recommends)."""
    return unicodedata.normalize("NFKC", password)


@dataclass(frozen=True)
class HashParameters:
    """argon2id cost: memory in KiB, iterations, lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int

    def require_at_least(self, floor: HashParameters) -> None:
        """Refuse to start with parameters weaker than ``floor`` (a misconfigured prod)."""
        if (
            self.memory_kib < floor.memory_kib
            or self.time_cost < floor.time_cost
            or self.parallelism < floor.parallelism
        ):
            raise ConfigurationError("argon2 parameters are below the OWASP minimum")


# m=19 MiB, t=2, p=1: OWASP Password Storage Cheat Sheet's first argon2id configuration.
OWASP = HashParameters(memory_kib=19 * 1024, time_cost=2, parallelism=1)


class PasswordHasher:
    """argon2id hashing with a constant-time verify and a dummy hash for unknown accounts."""

    def __init__(self, parameters: HashParameters = OWASP) -> None:
        self.parameters = parameters
        self._argon = argon2.PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._argon.hash(normalize_password(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; a wrong password and a corrupt hash are both False.

        argon2's own comparison is constant time; the cost of the call is the hash itself,
        the same whether the password is right or wrong.
        """
        try:
            return self._argon.verify(password_hash, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """The stored hash was made with other parameters than today's."""
        try:
            return self._argon.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification takes, for an email with no account.

        Without it, "unknown email" answers in milliseconds and "wrong password" in tens of
        milliseconds, and the difference tells an attacker which emails have accounts.
        """
        self.verify(self._dummy_hash, password)

    @cached_property
    def _dummy_hash(self) -> str:
        # Made once per container with the current parameters, so it costs what real hashes cost.
        return self._argon.hash("dummy password that no account has")
