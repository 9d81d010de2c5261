"""Serializers of the appliance-level actions: check_health, get_appliances, get_logged_in_reps,
get_api_info."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.clock import iso8601
from gateway.registry.model import Appliance
from gateway.registry.service import LoggedInRep
from gateway.xml.document import Builder, document, flag


@dataclass
class ApiInfo:
    api_version: str
    timestamp: int
    permissions: dict[str, str]
    #: The company API name, for API versions before 1.24.1 (which removed it); None: left out.
    company_name: str | None = None


@dataclass
class RepList:
    """get_logged_in_reps' answer: the representatives, and the elements the emulated API version lacks."""

    #: The elements of a <rep> an API version may lack (gateway.command.versions).
    ELEMENTS = ("display_name", "public_display_name", "private_display_name")

    reps: Sequence[LoggedInRep]
    omitted: frozenset[str] = field(default_factory=frozenset)


def api_information(info: ApiInfo, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("api_information")
    b.sub(root, "api_version", info.api_version)
    if info.company_name is not None:
        b.sub(root, "company_name", info.company_name)
    b.sub(root, "timestamp", info.timestamp)
    perms = b.sub(root, "permissions")
    for name, value in info.permissions.items():
        b.sub(perms, "permission", perm_name=name, value=value)
    return document(root)


def check_health(appliance: Appliance, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("check_health")
    b.sub(root, "appliance", appliance.hostname, id=appliance.id)
    b.sub(root, "version", appliance.version)
    b.sub(root, "success", flag(appliance.healthy))
    if not appliance.healthy or appliance.error_message:
        b.sub(root, "error_message", appliance.error_message or "The appliance reported a problem.")
    b.sub(root, "failover_role", appliance.failover_role)
    if appliance.enabled_shared_ips:
        ips = b.sub(root, "enabled_shared_ips")
        for ip in appliance.enabled_shared_ips:
            b.sub(ips, "ip", ip)
    if appliance.failover_role != "none" and appliance.last_data_sync_time is not None:
        b.sub(
            root,
            "last_data_sync_time",
            iso8601(appliance.last_data_sync_time),
            ts=appliance.last_data_sync_time,
        )
        if appliance.last_data_sync_status:
            b.sub(root, "last_data_sync_status", appliance.last_data_sync_status)
    return document(root)


def appliances(items: list[Appliance], namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("appliances")
    for a in items:
        el = b.sub(root, "appliance", id=a.id)
        b.sub(el, "name", a.name)
        b.sub(el, "public_hostname", a.public_hostname)
        b.sub(el, "cluster_role", a.cluster_role)
        b.sub(el, "failover_role", a.failover_role)
        b.sub(el, "accepting_connections", flag(a.accepting_connections))
        b.sub(el, "timezone_offset", a.timezone_offset)
    return document(root)


def direct_link(url: str, text: str) -> str:
    """The vendor's "HTML anchor tag containing the URL" (the link text: the representative's public name).
    HTML-escaped inside, then escaped again as XML text by lxml, as any text is."""
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(text, quote=False)}</a>'


def logged_in_reps(answer: RepList, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("logged_in_reps")
    omitted = answer.omitted
    for entry in answer.reps:
        rep, client = entry.client.rep, entry.client
        assert rep is not None  # a logged-in rep is a representative client, which has its rep record
        el = b.sub(root, "rep", id=entry.user_id)
        # display_name: deprecated since API 1.10.0, kept with public_display_name's value
        names = (
            ("display_name", rep.public_display_name),
            ("public_display_name", rep.public_display_name),
            ("private_display_name", rep.private_display_name),
        )
        for name, value in names:
            if name not in omitted:
                b.sub(el, name, value)
        b.sub(el, "type", rep.type)
        b.sub(el, "direct_link", direct_link(rep.start_session_url, rep.public_display_name))
        b.sub(el, "logged_in_since", iso8601(client.connected_since), ts=client.connected_since)
        b.sub(el, "presentation_count", rep.presentation_count)
        b.sub(el, "support_session_count", rep.support_session_count)
        b.sub(el, "showing_on_rep_list", flag(rep.showing_on_rep_list))
    return document(root)
