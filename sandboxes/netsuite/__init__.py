"""NetSuite SuiteTalk REST web services simulator (see :mod:`.app`)."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.netsuite.app import NetSuiteSandbox, create_app
from sandboxes.netsuite.oauth import DEMO_PRIVATE_KEY
from sandboxes.simulator import Credentials, Simulator

__all__ = ["SIMULATOR", "NetSuiteCredentials", "NetSuiteSandbox", "create_app"]


@dataclass(frozen=True, slots=True)
class NetSuiteCredentials(Credentials):
    """OAuth 2.0 machine-to-machine: the integration's client ID, the certificate ID and
    the certificate's private key (base64 PKCS#8 DER; a PEM works as well) sign the
    client assertion exchanged at ``/services/rest/auth/oauth2/v1/token``. A fixed
    ``access_token`` is accepted too, for tools that only take a bearer token (and OAuth
    1.0a token-based authentication with ``realm`` = account id; its signature is not
    checked)."""

    account_id: str
    client_id: str
    certificate_id: str
    private_key: str
    access_token: str


SIMULATOR: Simulator[NetSuiteSandbox] = Simulator(
    vendor="NetSuite SuiteTalk REST web services",
    new_state=NetSuiteSandbox,
    create_app=create_app,
    credentials=lambda account: NetSuiteCredentials(
        account_id=account.account_id,
        client_id=account.integration.client_id,
        certificate_id=account.integration.certificate_id,
        private_key=DEMO_PRIVATE_KEY,
        access_token=account.access_token or "",
    ),
    sdk_usage=(
        "POST BASE_URL/services/rest/auth/oauth2/v1/token (client_credentials, ES256 "
        "client_assertion with kid=certificate_id, iss=client_id, scope=rest_webservices) "
        "for a 60-minute bearer token, or Authorization: Bearer access_token; the netsuite "
        "package with TokenAuth and Config(account=account_id), host = BASE_URL's"
    ),
)
