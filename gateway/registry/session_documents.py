"""The JSON shapes of support sessions and teams (the JSON face's answers, the change log's ``session``
payloads), declared once as ``Out`` schemas that both dump and document. Times are UNIX seconds."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from gateway.registry.sessions import ChatMessage, SupportSession
from gateway.registry.shapes import Out

#: What a ``session`` change says happened.
SESSION_ACTIONS = ("start", "join", "leave", "transfer", "attributes", "terminate", "chat")


def _ts(**kwargs: Any) -> fields.Integer:
    return fields.Integer(metadata={"description": "UNIX seconds"}, **kwargs)


class IssueOut(Out):
    id = fields.Integer(required=True)
    code_name = fields.String(required=True)
    description = fields.String(required=True)


class TeamMemberOut(Out):
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("member", "lead", "manager")))


class TeamOut(Out):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    code_name = fields.String(required=True)
    comments = fields.String(required=True)
    queue = fields.Function(lambda team: f"team:{team.id}", metadata={"description": "The team's queue_id."})
    members = fields.List(fields.Nested(TeamMemberOut), required=True)
    issues = fields.List(fields.Nested(IssueOut), required=True)


class TeamListOut(Out):
    items = fields.List(fields.Nested(TeamOut), required=True)


class ChatMessageOut(Out):
    ts = _ts(required=True)
    sender_type = fields.String(
        required=True, validate=validate.OneOf(("system", "representative", "customer"))
    )
    sender = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, required=True)
    text = fields.String(required=True)


class SessionOut(Out):
    lsid = fields.String(required=True)
    queue = fields.String(required=True, metadata={"description": "general, rep:<user id> or team:<team id>"})
    started_at = _ts(required=True)
    customer_id = fields.Integer(allow_none=True, required=True, metadata={"description": "Its client id."})
    customer_name = fields.String(required=True)
    rep_ids = fields.List(
        fields.Integer(), required=True, metadata={"description": "User ids in the session."}
    )
    attributes = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    chat = fields.List(fields.Nested(ChatMessageOut), required=True)
    ended_at = _ts(allow_none=True, required=True)
    end_reason = fields.String(allow_none=True, required=True)
    short_key = fields.String(allow_none=True, required=True)


class SessionListOut(Out):
    items = fields.List(fields.Nested(SessionOut), required=True)


SESSION = SessionOut()
CHAT_MESSAGE = ChatMessageOut()


def session_change(
    action: str, session: SupportSession, message: ChatMessage | None = None
) -> dict[str, Any]:
    """The payload of a ``session`` change: what happened, the session after it (no chat), a chat message."""
    payload: dict[str, Any] = {"type": None, "action": action, "session": SESSION.dump(session)}
    if message is not None:
        payload["message"] = CHAT_MESSAGE.dump(message)
    return payload
