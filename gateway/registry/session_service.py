"""The session and support-team use cases: the actions around support sessions (join, leave, transfer,
attributes, chat, terminate), session keys and their redemption, reads for every face.

Each write is one unit of work: the session rows, the clients it changes (a representative's lsids, a
customer who leaves) through :meth:`Registry.apply_within`, and the change log, commit together or not at
all. A session is a row once an action touched it; before that, a session is what the connected clients
say (a customer's lsid, the representatives listing it), which is how captured and demo populations
arrive. Errors are ParameterErrors: the appliance answers bad input with an <error> and changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gateway.clock import Clock
from gateway.errors import ParameterError
from gateway.registry.model import Client, ClientQuery, ClientType, Connection, Event, NewChange
from gateway.registry.operations import AppendEvents, Connect, Disconnect, Operation, Update
from gateway.registry.ports import RegistryRows
from gateway.registry.service import Registry
from gateway.registry.session_documents import session_change
from gateway.registry.session_ports import SessionStorage, SessionUnit
from gateway.registry.sessions import (
    DEFAULT_KEY_TTL,
    EXTERNAL_KEY,
    MAX_CHAT_MESSAGE,
    MAX_KEY_TTL,
    SHORT_KEY_DIGITS,
    ChatMessage,
    CustomAttribute,
    Queue,
    SessionKey,
    SupportSession,
    SupportTeam,
    check_lsid,
    lsid_for,
    merge_attributes,
    parse_queue,
)

UNKNOWN_SESSION = "Invalid lsid: no active session has this lsid."
NOT_LOGGED_IN = "The representative is not logged in."
REPS = ClientQuery(types=frozenset({ClientType.REPRESENTATIVE}))
CUSTOMERS = ClientQuery(types=frozenset({ClientType.SUPPORT_CUSTOMER}))


@dataclass(frozen=True)
class RepRef:
    """Which representative an action names: rep_id or rep_username (exactly one)."""

    user_id: int | None = None
    username: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who a chat message is from: a representative, the customer, or the system (neither)."""

    rep: RepRef | None = None
    customer: bool = False


@dataclass
class IssuedKey:
    key: SessionKey
    key_url: str
    mail_subject: str
    mail_body: str


@dataclass
class VirtualCustomer:
    session: SupportSession
    customer: Client
    download_url: str


