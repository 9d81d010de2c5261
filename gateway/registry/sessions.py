"""Support sessions and support teams as state of the registry: the model and the rules every session keeps.

Names follow the vendor's elements (get_support_teams, generate_session_key, get_session_attributes); the
facts and their sources are in docs/command-actions.md. Plain Python: no Flask, no SQL, no wire format.
Every rule raises ParameterError, which the command face answers as the appliance does (HTTP 200, <error>).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import ParameterError
from gateway.registry.text import is_xml_safe

#: Most characters of one custom attribute value, and of all of a session's values together (vendor's page).
MAX_ATTRIBUTE_VALUE = 1024
MAX_ATTRIBUTES_TOTAL = 10 * 1024
#: The one attribute every site has (set_session_attributes' session.custom.external_key).
EXTERNAL_KEY = "external_key"
#: A session key's lifetime when generate_session_key is given no ttl (our choice), and the longest one.
DEFAULT_KEY_TTL = 86400
MAX_KEY_TTL = 365 * 86400
MAX_CHAT_MESSAGE = 4096
SHORT_KEY_DIGITS = 7


@dataclass
class Issue:
    """An issue a support customer picks on the public site; it routes to its team's queue."""

    id: int
    code_name: str
    description: str = ""


@dataclass
class TeamMember:
    """A representative in a team, by user id (the id get_logged_in_reps lists)."""

    user_id: int
    display_name: str = ""
    role: str = "member"  # member | lead | manager


@dataclass
class SupportTeam:
    """A support team: its queue is ``team:<id>``."""

    id: int
    name: str
    code_name: str
    comments: str = ""
    members: list[TeamMember] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def has_member(self, user_id: int) -> bool:
        return any(m.user_id == user_id for m in self.members)


@dataclass
class CustomAttribute:
    """A custom session attribute an administrator defined (/login > Management > API Configuration)."""

    code_name: str
    display_name: str


@dataclass
class ChatMessage:
    ts: int
    sender_type: str  # system | representative | customer
    sender: str  # the representative's or customer's display name; "System"
    text: str
    user_id: int | None = None


@dataclass
class SupportSession:
    """A support session (``lsid``): a customer, the representatives in it, a queue, attributes, a chat.

    ``queue`` is ``general``, ``rep:<user id>`` or ``team:<team id>``. ``customer_id`` is the connected
    support customer's client id (None once the customer left); ``rep_ids`` the user ids in the session."""

    lsid: str
    queue: str
    started_at: int
    customer_id: int | None = None
    customer_name: str = ""
    rep_ids: list[int] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    chat: list[ChatMessage] = field(default_factory=list)
    ended_at: int | None = None
    end_reason: str | None = None
    #: The session key it was started from, if any.
    short_key: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass
class SessionKey:
    """A key from generate_session_key: a customer redeems it (once) into a session in ``queue``."""

    short_key: str
    queue: str
    created_at: int
    expires_at: int
    attributes: dict[str, str] = field(default_factory=dict)
    redeemed_lsid: str | None = None

    def usable(self, now: int) -> bool:
        return self.redeemed_lsid is None and now < self.expires_at


@dataclass(frozen=True)
class Queue:
    """A parsed queue_id: kind general | rep | rep_username | team | issue, and its value."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "general" else f"{self.kind}:{self.value}"


def parse_queue(text: str, *, allow: tuple[str, ...]) -> Queue:
    """A queue_id as the vendor documents it (general, rep:[id], rep_username:[name], team:[id],
    issue:[code name]); ``allow`` names the kinds this action accepts."""
    kind, _, value = text.partition(":")
    if kind not in allow or (kind == "general") != (value == ""):
        raise ParameterError(f"Invalid queue_id {text[:80]!r}.")
    if kind in ("rep", "team") and not (value.isascii() and value.isdigit() and 0 < len(value) <= 10):
        raise ParameterError(f"Invalid queue_id {text[:80]!r}.")
    return Queue(kind, value)


def check_lsid(lsid: str) -> str:
    """An lsid as clients carry it (the vendor's are 32 hex digits; the feed takes up to 64 characters)."""
    if not lsid or len(lsid) > 64:
        raise ParameterError("Invalid lsid.")
    return lsid


def merge_attributes(
    current: dict[str, str], given: dict[str, str], defined: dict[str, CustomAttribute]
) -> dict[str, str]:
    """The attributes after set_session_attributes: given ones replace, an empty value clears, the others
    keep theirs. Only attributes the site defines (and external_key) may be set."""
    for name, value in given.items():
        if name != EXTERNAL_KEY and name not in defined:
            raise ParameterError(f"Invalid custom attribute {name[:80]!r}.")
        if not is_xml_safe(value):  # get_session_attributes could not show it
            raise ParameterError(
                f"The value of custom attribute {name[:80]!r} has characters XML cannot hold."
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise ParameterError(
                f"The value of custom attribute {name[:80]!r} is longer than {MAX_ATTRIBUTE_VALUE} characters"
            )
    merged = {**current, **given}
    merged = {k: v for k, v in merged.items() if v != ""}
    if sum(len(v) for v in merged.values()) > MAX_ATTRIBUTES_TOTAL:
        raise ParameterError(
            f"The custom attributes of a session hold at most {MAX_ATTRIBUTES_TOTAL} characters."
        )
    return merged


def lsid_for(seed: str) -> str:
    """A new lsid (32 hex digits, as the vendor's examples); ``seed`` makes it unique."""
    import hashlib

    return hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()
