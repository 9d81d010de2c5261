"""What the session use cases (gateway.registry.session_service) need from storage, as protocols they own:
the rows of sessions, session keys, support teams and custom attribute definitions inside a unit of work,
and reads from one snapshot. gateway.storage.sessions implements them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from gateway.registry.ports import ChangeRows, RegistryReads, RegistryRows
from gateway.registry.sessions import (
    ChatMessage,
    CustomAttribute,
    SessionKey,
    SupportSession,
    SupportTeam,
)


class SessionRows(Protocol):
    """Session rows inside one write transaction."""

    def load_session(self, lsid: str) -> SupportSession | None:
        """The session (without its chat), locked for this transaction; None when unknown."""
        ...

    def save_session(self, session: SupportSession) -> None:
        """Insert or replace the session's row (not its chat)."""
        ...

    def add_chat(self, lsid: str, message: ChatMessage) -> None: ...

    def load_key(self, short_key: str) -> SessionKey | None:
        """The key, locked for this transaction."""
        ...

    def key_exists(self, short_key: str) -> bool: ...

    def save_key(self, key: SessionKey) -> None:
        """Insert or replace a session key."""
        ...

    def teams(self) -> list[SupportTeam]: ...

    def attributes(self) -> list[CustomAttribute]: ...

    def replace_site(self, teams: Sequence[SupportTeam], attributes: Sequence[CustomAttribute]) -> None:
        """Replace the support teams and the custom attribute definitions."""
        ...

    def clear(self) -> None:
        """Delete every session, chat message and session key (teams and definitions stay)."""
        ...


class SessionUnit(Protocol):
    @property
    def sessions(self) -> SessionRows: ...

    @property
    def registry(self) -> RegistryRows: ...

    @property
    def changes(self) -> ChangeRows: ...


class SessionReads(Protocol):
    def list_teams(self) -> list[SupportTeam]: ...

    def list_attributes(self) -> list[CustomAttribute]: ...

    def get_session(self, lsid: str, with_chat: bool = True) -> SupportSession | None: ...

    def list_sessions(self, active_only: bool = True) -> list[SupportSession]: ...


class SessionStorage(Protocol):
    @property
    def sessions(self) -> SessionReads: ...

    @property
    def registry(self) -> RegistryReads: ...

    def transaction(self) -> AbstractContextManager[SessionUnit]: ...
