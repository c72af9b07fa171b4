"""Settings of the auth function, read from its environment once per container."""

from __future__ import annotations

from pydantic import Field

from runtime.auth.passwords import OWASP, HashParameters
from runtime.common.errors import ConfigurationError
from runtime.common.settings import FunctionSettings

# The only stage allowed below the OWASP minimum: the test suite's (no stack deploys it).
TEST_STAGE = "test"


class AuthSettings(FunctionSettings):
    users_table: str
    mail_from: str = Field(min_length=3)
    # argon2id cost (OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = Field(default=OWASP.memory_kib, ge=8)
    argon2_time_cost: int = Field(default=OWASP.time_cost, ge=1)
    argon2_parallelism: int = Field(default=OWASP.parallelism, ge=1, le=16)
    code_ttl_seconds: int = Field(default=15 * 60, ge=60, le=24 * 3600)
    # The least time a code route takes (runtime.auth.logic.CodePolicy.response_floor_seconds).
    code_response_floor_ms: int = Field(default=500, ge=0, le=5000)

    def hash_parameters(self) -> HashParameters:
        parameters = HashParameters(
            memory_kib=self.argon2_memory_kib,
            time_cost=self.argon2_time_cost,
            parallelism=self.argon2_parallelism,
        )
        if self.stage != TEST_STAGE:
            parameters.require_at_least(OWASP)
        if parameters.memory_kib < 8 * parameters.parallelism:
            raise ConfigurationError("argon2 needs at least 8 KiB of memory per lane")
        return parameters
