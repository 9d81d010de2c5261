"""Rows of API accounts and their tokens.

Every change to an account or its tokens bumps ``accounts_version`` in the same transaction, so workers
drop what they remember of it (gateway.versions). The bearer-token lookup runs on the fast path.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.errors import ConflictError
from gateway.oauth.models import Account
from gateway.storage import tables as t
from gateway.storage.database import Database, Tx
from gateway.versions import ACCOUNTS_VERSION

#: An accounts row read positionally on the fast path, with the attribute names _account() reads.
_AccountRow = namedtuple("_AccountRow", [c.name for c in t.accounts.columns])  # type: ignore[misc]


def _account(row: Any) -> Account:
    return Account(
        key=row.key,
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        permission=row.permission,
        enabled=bool(row.enabled),
        legacy_login=bool(row.legacy_login),
        feed=bool(row.feed),
        admin=bool(row.admin),
        created_at=row.created_at,
    )


class AccountRows:
    """Accounts and tokens inside a write transaction."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx):
        self.tx = tx

    def lock(self, account_key: int) -> tuple[str, bool] | None:
        """Lock the account's row for this transaction (token issues queue per account); its (secret
        hash, enabled), or None when it is gone."""
        row = self.tx.execute(
            self.tx.db.dialect.lock_rows(
                select(t.accounts.c.secret_hash, t.accounts.c.enabled).where(t.accounts.c.key == account_key)
            )
        ).first()
        return None if row is None else (row.secret_hash, bool(row.enabled))

    def delete_expired_tokens(self, account_key: int, now: int, real_now: int | None = None) -> None:
        # a token the emulator's clock expired may still serve the admin surface until its real expiry
        real = t.tokens.c.real_expires_at
        cond = [t.tokens.c.account_key == account_key, t.tokens.c.expires_at <= now]
        if real_now is not None:
            cond.append(or_(real.is_(None), real <= real_now))
        self.tx.execute(delete(t.tokens).where(*cond))

    def insert_token(
        self,
        account_key: int,
        token_hash: str,
        issued_at: int,
        expires_at: int,
        real_expires_at: int | None = None,
    ) -> None:
        self.tx.execute(
            insert(t.tokens).values(
                token_hash=token_hash,
                account_key=account_key,
                issued_at=issued_at,
                expires_at=expires_at,
                revoked=False,
                real_expires_at=real_expires_at,
            )
        )

    def unrevoked_tokens(self, account_key: int) -> list[int]:
        """Keys of the account's tokens not revoked, newest first."""
        return list(
            self.tx.execute(
                select(t.tokens.c.key)
                .where(t.tokens.c.account_key == account_key, ~t.tokens.c.revoked)
                .order_by(t.tokens.c.key.desc())
            ).scalars()
        )

    def revoke_tokens(self, keys: Sequence[int]) -> None:
        if keys:
            self.tx.execute(update(t.tokens).where(t.tokens.c.key.in_(keys)).values(revoked=True))
            self.tx.next_values(ACCOUNTS_VERSION, 1)  # workers drop the revoked tokens from their caches

    def delete_all(self) -> None:
        self.tx.execute(delete(t.tokens))
        self.tx.execute(delete(t.accounts))
        self.tx.next_values(ACCOUNTS_VERSION, 1)  # workers forget every token they remember


class AccountRepository:
    def __init__(self, db: Database):
        self.db = db

    def create_account(self, account: Account) -> Account:
        values = {
            "client_id": account.client_id,
            "name": account.name,
            "secret_hash": account.secret_hash,
            "permission": account.permission,
            "enabled": account.enabled,
            "legacy_login": account.legacy_login,
            "feed": account.feed,
            "admin": account.admin,
            "created_at": account.created_at,
        }
        try:
            with self.db.write() as tx:
                statement = insert(t.accounts).values(**values).returning(t.accounts.c.key)
                account.key = tx.execute(statement).scalar()
        except IntegrityError:
            raise ConflictError(f"An API account named {account.name!r} already exists.") from None
        return account

    def get_account(self, client_id: str) -> Account | None:
        with self.db.read() as tx:
            row = tx.execute(select(t.accounts).where(t.accounts.c.client_id == client_id)).first()
        return _account(row) if row else None

    def find_account(self, name_or_client_id: str) -> Account | None:
        cond = (t.accounts.c.name == name_or_client_id) | (t.accounts.c.client_id == name_or_client_id)
        with self.db.read() as tx:
            found = tx.execute(select(t.accounts).where(cond).order_by(t.accounts.c.key)).all()
        return _account(found[0]) if found else None

    def list_accounts(self) -> list[Account]:
        with self.db.read() as tx:
            return [_account(r) for r in tx.execute(select(t.accounts).order_by(t.accounts.c.key))]

    def update_account(self, client_id: str, *, revoke_tokens: bool = False, **values: Any) -> bool:
        """Change account fields; with ``revoke_tokens`` every token of the account dies in the same
        commit."""
        with self.db.write() as tx:
            key = tx.execute(
                update(t.accounts)
                .where(t.accounts.c.client_id == client_id)
                .values(**values)
                .returning(t.accounts.c.key)
            ).scalar()
            if key is None:
                return False
            if revoke_tokens:
                tx.execute(
                    update(t.tokens)
                    .where(t.tokens.c.account_key == key, ~t.tokens.c.revoked)
                    .values(revoked=True)
                )
            tx.next_values(ACCOUNTS_VERSION, 1)  # workers drop what they cached of this account
        return True

    def find_token(self, token_hash: str) -> tuple[Account, int, int, bool, int | None] | None:
        """(account, issued_at, expires_at, revoked, real_expires_at) for a token hash, or None (every
        request asks: fast path)."""
        prepared = self.db.prepare(
            "find_token",
            lambda: (
                select(
                    t.accounts,
                    t.tokens.c.issued_at,
                    t.tokens.c.expires_at,
                    t.tokens.c.revoked,
                    t.tokens.c.real_expires_at,
                )
                .join(t.tokens, t.tokens.c.account_key == t.accounts.c.key)
                .where(t.tokens.c.token_hash == bindparam("token_hash"))
            ),
        )
        with self.db.guard():
            row = self.db.fastpath.fetchone(prepared, {"token_hash": token_hash})
        if row is None:
            return None
        *account, issued_at, expires_at, revoked, real_expires_at = row
        return _account(_AccountRow(*account)), issued_at, expires_at, bool(revoked), real_expires_at

    def count_valid_tokens(self, client_id: str, now: int) -> int:
        query = (
            select(func.count())
            .select_from(t.tokens.join(t.accounts, t.tokens.c.account_key == t.accounts.c.key))
            .where(t.accounts.c.client_id == client_id, ~t.tokens.c.revoked, t.tokens.c.expires_at > now)
        )
        with self.db.read() as tx:
            count: int = tx.execute(query).scalar_one()
        return count
