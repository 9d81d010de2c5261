"""API accounts: create, list, disable, regenerate secrets; issue and check access tokens.

Secrets and tokens are shown once, at creation, and stored only as hashes.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidClientError

from gateway.clock import Clock
from gateway.errors import ConflictError, NotFoundError
from gateway.oauth.models import COMMAND_PERMISSIONS, AccessToken, Account
from gateway.oauth.ports import AccountStorage
from gateway.oauth.secrets import digest, hash_secret, new_client_id, new_client_secret
from gateway.versions import Versions

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,127}$")
#: Client ids and secrets given by an operator (generated ones are 40 hex digits and 44 base64 characters):
#: the token endpoint reads ids of up to 64 characters; a secret is printable ASCII without spaces.
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
CLIENT_ID_RULE = "A client id is 1-64 letters, digits or ._~- characters."
SECRET_PATTERN = re.compile(r"^[!-~]{16,256}$")
SECRET_RULE = "A client secret is 16-256 printable ASCII characters without spaces."
#: The longest access token looked up (ours are 43 characters): a longer one is refused unread.
MAX_TOKEN_LENGTH = 512


@dataclass
class Credentials:
    account: Account
    client_secret: str

    def public(self) -> dict:
        return {**self.account.public(), "client_secret": self.client_secret}


#: Tokens one worker remembers between requests (each a few hundred bytes).
TOKEN_CACHE_SIZE = 4096


class AccountService:
    def __init__(
        self,
        storage: AccountStorage,
        clock: Clock,
        token_lifetime: int = 3600,
        token_cap: int = 30,
        versions: Versions | None = None,
    ):
        self.storage = storage
        self.repository = storage.accounts
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.token_cap = token_cap
        #: With ``versions``, tokens found are remembered until any account or token changes
        #: (gateway.versions).
        self.versions = versions
        self._tokens: dict[str, tuple[int, AccessToken]] = {}

    # --- accounts -----------------------------------------------------------------------------
    def create(
        self,
        name: str,
        permission: str = "read_only",
        *,
        legacy_login: bool = False,
        feed: bool = False,
        admin: bool = False,
        client_id: str | None = None,
        secret: str | None = None,
    ) -> Credentials:
        """A new account; ``client_id`` and ``secret`` fix its credentials (a CI's known demo account),
        else they are generated."""
        if not NAME_PATTERN.fullmatch(name or ""):
            raise ValueError(
                "An account name is 1-128 letters, digits, spaces or ._@- and starts with a letter or digit."
            )
        if permission not in COMMAND_PERMISSIONS:
            raise ValueError(f"permission must be one of {', '.join(COMMAND_PERMISSIONS)}")
        if client_id is not None and not CLIENT_ID_PATTERN.fullmatch(client_id):
            raise ValueError(CLIENT_ID_RULE)
        if secret is not None and not SECRET_PATTERN.fullmatch(secret):
            raise ValueError(SECRET_RULE)
        secret = secret or new_client_secret()
        account = Account(
            client_id=client_id or new_client_id(),
            name=name,
            secret_hash=hash_secret(secret),
            permission=permission,
            legacy_login=legacy_login,
            feed=feed,
            admin=admin,
            created_at=self.clock.now_int(),
        )
        return Credentials(self.repository.create_account(account), secret)

    def find(self, name_or_client_id: str) -> Account | None:
        """The account with this name or client id, if any."""
        return self.repository.find_account(name_or_client_id)

    def get(self, name_or_client_id: str) -> Account:
        account = self.repository.find_account(name_or_client_id)
        if account is None:
            raise NotFoundError(f"No API account is named or has the client id {name_or_client_id!r}.")
        return account

    def list(self) -> list[Account]:
        return self.repository.list_accounts()

    def set_enabled(self, name_or_client_id: str, enabled: bool) -> Account:
        """Disabling revokes every token of the account at once."""
        account = self.get(name_or_client_id)
        self.repository.update_account(account.client_id, enabled=enabled, revoke_tokens=not enabled)
        account.enabled = enabled
        return account

    def set_permissions(
        self,
        name_or_client_id: str,
        *,
        command: str | None = None,
        feed: bool | None = None,
        admin: bool | None = None,
    ) -> Account:
        """Change any of the command permission and the feed and admin flags; live tokens follow at once."""
        if command is not None and command not in COMMAND_PERMISSIONS:
            raise ValueError(f"permission must be one of {', '.join(COMMAND_PERMISSIONS)}")
        account = self.get(name_or_client_id)
        values = {
            k: v for k, v in (("permission", command), ("feed", feed), ("admin", admin)) if v is not None
        }
        if values:
            # permission changes keep the tokens: they follow the account at once
            self.repository.update_account(account.client_id, revoke_tokens=False, **values)
            for key, value in values.items():
                setattr(account, key, value)
        return account

    def regenerate_secret(self, name_or_client_id: str, secret: str | None = None) -> Credentials:
        """A new secret (``secret``, or a generated one); every token issued under the old one stops working
        in the same commit."""
        if secret is not None and not SECRET_PATTERN.fullmatch(secret):
            raise ValueError(SECRET_RULE)
        account = self.get(name_or_client_id)
        secret = secret or new_client_secret()
        account.secret_hash = hash_secret(secret)
        if not self.repository.update_account(
            account.client_id, secret_hash=account.secret_hash, revoke_tokens=True
        ):
            raise ConflictError("The account was removed while its secret was being regenerated.")
        return Credentials(account, secret)

    # --- tokens -------------------------------------------------------------------------------
    def lookup_client(self, client_id: str) -> Account | None:
        """The enabled account with this client id (what the token endpoint may authenticate)."""
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        account = self.repository.get_account(client_id)
        return account if account and account.enabled else None

    def save_token(self, account: Account, access_token: str) -> None:
        """Store a token for the account as it authenticated; refused (invalid_client) when its secret was
        regenerated or it was disabled in the meantime."""
        now = self.clock.now_int()
        assert account.key is not None  # a stored account
        if not self.issue_token(
            account.key,
            digest(access_token),
            now,
            now + self.token_lifetime,
            secret_hash=account.secret_hash,
            real_expires_at=int(time.time()) + self.token_lifetime,
        ):
            raise InvalidClientError(
                description="The client credentials changed while the token was being issued."
            )

    def issue_token(
        self,
        account_key: int,
        token_hash: str,
        issued_at: int,
        expires_at: int,
        secret_hash: str | None = None,
        real_expires_at: int | None = None,
    ) -> bool:
        """Store a token; when the account then holds more than ``token_cap`` valid tokens, revoke the oldest.

        With ``secret_hash`` (the secret the client authenticated with) nothing is stored, and False comes
        back, unless the account still has that secret and is enabled: a secret regenerated or an account
        disabled while the token was being issued (revoking every token) must not leave this one valid.
        """
        with self.storage.transaction() as unit:
            current = unit.accounts.lock(account_key)
            if secret_hash is not None and (
                current is None or not current[1] or not hmac.compare_digest(current[0], secret_hash)
            ):
                return False
            # Expired tokens can never come back; drop them so the table stays small.
            unit.accounts.delete_expired_tokens(account_key, issued_at, int(time.time()))
            unit.accounts.insert_token(account_key, token_hash, issued_at, expires_at, real_expires_at)
            unit.accounts.revoke_tokens(unit.accounts.unrevoked_tokens(account_key)[self.token_cap :])
        return True

    def account_of_bearer(self, header: str) -> Account | None:
        """The account of an ``Authorization: Bearer ...`` header whose token is valid now (not revoked, not
        expired on the emulator's clock); None for any other header, so the caller can go the way that words
        each refusal."""
        scheme, _, token_string = header.partition(" ")
        if scheme.lower() != "bearer" or not 0 < len(token_string) <= MAX_TOKEN_LENGTH:
            return None
        token = self.find_token(token_string.strip())
        if token is None or token.is_revoked() or token.is_expired():
            return None
        return token.account

    def find_token(self, access_token: str) -> AccessToken | None:
        """The token and its account. A token this worker already found is served from memory while the
        shared accounts counter is unchanged (any revocation, eviction or account change bumps it)."""
        token_hash = digest(access_token)
        version = self.versions.accounts if self.versions is not None else None
        cached = self._tokens.get(token_hash) if version is not None else None
        if cached is not None and cached[0] == version:
            return cached[1]
        found = self.repository.find_token(token_hash)
        if found is None:
            return None  # never remembered: the token may be issued a moment later
        account, issued_at, expires_at, revoked, real_expires_at = found
        token = AccessToken(
            account=account,
            issued_at=issued_at,
            expires_at=expires_at,
            revoked=revoked,
            clock=self.clock,
            real_expires_at=real_expires_at,
        )
        if version is not None:
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.clear()
            self._tokens[token_hash] = (version, token)
        return token

    def valid_token_count(self, name_or_client_id: str) -> int:
        return self.repository.count_valid_tokens(self.get(name_or_client_id).client_id, self.clock.now_int())
