"""Generating and hashing client secrets and access tokens.

Secrets and tokens are 256-bit random strings, so a plain SHA-256 digest protects them at rest as
well as a slow password hash would (slow hashes defend guessable passwords; these are not) and keeps
every bearer check a single indexed lookup. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from authlib.common.security import generate_token

_PREFIX = "sha256$"


def new_client_id() -> str:
    """40 hexadecimal characters, like the appliance's OAuth client ids."""
    return secrets.token_hex(20)


def new_client_secret() -> str:
    """44 characters of base64, like the appliance's OAuth client secrets (264 random bits)."""
    return base64.b64encode(secrets.token_bytes(33)).decode("ascii")


def new_access_token() -> str:
    """40 alphanumeric characters (238 random bits), like the appliance's bearer tokens."""
    return generate_token(40)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def hash_secret(secret: str) -> str:
    return _PREFIX + digest(secret)


def verify_secret(candidate: str, stored: str) -> bool:
    if not isinstance(candidate, str) or not stored.startswith(_PREFIX):
        return False
    return hmac.compare_digest(hash_secret(candidate), stored)
