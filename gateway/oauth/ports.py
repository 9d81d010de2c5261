"""What the account use cases (gateway.oauth.accounts) need from storage; gateway.storage implements it."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from gateway.oauth.models import Account


class TokenRows(Protocol):
    """An account's tokens inside one write transaction."""

    def lock(self, account_key: int) -> tuple[str, bool] | None:
        """Lock the account (token issues queue per account); its (secret hash, enabled), None when gone."""
        ...

    def delete_expired_tokens(self, account_key: int, now: int, real_now: int | None = None) -> None: ...

    def insert_token(
        self,
        account_key: int,
        token_hash: str,
        issued_at: int,
        expires_at: int,
        real_expires_at: int | None = None,
    ) -> None: ...

    def unrevoked_tokens(self, account_key: int) -> list[int]:
        """Keys of the account's tokens not revoked, newest first."""
        ...

    def revoke_tokens(self, keys: Sequence[int]) -> None: ...


class TokenUnit(Protocol):
    @property
    def accounts(self) -> TokenRows: ...


class AccountRepository(Protocol):
    def create_account(self, account: Account) -> Account: ...

    def get_account(self, client_id: str) -> Account | None: ...

    def find_account(self, name_or_client_id: str) -> Account | None: ...

    def list_accounts(self) -> list[Account]: ...

    def update_account(self, client_id: str, *, revoke_tokens: bool = False, **values: Any) -> bool: ...

    def find_token(self, token_hash: str) -> tuple[Account, int, int, bool, int | None] | None:
        """(account, issued_at, expires_at, revoked, real_expires_at) for a token hash, or None."""

    def count_valid_tokens(self, client_id: str, now: int) -> int: ...


class AccountStorage(Protocol):
    @property
    def accounts(self) -> AccountRepository: ...

    def transaction(self) -> AbstractContextManager[TokenUnit]: ...
