"""Amazon SNS message signatures, checked as AWS documents it.

The signing certificate must come from an SNS host (`https://sns.<region>.amazonaws.com`
or `.amazonaws.com.cn`) and be valid now; the signature (SignatureVersion 1: SHA1withRSA,
2: SHA256withRSA) must match the canonical string of the message's type. Certificates are
fetched once per URL and kept. `trusted_prefix` admits one more URL prefix — for tests and
local fakes only (SNS_TRUSTED_URL_PREFIX); the signature is verified all the same.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.ports import Clock

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SUBSCRIPTION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Notification": _NOTIFICATION,
    "SubscriptionConfirmation": _SUBSCRIPTION,
    "UnsubscribeConfirmation": _SUBSCRIPTION,
}
MAX_CERTIFICATES = 32
HttpGet = Callable[[str], Awaitable[httpx.Response]]


async def http_get(url: str) -> httpx.Response:
    """One GET (no redirects, 10 s): certificates are cached and confirmations rare, so
    no client is kept open between requests."""
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
        return await client.get(url)


class SnsRejected(Exception):
    """The message is not SNS's: bad signature, certificate or host (say 403)."""


class SnsUnavailable(Exception):
    """The signing certificate could not be fetched now (say 503: SNS retries)."""


class SnsMalformed(Exception):
    """The body is not an SNS message at all (say 400)."""


def canonical_string(message: Mapping[str, object]) -> bytes:
    """The bytes SNS signed: "Key\\nValue\\n" for each signed field present, in order."""
    fields = SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SnsMalformed("unknown SNS message Type")
    parts: list[str] = []
    for key in fields:
        value = message.get(key)
        if value is None and key == "Subject":
            continue
        if not isinstance(value, str):
            raise SnsMalformed(f"SNS message without {key}")
        parts += [key, value]
    return ("\n".join(parts) + "\n").encode()


class SnsVerifier:
    def __init__(
        self, *, clock: Clock, trusted_prefix: str | None = None, get: HttpGet = http_get
    ) -> None:
        self.get = get
        self._clock = clock
        self._trusted_prefix = trusted_prefix or None
        self._certificates: dict[str, x509.Certificate] = {}

    def is_sns_url(self, url: str) -> bool:
        """An https URL on an SNS host (or under the configured trusted prefix)."""
        if self._trusted_prefix and url.startswith(self._trusted_prefix):
            return True
        parts = urlsplit(url)
        return (
            parts.scheme == "https"
            and parts.port in (None, 443)
            and parts.username is None
            and SNS_HOST.match(parts.hostname or "") is not None
        )

    async def verify(self, message: Mapping[str, object]) -> None:
        """Return if SNS signed `message`; raise SnsRejected or SnsMalformed otherwise."""
        signed = canonical_string(message)
        algorithm = HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise SnsRejected("unsupported SignatureVersion")
        cert_url = message.get("SigningCertURL")
        if not isinstance(cert_url, str) or not self.is_sns_url(cert_url):
            raise SnsRejected("the signing certificate is not on an SNS host")
        signature = _signature(message.get("Signature"))
        public_key = (await self._certificate(cert_url)).public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise SnsRejected("the signing certificate has no RSA key")
        try:
            public_key.verify(signature, signed, padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise SnsRejected("bad signature") from None

    async def _certificate(self, url: str) -> x509.Certificate:
        certificate = self._certificates.get(url)
        if certificate is None:
            certificate = await self._fetch(url)
            if len(self._certificates) >= MAX_CERTIFICATES:
                self._certificates.clear()
            self._certificates[url] = certificate
        now = self._clock.now()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise SnsRejected("the signing certificate is not valid now")
        return certificate

    async def _fetch(self, url: str) -> x509.Certificate:
        try:
            response = await self.get(url)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise SnsUnavailable(f"signing certificate: {type(error).__name__}") from None
        try:
            return x509.load_pem_x509_certificate(response.content)
        except ValueError:
            raise SnsRejected("the signing certificate is not a PEM certificate") from None


def _signature(value: object) -> bytes:
    if not isinstance(value, str):
        raise SnsRejected("no signature")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SnsRejected("the signature is not base64") from None
