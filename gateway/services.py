"""The components one app is wired from, kept on ``app.extensions["gateway"]``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .clock import Clock
from .controls import Controls
from .inspect.streaming import StreamSlots
from .oauth.accounts import AccountService
from .oauth.bearer import Authenticator
from .registry.service import Registry
from .storage.interface import Store
from .versions import Versions


@dataclass
class Services:
    store: Store
    clock: Clock
    registry: Registry
    accounts: AccountService
    authenticate: Authenticator
    #: Emulator controls: faults, shared clock, journal, rate limits (gateway.controls).
    controls: Controls
    #: The shared change counters read once per API request (gateway.versions).
    versions: Versions
    #: Live event streams this process serves (gateway.inspect.events).
    streams: StreamSlots


def services() -> Services:
    return current_app.extensions["gateway"]
