"""Parameter schemas of the session and team actions (marshmallow), as the vendor's pages name them; see
docs/command-actions.md. Each loads into what its handler passes to gateway.registry.session_service."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, pre_load, validate

from gateway.command.params import ActionParams, ZeroOrOne
from gateway.errors import ParameterError
from gateway.registry.model import MAX_CLIENT_ID
from gateway.registry.session_service import RepRef, Sender
from gateway.registry.text import is_xml_safe

CUSTOM = "session.custom."


class Digits(fields.Field):
    """A positive integer of at most ``limit`` (digits counted before int())."""

    def __init__(self, limit: int = MAX_CLIENT_ID, **kwargs: Any):
        super().__init__(**kwargs)
        self.limit = limit

    def _deserialize(self, value, attr, data, **kwargs):
        text = value.lstrip("0") if isinstance(value, str) and value.isascii() and value.isdigit() else ""
        if not text or len(text) > len(str(self.limit)) or int(text) > self.limit:
            raise ValidationError(f"must be an integer from 1 to {self.limit}")
        return int(text)


def _xml_text(value: str) -> None:
    if not is_xml_safe(value):
        raise ValidationError("has characters XML cannot hold")


def Text(maximum: int = 1024, **kwargs: Any) -> fields.String:  # noqa: N802 - a field factory
    """A string of at most ``maximum`` characters that XML can hold (answers and fragments show it)."""
    return fields.String(validate=[validate.Length(max=maximum), _xml_text], **kwargs)


class CustomAttributes(ActionParams):
    """``session.custom.<code name>=value`` parameters, loaded into ``custom`` (the domain checks names)."""

    prefix_params = (CUSTOM,)
    custom = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)

    @pre_load
    def _collect(self, data: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        custom = {key[len(CUSTOM) :]: value for key, value in data.items() if key.startswith(CUSTOM)}
        out: dict[str, Any] = {key: value for key, value in data.items() if not key.startswith(CUSTOM)}
        if custom:
            out["custom"] = custom
        return out


def _rep(data: dict[str, Any]) -> RepRef | None:
    if data.get("rep_id") is not None and data.get("rep_username") is not None:
        raise ParameterError("Give rep_id or rep_username, not both.")
    if data.get("rep_id") is not None:
        return RepRef(user_id=data["rep_id"])
    if data.get("rep_username") is not None:
        return RepRef(username=data["rep_username"])
    return None


class GetSupportTeamsParams(ActionParams):
    showmembers = ZeroOrOne(load_default=False)


class GenerateSessionKeyParams(CustomAttributes):
    type = fields.String(required=True, validate=validate.OneOf(("support",)))
    queue_id = Text(255, required=True)
    ttl = Digits(limit=365 * 86400, load_default=None)


class LsidParams(ActionParams):
    lsid = Text(64, required=True)


class RepParams(LsidParams):
    rep_id = Digits(load_default=None)
    rep_username = Text(255, load_default=None)


class JoinSessionParams(RepParams):
    @post_load
    def to_args(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        rep = _rep(data)
        if rep is None:
            raise ParameterError("Give rep_id or rep_username.")
        return {"lsid": data["lsid"], "rep": rep}


class LeaveSessionParams(RepParams):
    customer = fields.String(load_default=None)

    @post_load
    def to_args(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        rep = _rep(data)
        if data["customer"] is not None and data["customer"] != "1":
            raise ParameterError("Invalid value for parameter 'customer': must be 1.")
        customer = data["customer"] == "1"
        if (rep is None) == (not customer):
            raise ParameterError("Give one of rep_id, rep_username or customer=1.")
        return {"lsid": data["lsid"], "rep": rep, "customer": customer}


class TransferSessionParams(LsidParams):
    queue_id = Text(255, required=True)


class SetSessionAttributesParams(CustomAttributes, LsidParams):
    pass


class SendChatMessageParams(LeaveSessionParams):
    message = Text(4096, required=True)

    @post_load
    def to_args(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        rep = _rep(data)
        if data["customer"] is not None and data["customer"] != "1":
            raise ParameterError("Invalid value for parameter 'customer': must be 1.")
        customer = data["customer"] == "1"
        if rep is not None and customer:
            raise ParameterError("Give at most one of rep_id, rep_username or customer=1.")
        return {"lsid": data["lsid"], "message": data["message"], "sender": Sender(rep, customer)}


class CreateVirtualCustomerParams(ActionParams):
    short_key = Text(16, required=True)
    name = Text(255, required=True)
    ip_address = Text(64, required=True)
    operating_system = Text(255, required=True)
    computer_name = Text(255, required=True)
    locale = Text(16, load_default=None)
    chat_url = ZeroOrOne(load_default=False)


class SetFailoverRoleParams(ActionParams):
    role = fields.String(required=True, validate=validate.OneOf(("primary", "backup")))
    data_sync_first = ZeroOrOne(load_default=False)
    force = ZeroOrOne(load_default=False)
