"""API accounts and their access tokens, as plain objects (Authlib's mixins give the protocol hooks)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin

from gateway.clock import Clock
from gateway.oauth.secrets import verify_secret

#: The command-API permission of an API account, as the vendor names it.
COMMAND_PERMISSIONS = ("full_access", "read_only", "deny")
GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass
class Account(ClientMixin):
    client_id: str
    name: str
    secret_hash: str
    permission: str = "read_only"
    enabled: bool = True
    legacy_login: bool = False
    #: May write the registry through the feed API.
    feed: bool = False
    #: May use the admin surface.
    admin: bool = False
    created_at: int = 0
    key: int | None = None

    # --- Authlib ClientMixin -------------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self):  # not used by client_credentials
        return None

    def get_allowed_scope(self, scope):
        return ""

    def check_redirect_uri(self, redirect_uri) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    # --- gateway -------------------------------------------------------------------------------
    def permissions(self) -> dict[str, str]:
        """Permission name -> value, as get_api_info lists them: the vendor's permissions, in its order
        (docs/fidelity.md). The gateway serves only the command API, so every other API's permission is 0;
        the gateway's own feed and admin permissions are not the vendor's and are not listed."""
        return {name: self.permission if name == "perm_command" else "0" for name in VENDOR_PERMISSIONS}

    def public(self) -> dict:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "permission": self.permission,
            "enabled": self.enabled,
            "legacy_login": self.legacy_login,
            "feed": self.feed,
            "admin": self.admin,
            "created_at": self.created_at,
        }


#: The permissions the vendor's get_api_info page lists, in its order (perm_command: full_access, read_only or
#: deny; the others 1 or 0).
VENDOR_PERMISSIONS = (
    "perm_backup",
    "perm_command",
    "perm_configuration",
    "perm_configuration_vault_account",
    "perm_ecm",
    "perm_real_time_state",
    "perm_reporting_archive",
    "perm_reporting_license",
    "perm_reporting_presentation",
    "perm_reporting_support",
)


@dataclass
class AccessToken(TokenMixin):
    account: Account
    issued_at: int
    expires_at: int
    revoked: bool = False
    clock: Clock = field(default_factory=Clock, repr=False)
    #: System time of the real expiry (None: a token from before migration 0008, governed by the clock).
    real_expires_at: int | None = None

    def check_client(self, client) -> bool:
        return client.get_client_id() == self.account.client_id

    def get_scope(self) -> str:
        return ""

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - self.clock.now_int())

    def is_expired(self) -> bool:
        """Expired by the emulator's clock (advancing it expires tokens, as tests want), or by real time: a
        clock set back never revives a token past its real expiry."""
        real = self.real_expires_at
        return self.clock.now() >= self.expires_at or (real is not None and time.time() >= real)

    def is_expired_for_operator(self) -> bool:
        """Expired for the operator's control channel (the admin surface): by real time only, so an admin
        who moves the emulator's clock keeps the token that moved it."""
        real = self.real_expires_at
        return time.time() >= real if real is not None else self.clock.now() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked or not self.account.enabled
