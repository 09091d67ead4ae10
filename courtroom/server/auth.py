"""Join codes and session tokens.

A participant is invited with a one-time join code (8 digits, typed on a phone). The
code is exchanged once for a short-lived signed session token. A session token opens
one websocket connection only: its id is consumed on use, so a copied token cannot be
replayed, and every connection is handed a fresh token for its next reconnect.

Codes are stored only as keyed hashes; neither codes nor tokens ever reach the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from ..domain.roles import Role

_ALGORITHM = "HS256"
_AUDIENCE = "courtroom-session"


class AuthFailure(StrEnum):
    FORGED = "forged token"
    EXPIRED = "expired token"
    REPLAYED = "replayed token"
    MALFORMED = "malformed token"
    WRONG_CODE = "wrong join code"
    USED_CODE = "join code already used"
    EXPIRED_CODE = "join code expired"
    LOCKED = "too many wrong codes"


class AuthError(Exception):
    def __init__(self, failure: AuthFailure, claims: SessionClaims | None = None) -> None:
        super().__init__(failure.value)
        self.failure = failure
        # Present only when the token's signature was good (expired or replayed): the
        # hearing it names is then authentic and the refusal belongs in that hearing's log.
        self.claims = claims


@dataclass(frozen=True)
class SessionClaims:
    hearing_id: str
    participant_id: str
    role: Role
    token_id: str
    expires_at: datetime


def new_join_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def code_digest(secret: str, hearing_id: str, participant_id: str, code: str) -> str:
    """Keyed so that a copy of the database does not reveal codes by brute force."""
    msg = f"join:{hearing_id}:{participant_id}:{code.strip()}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def token_digest(token_id: str) -> str:
    return hashlib.sha256(f"session:{token_id}".encode()).hexdigest()


class TokenIssuer:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 characters")
        self._secret = secret
        self._ttl = ttl

    def issue(
        self, hearing_id: str, participant_id: str, role: Role, now: datetime
    ) -> tuple[str, SessionClaims]:
        claims = SessionClaims(
            hearing_id, participant_id, role, secrets.token_urlsafe(16), now + self._ttl
        )
        token = jwt.encode(
            {
                "aud": _AUDIENCE,
                "hid": hearing_id,
                "sub": participant_id,
                "role": role.value,
                "jti": claims.token_id,
                "iat": int(now.timestamp()),
                "exp": int(claims.expires_at.timestamp()),
            },
            self._secret,
            algorithm=_ALGORITHM,
        )
        return token, claims

    def verify(self, token: str, now: datetime) -> SessionClaims:
        """The token's claims, if it is genuine and unexpired (replay is checked by the caller)."""
        try:
            raw = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"verify_exp": False, "require": ["exp", "jti", "sub", "hid"]},
            )
            claims = SessionClaims(
                str(raw["hid"]),
                str(raw["sub"]),
                Role(raw["role"]),
                str(raw["jti"]),
                datetime.fromtimestamp(int(raw["exp"]), UTC),
            )
        except jwt.InvalidSignatureError:
            raise AuthError(AuthFailure.FORGED) from None
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            raise AuthError(AuthFailure.MALFORMED) from None
        if claims.expires_at <= now:
            raise AuthError(AuthFailure.EXPIRED, claims)
        return claims
