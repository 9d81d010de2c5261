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
from gateway.command.params import ActionParams, ConnectedClientListParams, ConnectedClientsParams, NoParams
from gateway.xml import appliances as appliance_xml
from gateway.xml import clients as client_xml

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
    )
}
