"""Bot Framework JWTs for tests: a test RSA key, its JWKS served over local HTTP, and
the SDK's validator made to fetch keys there.

The seam is the narrowest there is: the Agents SDK looks signing keys up with PyJWT's
PyJWKClient, one per JWKS address, kept in JwtTokenValidator's client cache; `trusting`
registers, for the Bot Framework and the tenant's Entra JWKS addresses, a PyJWKClient
that reads our local JWKS. Everything else — signature, expiry, audience, issuer
allow-list, tenant binding — is the SDK's own validation, unchanged.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt import PyJWKClient
from microsoft_agents.hosting.core.authorization import JwtTokenValidator
from microsoft_agents.hosting.core.authorization.authentication_constants import (
    AuthenticationConstants,
)
from microsoft_agents.hosting.core.authorization.jwt.jwt_token_validator import (
    _JwkClientCacheEntry,
)

from tests.fakes.http_server import serving

BOT_FRAMEWORK = AuthenticationConstants.AGENTS_SDK_TOKEN_ISSUER
KID = "test-key"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenIssuer:
    """Signs tokens as Bot Framework would, with a key of our own."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": KID, "alg": "RS256",
                          "n": _b64(public.n), "e": _b64(public.e)}]}  # fmt: skip

    def token(self, *, audience: str, service_url: str, issuer: str = BOT_FRAMEWORK,
              expires_in: int = 3600, key: rsa.RSAPrivateKey | None = None,
              **claims: Any) -> str:  # fmt: skip
        now = int(time.time())
        payload = {"iss": issuer, "aud": audience, "iat": now - 60, "nbf": now - 60,
                   "exp": now + expires_in, "serviceurl": service_url, **claims}  # fmt: skip
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": KID})


@asynccontextmanager
async def trusting(issuer: TokenIssuer, *, tenant: str) -> AsyncIterator[None]:
    """The SDK's validator fetches its keys from a local JWKS while this runs."""
    app = FastAPI()
    app.get("/keys")(lambda: issuer.jwks())
    addresses = (
        AuthenticationConstants.PUBLIC_ABS_JWKS_URL,
        f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
    )
    cache = JwtTokenValidator._jwk_client_manager._cache
    saved = {address: cache.get(address) for address in addresses}
    async with serving(app) as url:
        for address in addresses:
            cache[address] = _JwkClientCacheEntry(PyJWKClient(f"{url}/keys"), threading.Lock())
        try:
            yield
        finally:
            for address, entry in saved.items():
                if entry is None:
                    cache.pop(address, None)
                else:
                    cache[address] = entry
