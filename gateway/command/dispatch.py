"""THE dispatch table of the command API: action name -> parameters, handler, serializer, permission.

Handlers get the services and the loaded parameters and return plain objects; serializers turn
those into XML. A test walks the whole table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from gateway.command import handlers
from gateway.command import session_handlers as sessions
from gateway.command import session_params as sp
from gateway.command.params import ActionParams, ConnectedClientListParams, ConnectedClientsParams, NoParams
from gateway.xml import appliances as appliance_xml
from gateway.xml import clients as client_xml
from gateway.xml import sessions as session_xml

READ = "read"  # read_only or full_access
WRITE = "write"  # full_access only


@dataclass(frozen=True)
class Action:
    name: str
    params: type[ActionParams]
    handler: Callable[[handlers.Context, Any], Any]
    serializer: Callable[[Any, str], bytes | Iterable[bytes]]
    permission: str = READ
    #: The root element that holds this action's results; parameter errors are nested in it.
    root: str | None = None
    #: Whether its documents depend only on the registry and its parameters (kept in the document cache).
    cached: bool = False
    #: The root of a successful answer of an action whose errors stand alone (``root`` None): ``success``.
    answer: str | None = None

    @cached_property
    def schema(self) -> ActionParams:
        """One instance of the parameter schema (marshmallow schemas keep no state between loads)."""
        return self.params()


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "get_connected_clients",
            ConnectedClientsParams,
            handlers.get_connected_clients,
            client_xml.connected_clients,
            root="connected_clients",
            cached=True,
        ),
        Action(
            "get_connected_client_list",
            ConnectedClientListParams,
            handlers.get_connected_client_list,
            client_xml.connected_client_list,
            root="connected_client_list",
        ),
        Action(
            "get_api_info",
            NoParams,
            handlers.get_api_info,
            appliance_xml.api_information,
            root="api_information",
        ),
        Action(
            "check_health", NoParams, handlers.check_health, appliance_xml.check_health, root="check_health"
        ),
        Action(
            "get_logged_in_reps",
            NoParams,
            handlers.get_logged_in_reps,
            appliance_xml.logged_in_reps,
            root="logged_in_reps",
        ),
        Action(
            "get_appliances", NoParams, handlers.get_appliances, appliance_xml.appliances, root="appliances"
        ),
        # Support sessions and teams (issue 17; the vendor's pages: docs/command-actions.md).
        Action(
            "get_support_teams",
            sp.GetSupportTeamsParams,
            sessions.get_support_teams,
            session_xml.support_teams,
            root="support_teams",
        ),
        Action(
            "generate_session_key",
            sp.GenerateSessionKeyParams,
            sessions.generate_session_key,
            session_xml.session_key,
            WRITE,
            answer="session_key",
        ),
        Action(
            "join_session",
            sp.JoinSessionParams,
            sessions.join_session,
            session_xml.success,
            WRITE,
            answer="success",
        ),
        # The vendor's page gives leave_session, send_chat_message and create_virtual_customer to read-only
        # accounts too (a chat bot's account), unlike the other writes.
        Action(
            "leave_session",
            sp.LeaveSessionParams,
            sessions.leave_session,
            session_xml.success,
            answer="success",
        ),
        Action(
            "transfer_session",
            sp.TransferSessionParams,
            sessions.transfer_session,
            session_xml.success,
            WRITE,
            answer="success",
        ),
        Action(
            "set_session_attributes",
            sp.SetSessionAttributesParams,
            sessions.set_session_attributes,
            session_xml.success,
            WRITE,
            answer="success",
        ),
        Action(
            "get_session_attributes",
            sp.LsidParams,
            sessions.get_session_attributes,
            session_xml.custom_attributes,
            root="custom_attributes",
        ),
        Action(
            "terminate_session",
            sp.LsidParams,
            sessions.terminate_session,
            session_xml.success,
            WRITE,
            answer="success",
        ),
        Action(
            "send_chat_message",
            sp.SendChatMessageParams,
            sessions.send_chat_message,
            session_xml.success,
            answer="success",
        ),
        Action(
            "create_virtual_customer",
            sp.CreateVirtualCustomerParams,
            sessions.create_virtual_customer,
            session_xml.virtual_customer,
            answer="virtual_customer",
        ),
        Action(
            "set_failover_role",
            sp.SetFailoverRoleParams,
            sessions.set_failover_role,
            session_xml.success,
            WRITE,
            answer="success",
        ),
    )
}
