"""Statements of the inspection API (client records, event logs) for the registry repository.

Every filter, order and page runs in SQL and the total is a COUNT with the same filters, both in one
read snapshot, so a page never loads more than its rows. Disconnected records past retention are
hidden here too (``visible_after``), so the retention rule holds even while no write purges them.
Case-insensitive prefix matches and integers read out of the JSON ``details`` come from the dialect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.sql import Select

from gateway.registry.inspection import CLIENT_RANGES, ClientSearch, LogEntry, LogSearch
from gateway.registry.model import ClientType, Event
from gateway.storage import tables as t
from gateway.storage.dialect import Dialect

c = t.clients.c

#: Every column of a client row but its rendered XML (which inspection never needs).
_CLIENT_COLUMNS = [col for col in t.clients.c if col.name not in ("xml_brief", "xml_full")]


def _event_count() -> Any:
    return select(func.count()).where(t.events.c.client_key == c.key).scalar_subquery()


def _connection_count() -> Any:
    return select(func.count()).where(t.connections.c.client_key == c.key).scalar_subquery()


def _duration(now: int) -> Any:
    """Seconds from connect to disconnect, or to ``now`` while connected; 0 if the clock was set back
    (as gateway.registry.inspection.duration)."""
    seconds = func.coalesce(c.disconnected_at, literal(now)) - c.connected_since
    return case((seconds < 0, 0), else_=seconds)


def _counter(dialect: Dialect, name: str, now: int) -> Any:
    """The SQL value of a name in CLIENT_RANGES (and an order key)."""
    if name == "connection_count":
        return _connection_count()
    if name == "event_count":
        return _event_count()
    if name == "duration":
        return _duration(now)
    # A representative's counts live in its JSON details; other types count 0.
    return func.coalesce(dialect.json_int(c.details, name), 0)


def _visible(visible_after: int) -> ColumnElement[bool]:
    """Connected, or disconnected no earlier than ``visible_after`` (older ones are due to be purged)."""
    return or_(c.connected, c.disconnected_at >= visible_after)


def _client_conditions(
    dialect: Dialect, s: ClientSearch, visible_after: int, now: int
) -> list[ColumnElement[bool]]:
    cond = [_visible(visible_after)]
    if s.types is not None:
        cond.append(c.type.in_(sorted(ct.value for ct in s.types)))
    if s.connected is not None:
        cond.append(c.connected == s.connected)
    if s.ids is not None:
        cond.append(c.id.in_(s.ids))
    if s.record is not None:
        cond.append(c.key == s.record)
    for column, prefix in (
        (c.hostname, s.hostname),
        (c.name, s.name),
        (c.username, s.username),
        (c.platform, s.platform),
    ):
        if prefix is not None:
            cond.append(dialect.prefix_match(column, prefix))
    if s.platform_ids is not None:
        cond.append(c.platform_id.in_(s.platform_ids))
    if s.appliance is not None or s.private_ip is not None:
        conn_cond = [t.connections.c.client_key == c.key]
        if s.appliance is not None:
            conn_cond.append(func.lower(t.connections.c.appliance_id) == s.appliance.lower())
        if s.private_ip is not None:
            conn_cond.append(t.connections.c.private_ip == s.private_ip)
        cond.append(exists().where(*conn_cond))
    for column, low, high in (
        (c.connected_since, s.connected_after, s.connected_before),
        (c.disconnected_at, s.disconnected_after, s.disconnected_before),
        (c.last_activity, s.last_activity_after, s.last_activity_before),
    ):
        if low is not None:
            cond.append(column >= low)
        if high is not None:
            cond.append(column <= high)
    if s.disconnect_reason is not None:
        cond.append(c.disconnect_reason == s.disconnect_reason)
    if s.disconnect_initiators is not None:
        cond.append(c.disconnect_initiator.in_(s.disconnect_initiators))
    for name, low, high in s.ranges:
        value = _counter(dialect, name, now)
        if low is not None:
            cond.append(value >= low)
        if high is not None:
            cond.append(value <= high)
    return cond


def _client_order(dialect: Dialect, s: ClientSearch, now: int) -> list[Any]:
    key: Any = _counter(dialect, s.order_by, now) if s.order_by in CLIENT_RANGES else getattr(c, s.order_by)
    ordered = key.desc() if s.descending else key.asc()
    by_key = c.key.desc() if s.descending else c.key.asc()
    # Connected records have no disconnect time: they come last either way. The row key breaks ties,
    # so pages never overlap or skip.
    return [ordered.nulls_last(), by_key]


def client_statements(
    dialect: Dialect, search: ClientSearch, visible_after: int, now: int
) -> tuple[Select[Any], Select[Any]]:
    """(the COUNT, the page) of a client search: the same conditions in both."""
    cond = and_(*_client_conditions(dialect, search, visible_after, now))
    page = (
        select(*_CLIENT_COLUMNS, _event_count().label("event_count"))
        .where(cond)
        .order_by(*_client_order(dialect, search, now))
        .offset(search.page.offset)
        .limit(search.page.limit)
    )
    return select(func.count()).select_from(t.clients).where(cond), page


def records_statement(client_id: int, visible_after: int) -> Select[Any]:
    """Every visible record of a client id: the connected one first, then the newest disconnects."""
    return (
        select(*_CLIENT_COLUMNS, _event_count().label("event_count"))
        .where(c.id == client_id, _visible(visible_after))
        .order_by(c.connected.desc(), c.disconnected_at.desc(), c.key.desc())
    )


def event_statements(search: LogSearch, visible_after: int) -> tuple[Select[Any], Select[Any]]:
    """(the COUNT, the page) of an event search: the same conditions in both."""
    e = t.events.c
    cond = [_visible(visible_after)]
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
    page = (
        select(e.seq, e.ts, e.kind, e.text, c.id, c.key, c.type)
        .select_from(joined)
        .where(*cond)
        .order_by(*order)
        .offset(search.page.offset)
        .limit(search.page.limit)
    )
    return select(func.count()).select_from(joined).where(*cond), page


def log_entry(r: Any) -> LogEntry:
    return LogEntry(Event(ts=r.ts, text=r.text, kind=r.kind, seq=r.seq), r.id, r.key, ClientType(r.type))