class Sessions:
    def __init__(self, storage: SessionStorage, registry: Registry, clock: Clock):
        self.storage = storage
        self.registry = registry
        self.clock = clock

    # --- reads ------------------------------------------------------------------------------------
    def teams(self) -> list[SupportTeam]:
        return self.storage.sessions.list_teams()

    def attribute_definitions(self) -> list[CustomAttribute]:
        return self.storage.sessions.list_attributes()

    def session(self, lsid: str) -> SupportSession:
        """The active session ``lsid`` (stored, else what the connected clients say), with its chat."""
        check_lsid(lsid)
        stored = self.storage.sessions.get_session(lsid)
        if stored is not None and stored.active:
            if not self._alive([stored])[0]:
                raise ParameterError(UNKNOWN_SESSION)
            return stored
        derived = self._derive({lsid}, self.clock.now_int()).get(lsid)
        if derived is None:
            raise ParameterError(UNKNOWN_SESSION)
        return derived

    def sessions(self) -> list[SupportSession]:
        """Every active session: the stored ones, then those only the clients tell of (by lsid)."""
        stored = {s.lsid: s for s in self.storage.sessions.list_sessions(active_only=False)}
        candidates = [s for s in stored.values() if s.active]
        active = [s for s, alive in zip(candidates, self._alive(candidates), strict=True) if alive]
        derived = self._derive(None, self.clock.now_int())
        extra = [s for lsid, s in sorted(derived.items()) if lsid not in stored]
        return active + extra

    def attributes(self, lsid: str) -> list[tuple[CustomAttribute, str]]:
        """The attributes set on a session, in the site's definition order (external_key first)."""
        session = self.session(lsid)
        defined = self.attribute_definitions()
        names = {a.code_name: a for a in defined}
        out = []
        if session.attributes.get(EXTERNAL_KEY):
            out.append((CustomAttribute(EXTERNAL_KEY, "External Key"), session.attributes[EXTERNAL_KEY]))
        for name, attribute in names.items():
            if name != EXTERNAL_KEY and session.attributes.get(name):
                out.append((attribute, session.attributes[name]))
        return out

    # --- site configuration (what an administrator sets in /login) --------------------------------
    def configure_site(self, teams: Sequence[SupportTeam], attributes: Sequence[CustomAttribute]) -> None:
        with self.storage.transaction() as unit:
            unit.sessions.replace_site(teams, attributes)

    def seed(self, sessions: Sequence[SupportSession]) -> None:
        """Store sessions as a population brings them (with their chat); no change is logged."""
        with self.storage.transaction() as unit:
            for session in sessions:
                unit.sessions.save_session(session)
                for message in session.chat:
                    unit.sessions.add_chat(session.lsid, message)

    # --- session keys -----------------------------------------------------------------------------
    def generate_key(
        self, queue_id: str, *, ttl: int | None, attributes: dict[str, str], site: str
    ) -> IssuedKey:
        now = self.clock.now_int()
        ttl = DEFAULT_KEY_TTL if ttl is None else ttl
        if not 0 < ttl <= MAX_KEY_TTL:
            raise ParameterError(f"Invalid ttl: give a number of seconds from 1 to {MAX_KEY_TTL}.")
        queue = parse_queue(queue_id, allow=("general", "rep", "rep_username", "team", "issue"))
        with self.storage.transaction() as unit:
            merged = merge_attributes({}, attributes, self._definitions(unit))
            resolved = self._resolve_queue(unit, queue)
            short_key = self._new_short_key(unit)
            key = SessionKey(short_key, resolved, now, now + ttl, merged)
            unit.sessions.save_key(key)
        url = f"https://{site}/?ak={short_key}"
        body = (
            f"Please click the link below to start a support session: {url}\n"
            f"Or go to https://{site}/ and enter the session key {short_key}."
        )
        return IssuedKey(key, url, "Support Session Key", body)

    def redeem(self, short_key: str, customer: Client) -> tuple[Client, SupportSession]:
        """A support customer connects with a session key: a new session in the key's queue, the customer
        in it (its lsid), the key used up. ``customer`` is a support customer not yet connected."""
        if customer.type is not ClientType.SUPPORT_CUSTOMER:
            raise ParameterError("Only a support customer redeems a session key.")
        now = self.clock.now_int()
        with self.storage.transaction() as unit:
            key = unit.sessions.load_key(short_key)
            if key is None or not key.usable(now):
                raise ParameterError("Invalid or expired session key.")
            lsid = lsid_for(f"{short_key}:{now}:{secrets.token_hex(8)}")
            customer.lsid = lsid
            changes = self.registry.apply_within(unit.registry, [Connect(customer)], now)
            session = SupportSession(
                lsid,
                key.queue,
                now,
                customer_id=customer.id,
                customer_name=customer.name or "",
                attributes=dict(key.attributes),
                short_key=short_key,
            )
            changes += self._join_queue_rep(unit, session, now)
            key.redeemed_lsid = lsid
            unit.sessions.save_key(key)
            unit.sessions.save_session(session)
            self._log(unit, changes, now, "start", session)
        return customer, session

    def create_virtual_customer(
        self,
        short_key: str,
        *,
        name: str,
        ip_address: str,
        operating_system: str,
        computer_name: str,
        appliance_id: str,
        site: str,
    ) -> VirtualCustomer:
        """A chat-only customer (a chat bot's end user) in a new session, from a session key."""
        now = self.clock.now_int()
        client = Client(
            id=0,
            type=ClientType.SUPPORT_CUSTOMER,
            hostname=computer_name,
            platform=operating_system,
            platform_id="virtual",
            timezone_offset=0,
            connected_since=now,
            name=name,
            connections=[Connection(appliance_id, "primary", False, now, ip_address)],
            lsid="pending",
        )
        customer, session = self.redeem(short_key, client)
        return VirtualCustomer(session, customer, f"https://{site}/?ak={short_key}")

    # --- session actions --------------------------------------------------------------------------
    def join(self, lsid: str, rep: RepRef) -> None:
        now = self.clock.now_int()
        reps = self._rep_clients(rep)
        user_id = _user_id(reps[0])
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            if user_id in session.rep_ids:
                raise ParameterError("The representative is already in the session.")
            session.rep_ids.append(user_id)
            changes = self._rep_lsids(unit, reps, now, add=lsid, note=f"Joined support session {lsid}")
            unit.sessions.save_session(session)
            self._log(unit, changes, now, "join", session)

    def leave(self, lsid: str, rep: RepRef | None, customer: bool) -> str:
        """Remove a representative or (``customer``) the customer; the success message."""
        now = self.clock.now_int()
        reps = self._rep_clients(rep) if rep is not None else []
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            if customer:
                if session.customer_id is None:
                    raise ParameterError("The session has no customer.")
                changes = self._drop_customer(unit, session, now, "Removed from the session")
                message = "Customer successfully removed"
            else:
                user_id = _user_id(reps[0])
                if user_id not in session.rep_ids:
                    raise ParameterError("The representative is not in the session.")
                session.rep_ids.remove(user_id)
                changes = self._rep_lsids(unit, reps, now, remove=lsid, note=f"Left support session {lsid}")
                message = "Representative successfully removed"
            unit.sessions.save_session(session)
            self._log(unit, changes, now, "leave", session)
        return message

    def transfer(self, lsid: str, queue_id: str) -> None:
        """Move the session to a representative's or a team's queue: the representatives in it leave it, a
        representative it goes to joins it."""
        now = self.clock.now_int()
        queue = parse_queue(queue_id, allow=("rep", "rep_username", "team"))
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            target = self._resolve_queue(unit, queue)
            changes: list[NewChange] = []
            leaving = [c for c in self._all_reps() if _user_id(c) in session.rep_ids]
            changes += self._rep_lsids(
                unit, leaving, now, remove=lsid, note=f"Transferred support session {lsid}"
            )
            session.rep_ids = []
            session.queue = target
            changes += self._join_queue_rep(unit, session, now)
            unit.sessions.save_session(session)
            self._log(unit, changes, now, "transfer", session)

    def set_attributes(self, lsid: str, given: dict[str, str]) -> None:
        now = self.clock.now_int()
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            session.attributes = merge_attributes(session.attributes, given, self._definitions(unit))
            unit.sessions.save_session(session)
            self._log(unit, [], now, "attributes", session)

    def terminate(self, lsid: str) -> None:
        """End the session: its customer disconnects, its representatives drop it; both logs say so."""
        now = self.clock.now_int()
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            changes: list[NewChange] = []
            if session.customer_id is not None:
                changes += self._drop_customer(unit, session, now, "Session terminated")
            reps = [c for c in self._all_reps() if _user_id(c) in session.rep_ids or lsid in _lsids(c)]
            changes += self._rep_lsids(
                unit, reps, now, remove=lsid, note=f"Support session {lsid} terminated"
            )
            session.rep_ids = []
            session.ended_at, session.end_reason = now, "terminated"
            unit.sessions.save_session(session)
            self._log(unit, changes, now, "terminate", session)

    def send_chat(self, lsid: str, text: str, sender: Sender) -> None:
        now = self.clock.now_int()
        if len(text) > MAX_CHAT_MESSAGE:
            raise ParameterError(f"The message is longer than {MAX_CHAT_MESSAGE} characters.")
        reps = self._rep_clients(sender.rep) if sender.rep is not None else []
        with self.storage.transaction() as unit:
            session = self._load(unit, lsid, now)
            if reps:
                user_id = _user_id(reps[0])
                if user_id not in session.rep_ids:
                    raise ParameterError("The representative is not in the session.")
                rep = reps[0].rep
                assert rep is not None
                message = ChatMessage(now, "representative", rep.public_display_name, text, user_id)
            elif sender.customer:
                if session.customer_id is None:
                    raise ParameterError("The session has no customer.")
                message = ChatMessage(now, "customer", session.customer_name, text)
            else:
                message = ChatMessage(now, "system", "System", text)
            unit.sessions.save_session(session)  # a derived session becomes a row before its chat
            unit.sessions.add_chat(lsid, message)
            session.chat.append(message)
            self._log(unit, [], now, "chat", session, message=message)

    # --- helpers ----------------------------------------------------------------------------------
    def _load(self, unit: SessionUnit, lsid: str, now: int) -> SupportSession:
        check_lsid(lsid)
        session = unit.sessions.load_session(lsid)
        if session is not None and session.active:
            if not self._alive([session])[0]:
                raise ParameterError(UNKNOWN_SESSION)
            return session
        derived = self._derive({lsid}, now).get(lsid)
        if derived is None:
            raise ParameterError(UNKNOWN_SESSION)
        return derived

    def _alive(self, sessions: Sequence[SupportSession]) -> list[bool]:
        """Whether each stored session still has someone in it: its customer (connected, with its lsid) or
        a logged-in representative of it. A customer or representative may leave through the feed (a
        disconnect) without any session action: the session then ended with them."""
        if not sessions:
            return []
        customers = {c.id: c for c in self.storage.registry.list_clients(CUSTOMERS)}
        reps = {_user_id(c) for c in self._all_reps()}
        out = []
        for session in sessions:
            customer = customers.get(session.customer_id) if session.customer_id is not None else None
            here = customer is not None and customer.lsid == session.lsid
            out.append(here or any(user_id in reps for user_id in session.rep_ids))
        return out

    def _derive(self, lsids: set[str] | None, now: int) -> dict[str, SupportSession]:
        """Sessions as the connected clients tell of them (customers' lsids, representatives' lists)."""
        found: dict[str, SupportSession] = {}
        for customer in self.storage.registry.list_clients(CUSTOMERS):
            lsid = customer.lsid
            if lsid and (lsids is None or lsid in lsids) and lsid not in found:
                found[lsid] = SupportSession(
                    lsid, "general", customer.connected_since, customer.id, customer.name or ""
                )
        for rep_client in self._all_reps():
            for lsid in _lsids(rep_client):
                if lsids is not None and lsid not in lsids:
                    continue
                session = found.setdefault(lsid, SupportSession(lsid, "general", now))
                user_id = _user_id(rep_client)
                if user_id not in session.rep_ids:
                    session.rep_ids.append(user_id)
                if session.queue == "general":
                    session.queue = f"rep:{user_id}"
        return found

    def _all_reps(self) -> list[Client]:
        return self.storage.registry.list_clients(REPS)

    def _rep_clients(self, ref: RepRef) -> list[Client]:
        """The connected console(s) of a representative (one user may run several)."""
        found = [
            c
            for c in self._all_reps()
            if c.rep is not None
            and (
                (ref.user_id is not None and c.rep.user_id == ref.user_id)
                or (ref.username is not None and c.rep.username == ref.username)
            )
        ]
        if not found or len({_user_id(c) for c in found}) > 1:
            raise ParameterError(NOT_LOGGED_IN)
        return found

    def _rep_lsids(
        self,
        unit: SessionUnit,
        consoles: Sequence[Client],
        now: int,
        *,
        add: str | None = None,
        remove: str | None = None,
        note: str,
    ) -> list[NewChange]:
        """Add or remove an lsid in representatives' support_session_lsids, with an event on their logs."""
        ops: list[Operation] = []
        for console in consoles:
            current = _current_lsids(unit.registry, console.id)
            if current is None:
                raise ParameterError(NOT_LOGGED_IN)
            if add is not None and add not in current:
                current.append(add)
            elif remove is not None and remove in current:
                current.remove(remove)
            else:
                continue
            ops.append(Update(console.id, {"representative": {"support_session_lsids": current}}))
            ops.append(AppendEvents(console.id, [Event(now, note, "info")]))
        return self.registry.apply_within(unit.registry, ops, now) if ops else []

    def _join_queue_rep(self, unit: SessionUnit, session: SupportSession, now: int) -> list[NewChange]:
        """A session in a representative's queue is that representative's: it lists the lsid."""
        if not session.queue.startswith("rep:"):
            return []
        user_id = int(session.queue[4:])
        consoles = [c for c in self._all_reps() if _user_id(c) == user_id]
        if not consoles:
            return []
        if user_id not in session.rep_ids:
            session.rep_ids.append(user_id)
        return self._rep_lsids(
            unit, consoles, now, add=session.lsid, note=f"Support session {session.lsid} assigned"
        )

    def _drop_customer(
        self, unit: SessionUnit, session: SupportSession, now: int, reason: str
    ) -> list[NewChange]:
        customer_id, session.customer_id = session.customer_id, None
        if customer_id is None or _current_lsids(unit.registry, customer_id, customer=True) != [session.lsid]:
            return []  # the customer already left (or the id now belongs to another client)
        return self.registry.apply_within(
            unit.registry, [Disconnect(customer_id, reason=reason, initiator="server")], now
        )

    def _resolve_queue(self, unit: SessionUnit, queue: Queue) -> str:
        """The queue a key or transfer names, as ``general``, ``rep:<user id>`` or ``team:<id>``."""
        if queue.kind == "general":
            return "general"
        if queue.kind in ("rep", "rep_username"):
            ref = RepRef(user_id=int(queue.value)) if queue.kind == "rep" else RepRef(username=queue.value)
            return f"rep:{_user_id(self._rep_clients(ref)[0])}"
        teams = unit.sessions.teams()
        if queue.kind == "team":
            if not any(t.id == int(queue.value) for t in teams):
                raise ParameterError(f"Invalid queue_id: no support team has id {queue.value}.")
            return f"team:{queue.value}"
        for team in teams:
            if any(issue.code_name == queue.value for issue in team.issues):
                return f"team:{team.id}"
        raise ParameterError(f"Invalid queue_id: no issue has code name {queue.value[:80]!r}.")

    @staticmethod
    def _definitions(unit: SessionUnit) -> dict[str, CustomAttribute]:
        return {a.code_name: a for a in unit.sessions.attributes()}

    @staticmethod
    def _new_short_key(unit: SessionUnit) -> str:
        while True:
            short_key = str(
                10 ** (SHORT_KEY_DIGITS - 1) + secrets.randbelow(9 * 10 ** (SHORT_KEY_DIGITS - 1))
            )
            if not unit.sessions.key_exists(short_key):
                return short_key

    def _log(
        self,
        unit: SessionUnit,
        changes: list[NewChange],
        now: int,
        action: str,
        session: SupportSession,
        message: ChatMessage | None = None,
    ) -> None:
        payload = session_change(action, replace(session, chat=[]), message)
        changes.append(NewChange(now, "session", session.customer_id, payload))
        unit.changes.append(changes, keep=self.registry.keep_changes)


def _user_id(client: Client) -> int:
    assert client.rep is not None  # representatives have their fields
    return client.rep.user_id


def _lsids(client: Client) -> list[str]:
    return list(client.rep.support_session_lsids) if client.rep else []


def _current_lsids(rows: RegistryRows, client_id: int, customer: bool = False) -> list[str] | None:
    """A connected client's lsids as stored now (locked for the transaction); None when it left."""
    loaded = rows.load_connected(client_id, 0)
    if loaded is None:
        return None
    client = loaded[0]
    if customer:
        return [client.lsid] if client.lsid else []
    return _lsids(client)
