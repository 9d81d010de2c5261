"""Serializers of the session and team actions: get_support_teams, generate_session_key,
get_session_attributes, create_virtual_customer, and the ``<success>`` answer of the other writes."""

from __future__ import annotations

from typing import Protocol

from gateway.clock import iso8601
from gateway.registry.session_service import IssuedKey, VirtualCustomer
from gateway.registry.sessions import CustomAttribute, SupportTeam
from gateway.xml.document import Builder, document


class _Message(Protocol):
    message: str


class _Teams(Protocol):
    teams: list[SupportTeam]
    show_members: bool


def success(answer: _Message, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("success")
    root.text = answer.message
    return document(root)


def support_teams(answer: _Teams, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("support_teams")
    for team in answer.teams:
        el = b.sub(root, "support_team", id=team.id)
        b.sub(el, "name", team.name)
        b.sub(el, "code_name", team.code_name)
        b.sub(el, "comments", team.comments)
        issues = b.sub(el, "issues")
        for issue in team.issues:
            item = b.sub(issues, "issue", id=issue.id)
            b.sub(item, "code_name", issue.code_name)
            b.sub(item, "description", issue.description)
        if answer.show_members:
            members = b.sub(el, "members")
            for member in team.members:
                item = b.sub(members, "member", id=member.user_id)
                b.sub(item, "display_name", member.display_name)
                b.sub(item, "role", member.role)
    return document(root)


def session_key(issued: IssuedKey, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("session_key")
    b.sub(root, "short_key", issued.key.short_key)
    b.sub(root, "key_url", issued.key_url)
    b.sub(root, "mail_subject", issued.mail_subject)
    b.sub(root, "mail_body", issued.mail_body)
    b.sub(root, "expires", iso8601(issued.key.expires_at), timestamp=issued.key.expires_at)
    return document(root)


def custom_attributes(values: list[tuple[CustomAttribute, str]], namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("custom_attributes")
    for attribute, value in values:
        b.sub(
            root,
            "custom_attribute",
            value,
            display_name=attribute.display_name,
            code_name=attribute.code_name,
        )
    return document(root)


def virtual_customer(created: VirtualCustomer, namespace: str) -> bytes:
    b = Builder(namespace)
    root = b.root("virtual_customer")
    b.sub(root, "lsid", created.session.lsid)
    b.sub(root, "customer_id", created.customer.id)
    b.sub(root, "download_url", created.download_url)
    return document(root)
