"""A local Microsoft Entra ID token endpoint, reached by MSAL as login.microsoftonline.com.

MSAL insists on an https authority and, for a host Microsoft does not list, on an
instance discovery call to login.microsoftonline.com; the Agents SDK passes neither an
http client nor `instance_discovery=False` through. So the seam is the network, not
the code: the test process is given an HTTPS proxy (`HTTPS_PROXY`, which requests
honours) that tunnels login.microsoftonline.com:443 to a local TLS server whose
certificate a test CA (trustme) signed, and that CA as `REQUESTS_CA_BUNDLE`. MSAL and
the SDK run unchanged: OIDC discovery of the tenant, then the client-credentials POST
to its token endpoint. Everything else goes direct (NO_PROXY: 127.0.0.1, localhost).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import trustme
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.http_server import serving

HOST = "login.microsoftonline.com"


@dataclass
class FakeEntra:
    """What MSAL asked for, and how the token endpoint answers."""

    #: The form fields of each token request (client_id, client_secret, scope…).
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    #: Answer token requests 401 invalid_client, as for a wrong or expired secret.
    refuse: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
        async def discovery(tenant: str) -> dict[str, str]:
            base = f"https://{HOST}/{tenant}"
            return {"issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"}  # fmt: skip

        @app.get("/common/discovery/instance")
        async def instance(authorization_endpoint: str) -> dict[str, object]:
            """The aliases of Microsoft's cloud, which MSAL reads before using its cache."""
            tenant = authorization_endpoint.split("/")[3]
            aliases = [HOST, "login.windows.net", "login.microsoft.com", "sts.windows.net"]
            return {"api-version": "1.1", "tenant_discovery_endpoint":
                    f"https://{HOST}/{tenant}/v2.0/.well-known/openid-configuration",
                    "metadata": [{"preferred_network": HOST, "preferred_cache":
                                  "login.windows.net", "aliases": aliases}]}  # fmt: skip

        @app.post("/{tenant}/oauth2/v2.0/token")
        async def token(tenant: str, request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            self.requests.append(form)
            self.tenants.append(tenant)
            if self.refuse:
                refused = {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                }
                return JSONResponse(refused, status_code=401)  # fmt: skip
            issued = f"entra-{secrets.token_urlsafe(16)}"
            self.issued.append(issued)
            return JSONResponse({"token_type": "Bearer", "expires_in": 3599,
                                 "ext_expires_in": 3599, "access_token": issued})  # fmt: skip

        return app


@contextlib.asynccontextmanager
async def entra_reachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[FakeEntra]:
    """While this runs, login.microsoftonline.com (from requests, hence MSAL) is the fake."""
    entra = FakeEntra()
    ca = trustme.CA()
    leaf = ca.issue_cert(HOST)
    cert, key, bundle = tmp_path / "entra.pem", tmp_path / "entra.key", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(bundle))
    tunnels: set[asyncio.StreamWriter] = set()
    async with serving(entra.app(), ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        tls_port = int(url.rsplit(":", 1)[1])
        proxy = await asyncio.start_server(
            lambda r, w: _tunnel(r, w, tls_port, tunnels), host="127.0.0.1", port=0
        )
        proxy_port = proxy.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        try:
            yield entra
        finally:
            proxy.close()
            for writer in tunnels:  # MSAL's kept-alive connections: uvicorn stops at once
                writer.close()
            await proxy.wait_closed()


async def _tunnel(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    port: int,
    tunnels: set[asyncio.StreamWriter],
) -> None:
    """An HTTP CONNECT proxy that only knows login.microsoftonline.com:443."""
    tunnels.add(writer)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method != "CONNECT" or target != f"{HOST}:443":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        tunnels.add(upstream_writer)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()
