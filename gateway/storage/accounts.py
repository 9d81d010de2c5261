"""Queries of API accounts and their tokens, mixed into SQLStore.

Every change to an account or its tokens bumps ``accounts_version`` in the same transaction, so workers
drop what they remember of it (gateway.versions). The bearer-token lookup runs on the hot path.
"""

from __future__ import annotations

import hmac
from collections import namedtuple

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.exc import IntegrityError

from gateway.errors import ConflictError
from gateway.oauth.models import Account
from gateway.storage import tables as t
from gateway.storage.counters import ACCOUNTS_VERSION

#: An accounts row read positionally on the hot path, with the attribute names _account() reads.
_AccountRow = namedtuple("_AccountRow", [c.name for c in t.accounts.columns])


class AccountQueries:
    """Needs ``_read``, ``_write``, ``_guard``, ``_prepare``, ``hot`` and ``_next_values`` from SQLStore."""

    @staticmethod
    def _account(row) -> Account:
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
            with self._write() as conn:
                account.key = conn.execute(insert(t.accounts).values(**values).returning(t.accounts.c.key)).scalar()
        except IntegrityError:
            raise ConflictError(f"An API account named {account.name!r} already exists.") from None
        return account

    def get_account(self, client_id: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.client_id == client_id)).first()
        return self._account(row) if row else None

    def find_account(self, name_or_client_id: str) -> Account | None:
        cond = (t.accounts.c.name == name_or_client_id) | (t.accounts.c.client_id == name_or_client_id)
        with self._read() as conn:
            rows = conn.execute(select(t.accounts).where(cond).order_by(t.accounts.c.key)).all()
        return self._account(rows[0]) if rows else None

    def list_accounts(self) -> list[Account]:
        with self._read() as conn:
            return [self._account(r) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.key))]

    def update_account(self, client_id: str, *, revoke_tokens: bool = False, **values) -> bool:
        """Change account fields; with ``revoke_tokens`` every token of the account dies in the same commit."""
        with self._write() as conn:
            key = conn.execute(
                update(t.accounts)
                .where(t.accounts.c.client_id == client_id)
                .values(**values)
                .returning(t.accounts.c.key)
            ).scalar()
            if key is None:
                return False
            if revoke_tokens:
                conn.execute(
                    update(t.tokens).where(t.tokens.c.account_key == key, ~t.tokens.c.revoked).values(revoked=True)
                )
            self._next_values(conn, ACCOUNTS_VERSION, 1)  # workers drop what they cached of this account
        return True

    def issue_token(self, account_key: int, token_hash: str, issued_at: int, expires_at: int, cap: int,
                    secret_hash: str | None = None) -> bool:
        """Store a token; when the account then holds more than ``cap`` valid tokens, revoke the oldest.

        With ``secret_hash`` (the secret the client authenticated with) nothing is stored, and False comes
        back, unless the account still has that secret and is enabled: a secret regenerated or an account
        disabled while the token was being issued (revoking every token) must not leave this one valid.
        """
        with self._write() as conn:
            self._lock_account(conn, account_key)
            if secret_hash is not None:
                current = conn.execute(
                    select(t.accounts.c.secret_hash, t.accounts.c.enabled).where(t.accounts.c.key == account_key)
                ).first()
                if current is None or not current.enabled or not hmac.compare_digest(current.secret_hash, secret_hash):
                    return False
            # Expired tokens can never come back; drop them so the table stays small.
            conn.execute(delete(t.tokens).where(t.tokens.c.account_key == account_key, t.tokens.c.expires_at <= issued_at))
            conn.execute(
                insert(t.tokens).values(
                    token_hash=token_hash,
                    account_key=account_key,
                    issued_at=issued_at,
                    expires_at=expires_at,
                    revoked=False,
                )
            )
            valid = (
                select(t.tokens.c.key)
                .where(t.tokens.c.account_key == account_key, ~t.tokens.c.revoked)
                .order_by(t.tokens.c.key.desc())
                .offset(cap)
            )
            evicted = conn.execute(update(t.tokens).where(t.tokens.c.key.in_(valid.scalar_subquery())).values(revoked=True))
            if evicted.rowcount:
                self._next_values(conn, ACCOUNTS_VERSION, 1)  # workers drop the evicted token from their caches
        return True

    def _lock_account(self, conn: SAConnection, account_key: int) -> None:
        """Serialise token issue per account (SQLite's write lock already does)."""

    def find_token(self, token_hash: str) -> tuple[Account, int, int, bool] | None:
        """(account, issued_at, expires_at, revoked) for a token hash, or None. Every request asks: hot path."""
        prepared = self._prepare("find_token", lambda: (
            select(t.accounts, t.tokens.c.issued_at, t.tokens.c.expires_at, t.tokens.c.revoked)
            .join(t.tokens, t.tokens.c.account_key == t.accounts.c.key)
            .where(t.tokens.c.token_hash == bindparam("token_hash"))
        ))
        with self._guard():
            row = self.hot.fetchone(prepared, {"token_hash": token_hash})
        if row is None:
            return None
        *account, issued_at, expires_at, revoked = row
        return self._account(_AccountRow(*account)), issued_at, expires_at, bool(revoked)

    def count_valid_tokens(self, client_id: str, now: int) -> int:
        query = (
            select(func.count())
            .select_from(t.tokens.join(t.accounts, t.tokens.c.account_key == t.accounts.c.key))
            .where(t.accounts.c.client_id == client_id, ~t.tokens.c.revoked, t.tokens.c.expires_at > now)
        )
        with self._read() as conn:
            return conn.execute(query).scalar_one()
