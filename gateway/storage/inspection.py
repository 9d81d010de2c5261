"""Queries of the inspection API (client records, event logs, the change log's bounds), mixed into SQLStore.

Every filter, order and page runs in SQL and the total is a COUNT with the same filters, both in one
read snapshot, so a page never loads more than its rows. Disconnected records past retention are
hidden here too (``visible_after``), so the retention rule holds even while no write purges them.
Engine differences sit in two hooks that postgresql.py overrides: case-insensitive prefix matches
(each served by an index of migration 0005) and reading an integer out of the JSON ``details``.
"""

from __future__ import annotations

from sqlalchemy import Integer, and_, cast, exists, func, literal, or_, select
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.sql import ColumnElement

from gateway.registry.inspection import ClientRecord, ClientSearch, Found, LogEntry, LogSearch
from gateway.registry.model import ClientType, Event
from gateway.storage import tables as t

c = t.clients.c

#: Every column of a client row but its rendered XML (which inspection never needs).
_CLIENT_COLUMNS = [col for col in t.clients.c if col.name not in ("xml_brief", "xml_full")]


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching values that start with ``prefix`` literally (``%``, ``_`` and ``\\`` escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _event_count():
    return select(func.count()).where(t.events.c.client_key == c.key).scalar_subquery()


def _connection_count():
    return select(func.count()).where(t.connections.c.client_key == c.key).scalar_subquery()


class InspectionQueries:
    """Needs ``_read`` and ``_hydrate`` from SQLStore."""

    # --- engine hooks (SQLite here; PostgreSQL overrides) ---------------------------------------
    @staticmethod
    def _prefix_match(column, prefix: str) -> ColumnElement:
        """``column`` starts with ``prefix``, ignoring the case of ASCII letters. SQLite's LIKE does exactly
        that and uses the ``COLLATE NOCASE`` index of the column."""
        return column.like(like_prefix(prefix), escape="\\")

    @staticmethod
    def _json_int(column, key: str) -> ColumnElement:
        return cast(func.json_extract(column, f"$.{key}"), Integer)

    # --- conditions ----------------------------------------------------------------------------
    @staticmethod
    def _visible(visible_after: int) -> ColumnElement:
        """Connected, or disconnected no earlier than ``visible_after`` (older ones are due to be purged)."""
        return or_(c.connected, c.disconnected_at >= visible_after)

    def _client_conditions(self, s: ClientSearch, visible_after: int) -> list[ColumnElement]:
        cond = [self._visible(visible_after)]
        if s.types is not None:
            cond.append(c.type.in_(sorted(ct.value for ct in s.types)))
        if s.connected is not None:
            cond.append(c.connected == s.connected)
        if s.ids is not None:
            cond.append(c.id.in_(s.ids))
        if s.record is not None:
            cond.append(c.key == s.record)
        for column, prefix in ((c.hostname, s.hostname), (c.name, s.name), (c.username, s.username),
                               (c.platform, s.platform)):
            if prefix is not None:
                cond.append(self._prefix_match(column, prefix))
        if s.platform_ids is not None:
            cond.append(c.platform_id.in_(s.platform_ids))
        if s.appliance is not None or s.private_ip is not None:
            conn_cond = [t.connections.c.client_key == c.key]
            if s.appliance is not None:
                conn_cond.append(func.lower(t.connections.c.appliance_id) == s.appliance.lower())
            if s.private_ip is not None:
                conn_cond.append(t.connections.c.private_ip == s.private_ip)
            cond.append(exists().where(*conn_cond))
        for column, low, high in ((c.connected_since, s.connected_after, s.connected_before),
                                  (c.disconnected_at, s.disconnected_after, s.disconnected_before),
                                  (c.last_activity, s.last_activity_after, s.last_activity_before)):
            if low is not None:
                cond.append(column >= low)
            if high is not None:
                cond.append(column <= high)
        if s.disconnect_reason is not None:
            cond.append(c.disconnect_reason == s.disconnect_reason)
        if s.disconnect_initiators is not None:
            cond.append(c.disconnect_initiator.in_(s.disconnect_initiators))
        return cond

    def _client_order(self, s: ClientSearch) -> list:
        if s.order_by == "connection_count":
            key = _connection_count()
        elif s.order_by == "event_count":
            key = _event_count()
        elif s.order_by == "support_session_count":
            key = func.coalesce(self._json_int(c.details, "support_session_count"), 0)
        else:
            key = getattr(c, s.order_by)
        direction = (lambda col: col.desc()) if s.descending else (lambda col: col.asc())
        # Connected records have no disconnect time: they come last either way. The row key breaks ties,
        # so pages never overlap or skip.
        return [direction(key).nulls_last(), direction(c.key)]

    # --- client records ------------------------------------------------------------------------
    def client_statements(self, search: ClientSearch, visible_after: int):
        """(the COUNT, the page) of a client search: the same conditions in both."""
        cond = and_(*self._client_conditions(search, visible_after))
        page = (select(*_CLIENT_COLUMNS, _event_count().label("event_count"))
                .where(cond).order_by(*self._client_order(search))
                .offset(search.page.offset).limit(search.page.limit))
        return select(func.count()).select_from(t.clients).where(cond), page

    def find_clients(self, search: ClientSearch, *, visible_after: int) -> Found:
        """One page of client records (connections loaded, no events) and the total count."""
        count, page = self.client_statements(search, visible_after)
        with self._read() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(page).all() if search.page.offset < total else []
            return Found(self._records(conn, rows, with_events=False), total)

    def client_records(self, client_id: int, *, visible_after: int) -> list[ClientRecord]:
        """Every visible record of ``client_id``: the connected one first, then the newest disconnects;
        the first has its last 20 events."""
        statement = (select(*_CLIENT_COLUMNS, _event_count().label("event_count"))
                     .where(c.id == client_id, self._visible(visible_after))
                     .order_by(c.connected.desc(), c.disconnected_at.desc(), c.key.desc()))
        with self._read() as conn:
            rows = conn.execute(statement).all()
            records = self._records(conn, rows, with_events=False)
            if records:
                first = records[0].client
                recent = conn.execute(self._recent_events(first.key)).all()
                first.events = [Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq) for r in reversed(recent)]
        return records

    def _records(self, conn: SAConnection, rows, with_events: bool) -> list[ClientRecord]:
        clients = self._hydrate(conn, rows, with_events)
        return [ClientRecord(client, row.last_activity, row.event_count) for client, row in zip(clients, rows)]

    # --- event logs ----------------------------------------------------------------------------
    def event_statements(self, search: LogSearch, visible_after: int):
        """(the COUNT, the page) of an event search: the same conditions in both."""
        e = t.events.c
        cond = [self._visible(visible_after)]
        if search.ids is not None:
            cond.append(c.id.in_(search.ids))
        if search.record is not None:
            cond.append(c.key == search.record)
        if search.types is not None:
            cond.append(c.type.in_(sorted(ct.value for ct in search.types)))
        if search.kinds is not None:
            cond.append(e.kind.in_(search.kinds))
        if search.after is not None:
            cond.append(e.ts >= search.after)
        if search.before is not None:
            cond.append(e.ts <= search.before)
        joined = t.events.join(t.clients, e.client_key == c.key)
        key = getattr(e, search.order_by)
        order = [key.desc(), e.seq.desc()] if search.descending else [key.asc(), e.seq.asc()]
        page = (select(e.seq, e.ts, e.kind, e.text, c.id, c.key, c.type).select_from(joined)
                .where(*cond).order_by(*order).offset(search.page.offset).limit(search.page.limit))
        return select(func.count()).select_from(joined).where(*cond), page

    def find_events(self, search: LogSearch, *, visible_after: int) -> Found:
        """One page of events of visible records (with their client's id, record and type) and the total."""
        count, page = self.event_statements(search, visible_after)
        with self._read() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(page).all() if search.page.offset < total else []
        return Found([LogEntry(Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq), r.id, r.key, ClientType(r.type))
                      for r in rows], total)

    # --- the change log ------------------------------------------------------------------------
    def change_bounds(self) -> tuple[int | None, int]:
        """(the oldest seq still in the change log or None when it is empty, the last seq ever given)."""
        with self._read() as conn:
            oldest = conn.execute(select(func.min(t.changes.c.seq))).scalar()
            last = conn.execute(
                select(func.coalesce(func.max(t.counters.c.value), literal(0))).where(t.counters.c.name == "change_seq")
            ).scalar_one()
        return oldest, last
