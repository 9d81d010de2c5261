"""Feed writes, mixed into SQLStore: connect, update, append events, disconnect, in one transaction per
call however many operations it holds, each re-rendering its client's fragments; and the change log
that live streams read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, null, select, update
from sqlalchemy.engine import Connection as SAConnection

from gateway.errors import ConflictError, GatewayError, NotFoundError
from gateway.registry.model import EVENT_LOG_LIMIT, Appliance, Change, Client, Connection, Event
from gateway.registry.operations import (
    AppendEvents,
    Connect,
    Disconnect,
    Operation,
    Update,
    apply_update,
    disconnect_event,
    placeholder_appliance,
)
from gateway.storage import jsontext
from gateway.storage import tables as t
from gateway.storage.interface import Describer, Renderer


class FeedWrites:
    """Needs the registry helpers of SQLStore (``_write``, ``_read``, ``_exec``, ``_insert_clients``,
    ``_insert_connections``, ``_insert_events``, ``_client``, ``_connection``, ``_client_values``,
    ``_last_activity``, ``_appliance_values``, ``_next_values``)."""

    def apply_writes(self, ops: Sequence[Operation], render: Renderer, describe: Describer, *, now: int,
                     purge_before: int, keep_changes: int) -> list[Client]:
        """Apply operations in ONE transaction: all are durable when this returns, or none is.

        Returns each operation's client after it (``events``: the last 20, as the XML face shows
        them). An error carries ``operation`` (the index of the failing operation). Disconnected
        clients that left before ``purge_before`` and changes beyond the newest ``keep_changes`` go.
        """
        with self._write() as conn:
            results, changes = [], []
            for index, op in enumerate(ops):
                try:
                    client, kind, detail = self._apply(conn, op, render, now)
                except GatewayError as exc:
                    exc.operation = index
                    raise
                results.append(client)
                changes.append((now, kind, client.id, describe(kind, client, detail)))
            self._log_changes(conn, changes, keep=keep_changes)
            self._exec(conn, "purge_disconnected", lambda: delete(t.clients).where(
                ~t.clients.c.connected, t.clients.c.disconnected_at < bindparam("before")), {"before": purge_before})
        return results

    def _apply(self, conn: SAConnection, op: Operation, render: Renderer, now: int) -> tuple[Client, str, object]:
        if isinstance(op, Connect):
            client = op.client
            self._ensure_appliances(conn, client.connections)
            if client.id:
                # Hold the id counter (a zero step) before looking: a connect that leaves its id to the store
                # takes the same row lock to pick one, so it waits for this one to commit and then sees the id
                # taken, instead of picking the same id and failing on the unique index.
                self._next_values(conn, "client_id", 0)
                if conn.execute(select(t.clients.c.key).where(t.clients.c.connected, t.clients.c.id == client.id)).first():
                    raise ConflictError(f"Client id {client.id} is already connected.", details={"field": "id"})
            self._insert_clients(conn, [client], render)
            client.events = client.recent_events()
            return client, "connect", None
        # Appended events push older ones out of the 20-event log: read only the ones that stay.
        stay = EVENT_LOG_LIMIT - (len(op.events) if isinstance(op, AppendEvents) else 1 if isinstance(op, Disconnect) else 0)
        client, stored_full = self._load_connected(conn, op.id, stay)
        if isinstance(op, Update):
            changed = apply_update(client, op.fields, now)
            if "connections" in op.fields:
                self._ensure_appliances(conn, client.connections)
                conn.execute(delete(t.connections).where(t.connections.c.client_key == client.key))
                self._insert_connections(conn, [(client.key, client.connections)])
            kind, detail = "update", changed
        elif isinstance(op, AppendEvents):
            # Events show only under include_connections: the brief fragment and the other columns stay, and
            # only the event log of the full one is rendered again (fixture_row is cleared, as by every write:
            # a quick reset must rewrite this client).
            self._append(conn, client, op.events)
            _, full = render(client, brief=False, events_of=stored_full)
            self._exec(conn, "append_client", lambda: update(t.clients).where(t.clients.c.key == bindparam("k")).values(
                xml_full=bindparam("v_full"), last_activity=bindparam("v_activity"), fixture_row=null()),
                {"k": client.key, "v_full": full, "v_activity": self._last_activity(client)})
            return client, "event", op.events
        elif isinstance(op, Disconnect):
            client.connected = False
            client.disconnected_at, client.disconnect_reason, client.disconnect_initiator = op.ts, op.reason, op.initiator
            self._append(conn, client, [disconnect_event(op)])
            kind, detail = "disconnect", None
        else:  # pragma: no cover - the operation types are closed
            raise TypeError(op)
        brief, full = render(client)
        values = self._client_values(client, brief, full)
        names = tuple(values)
        self._exec(conn, ("update_client", names), lambda: update(t.clients).where(t.clients.c.key == bindparam("k")).values(
            {name: bindparam(f"v_{name}") for name in names}), {"k": client.key, **{f"v_{n}": v for n, v in values.items()}})
        return client, kind, detail

    def _append(self, conn: SAConnection, client: Client, events: list[Event]) -> None:
        self._insert_events(conn, [(client.key, e) for e in events])
        client.events = (client.events + events)[-EVENT_LOG_LIMIT:]

    def _load_connected(self, conn: SAConnection, client_id: int, events: int = EVENT_LOG_LIMIT) -> tuple[Client, bytes]:
        """The connected client ``client_id``, locked for this transaction, with its connections and its
        last ``events`` events, at most 20 (read through the (client_key, seq) index, never the whole history);
        and its stored fragment with connections."""
        row = self._exec(conn, "load_connected", lambda: self._locked(
            select(t.clients).where(t.clients.c.connected, t.clients.c.id == bindparam("id"))), {"id": client_id})
        row = row[0] if row else None
        if row is None:
            raise NotFoundError(f"No connected client has id {client_id}.", details={"field": "id"})
        client = self._client(row)
        client.connections = [
            self._connection(r) for r in self._exec(conn, "connections_of", lambda: (
                select(t.connections).where(t.connections.c.client_key == bindparam("k")).order_by(t.connections.c.position)
            ), {"k": client.key})
        ]
        client.events = []
        if events > 0:
            recent = self._exec(conn, "recent_events", lambda: self._recent_events(bindparam("k"), bindparam("n")),
                                {"k": client.key, "n": min(events, EVENT_LOG_LIMIT)})
            client.events = [Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq) for r in reversed(recent)]
        return client, bytes(row.xml_full)

    def _locked(self, statement):
        """``statement`` (a SELECT of client rows inside a write) locking the rows it reads, so writers of
        one client on several nodes queue instead of interleaving (appending events and keeping the last
        20, say). SQLite's single writer already serialises them; PostgreSQL adds FOR UPDATE."""
        return statement

    @staticmethod
    def _recent_events(client_key, limit=EVENT_LOG_LIMIT):
        """The newest ``limit`` events of a client (EVENT_LOG_LIMIT by default), newest first (an index range scan)."""
        return (select(t.events).where(t.events.c.client_key == client_key)
                .order_by(t.events.c.seq.desc()).limit(limit))

    def _lock_appliances(self, conn: SAConnection) -> None:
        """Serialise creating appliances, so two writers naming the same new GUID don't both insert it
        (SQLite's single writer already does; PostgreSQL takes an advisory transaction lock)."""

    def _ensure_appliances(self, conn: SAConnection, connections: Sequence[Connection]) -> None:
        """Create a placeholder for every appliance a connection names that the registry does not know."""
        wanted = list(dict.fromkeys(c.appliance_id for c in connections))
        if not wanted:
            return
        self._lock_appliances(conn)
        known = set(conn.execute(select(t.appliances.c.id).where(t.appliances.c.id.in_(wanted))).scalars())
        missing = [guid for guid in wanted if guid not in known]
        if missing:
            position = conn.execute(select(func.coalesce(func.max(t.appliances.c.position), -1))).scalar_one() + 1
            conn.execute(insert(t.appliances), [
                self._appliance_values(placeholder_appliance(guid, position + i)) for i, guid in enumerate(missing)
            ])

    def upsert_appliances(self, appliances: Sequence[Appliance]) -> list[bool]:
        """Create or replace appliances by id (a new one goes last); True for each one created."""
        created = []
        with self._write() as conn:
            self._lock_appliances(conn)
            for appliance in appliances:
                values = self._appliance_values(appliance)
                position = conn.execute(select(t.appliances.c.position).where(t.appliances.c.id == appliance.id)).scalar()
                if position is None:
                    values["position"] = conn.execute(
                        select(func.coalesce(func.max(t.appliances.c.position), -1))
                    ).scalar_one() + 1
                    conn.execute(insert(t.appliances).values(**values))
                else:
                    values["position"] = position
                    conn.execute(update(t.appliances).where(t.appliances.c.id == appliance.id).values(**values))
                created.append(position is None)
        return created

    # ----------------------------------------------------------------------------------------
    # The change log
    # ----------------------------------------------------------------------------------------
    def _log_changes(self, conn: SAConnection, changes: list[tuple[int, str, int | None, dict]], keep: int = 0) -> None:
        """Append changes with seqs from the "change_seq" counter (its row lock orders concurrent
        writers, so seq order is commit order); with ``keep``, drop all but the newest ``keep``."""
        if not changes:
            return
        seqs = self._next_values(conn, "change_seq", len(changes))
        self._bulk_insert_rows(conn, t.changes, ("seq", "ts", "kind", "client_id", "payload"), [
            (seq, ts, kind, client_id, jsontext.dumps(payload)) for seq, (ts, kind, client_id, payload) in zip(seqs, changes)
        ])
        if keep:
            self._exec(conn, "trim_changes", lambda: delete(t.changes).where(t.changes.c.seq <= bindparam("last")),
                       {"last": seqs[-1] - keep})

    def changes_after(self, seq: int, limit: int = 1000) -> list[Change]:
        """Changes with a seq greater than ``seq``, oldest first, at most ``limit``."""
        statement = select(t.changes).where(t.changes.c.seq > seq).order_by(t.changes.c.seq).limit(limit)
        with self._read() as conn:
            return [Change(r.seq, r.ts, r.kind, r.client_id, jsontext.loads(r.payload)) for r in conn.execute(statement)]
