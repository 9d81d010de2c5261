"""Rows of support sessions, their chat, session keys, support teams and custom attribute definitions
(the ports of gateway.registry.session_ports). Plain SQLAlchemy Core; upserts through the engine's dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from gateway.registry.sessions import (
    ChatMessage,
    CustomAttribute,
    Issue,
    SessionKey,
    SupportSession,
    SupportTeam,
    TeamMember,
)
from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.database import Database, Tx
from gateway.storage.dialect import MIGRATION_LOCK

#: Serialises session writers: a session that is not a row yet has no row to lock, and two first actions on
#: it would both insert it (the second overwriting the first's representatives).
SESSIONS_LOCK = MIGRATION_LOCK + 2


def _team(row: Any) -> SupportTeam:
    return SupportTeam(
        id=row.id,
        name=row.name,
        code_name=row.code_name,
        comments=row.comments,
        members=[TeamMember(**m) for m in jsontext.loads(row.members)],
        issues=[Issue(**i) for i in jsontext.loads(row.issues)],
    )


def _session(row: Any) -> SupportSession:
    return SupportSession(
        lsid=row.lsid,
        queue=row.queue,
        started_at=row.started_at,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        rep_ids=list(jsontext.loads(row.rep_ids)),
        attributes=dict(jsontext.loads(row.attributes)),
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        short_key=row.short_key,
    )


def _chat(row: Any) -> ChatMessage:
    return ChatMessage(row.ts, row.sender_type, row.sender, row.text, row.user_id)


def _session_values(session: SupportSession) -> dict[str, Any]:
    return {
        "lsid": session.lsid,
        "queue": session.queue,
        "started_at": session.started_at,
        "customer_id": session.customer_id,
        "customer_name": session.customer_name,
        "rep_ids": jsontext.dumps(session.rep_ids),
        "attributes": jsontext.dumps(session.attributes),
        "ended_at": session.ended_at,
        "end_reason": session.end_reason,
        "short_key": session.short_key,
    }


def _teams(tx: Tx) -> list[SupportTeam]:
    return [_team(r) for r in tx.execute(select(t.support_teams).order_by(t.support_teams.c.position))]


def _attributes(tx: Tx) -> list[CustomAttribute]:
    statement = select(t.custom_attributes).order_by(t.custom_attributes.c.position)
    return [CustomAttribute(r.code_name, r.display_name) for r in tx.execute(statement)]


def _upsert(tx: Tx, table: Any, values: dict[str, Any], key: str) -> None:
    statement = tx.db.dialect.insert(table).values(**values)
    tx.execute(
        statement.on_conflict_do_update(index_elements=[key], set_={k: values[k] for k in values if k != key})
    )


class SessionRows:
    """Session rows inside a write transaction."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx):
        self.tx = tx

    def _lock(self) -> None:
        self.tx.db.dialect.lock(self.tx.conn, SESSIONS_LOCK)

    def load_session(self, lsid: str) -> SupportSession | None:
        self._lock()
        statement = self.tx.db.dialect.lock_rows(
            select(t.support_sessions).where(t.support_sessions.c.lsid == lsid)
        )
        row = self.tx.execute(statement).first()
        return None if row is None else _session(row)

    def save_session(self, session: SupportSession) -> None:
        _upsert(self.tx, t.support_sessions, _session_values(session), "lsid")

    def add_chat(self, lsid: str, message: ChatMessage) -> None:
        self.tx.execute(
            t.session_chat.insert().values(
                lsid=lsid,
                ts=message.ts,
                sender_type=message.sender_type,
                sender=message.sender,
                user_id=message.user_id,
                text=message.text,
            )
        )

    def load_key(self, short_key: str) -> SessionKey | None:
        self._lock()
        statement = self.tx.db.dialect.lock_rows(
            select(t.session_keys).where(t.session_keys.c.short_key == short_key)
        )
        row = self.tx.execute(statement).first()
        if row is None:
            return None
        return SessionKey(
            row.short_key,
            row.queue,
            row.created_at,
            row.expires_at,
            dict(jsontext.loads(row.attributes)),
            row.redeemed_lsid,
        )

    def key_exists(self, short_key: str) -> bool:
        statement = select(t.session_keys.c.short_key).where(t.session_keys.c.short_key == short_key)
        return self.tx.execute(statement).first() is not None

    def save_key(self, key: SessionKey) -> None:
        values = {
            "short_key": key.short_key,
            "queue": key.queue,
            "created_at": key.created_at,
            "expires_at": key.expires_at,
            "attributes": jsontext.dumps(key.attributes),
            "redeemed_lsid": key.redeemed_lsid,
        }
        _upsert(self.tx, t.session_keys, values, "short_key")

    def teams(self) -> list[SupportTeam]:
        return _teams(self.tx)

    def attributes(self) -> list[CustomAttribute]:
        return _attributes(self.tx)

    def replace_site(self, teams: Sequence[SupportTeam], attributes: Sequence[CustomAttribute]) -> None:
        self.tx.execute(delete(t.support_teams))
        self.tx.execute(delete(t.custom_attributes))
        if teams:
            self.tx.conn.execute(
                t.support_teams.insert(),
                [
                    {
                        "id": team.id,
                        "position": position,
                        "name": team.name,
                        "code_name": team.code_name,
                        "comments": team.comments,
                        "members": jsontext.dumps([vars(m) for m in team.members]),
                        "issues": jsontext.dumps([vars(i) for i in team.issues]),
                    }
                    for position, team in enumerate(teams)
                ],
            )
        if attributes:
            self.tx.conn.execute(
                t.custom_attributes.insert(),
                [
                    {"code_name": a.code_name, "position": position, "display_name": a.display_name}
                    for position, a in enumerate(attributes)
                ],
            )

    def clear(self) -> None:
        self.tx.execute(delete(t.session_chat))
        self.tx.execute(delete(t.support_sessions))
        self.tx.execute(delete(t.session_keys))


class SessionRepository:
    """Reads of sessions and teams, each from one snapshot."""

    def __init__(self, db: Database):
        self.db = db

    def list_teams(self) -> list[SupportTeam]:
        with self.db.read() as tx:
            return _teams(tx)

    def list_attributes(self) -> list[CustomAttribute]:
        with self.db.read() as tx:
            return _attributes(tx)

    def get_session(self, lsid: str, with_chat: bool = True) -> SupportSession | None:
        with self.db.read() as tx:
            row = tx.execute(select(t.support_sessions).where(t.support_sessions.c.lsid == lsid)).first()
            if row is None:
                return None
            session = _session(row)
            if with_chat:
                statement = (
                    select(t.session_chat).where(t.session_chat.c.lsid == lsid).order_by(t.session_chat.c.seq)
                )
                session.chat = [_chat(r) for r in tx.execute(statement)]
        return session

    def list_sessions(self, active_only: bool = True) -> list[SupportSession]:
        statement = select(t.support_sessions).order_by(
            t.support_sessions.c.started_at, t.support_sessions.c.lsid
        )
        if active_only:
            statement = statement.where(t.support_sessions.c.ended_at.is_(None))
        with self.db.read() as tx:
            return [_session(r) for r in tx.execute(statement)]
