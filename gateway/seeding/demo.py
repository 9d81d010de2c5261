"""A realistic, deterministic demo population: a three-appliance cluster on a busy support day.

Representatives hold sessions whose lsids the support customers in them carry (some sessions are
shared by two representatives, some customers still wait in a queue); presentation attendees watch
a representative's presentation; Jumpoints stay connected for days and collect long event logs.
Every client has one or two appliance connections and an event log that tells how it got them.

Hostnames fit the platform (DESKTOP-/LAPTOP- on Windows, "Names-MacBook-Pro" on macOS, "Names-iPhone" on iOS),
and time-zone offsets fit a place: each person and site has a time zone whose offset, daylight saving time
included, is the one at the moment the client connected (a London Jumpoint: 0 in winter, 3600 in summer).
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.registry.model import Appliance, Client, ClientType, Connection, Event, RepresentativeInfo
from gateway.registry.service import Registry
from gateway.registry.session_service import Sessions
from gateway.seeding import site

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farah",
    "Giulia",
    "Hiro",
    "Ines",
    "Jamal",
    "Kasia",
    "Liam",
    "Mei",
    "Nora",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tomás",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Aiko",
    "Bruno",
    "Carmen",
    "Diego",
    "Elif",
    "Felix",
    "Grace",
    "Hugo",
    "Ingrid",
    "Jonas",
    "Keiko",
    "Lars",
    "Maya",
    "Nikhil",
    "Olga",
    "Pablo",
    "Rania",
    "Samir",
    "Talia",
    "Ulrich",
    "Vera",
    "Wojciech",
    "Yara",
]
LAST_NAMES = [
    "Almeida",
    "Becker",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Vargas",
    "Weber",
    "Xu",
    "Yamamoto",
    "Zhang",
    "Novak",
    "Silva",
    "Kim",
    "Nguyen",
    "Okafor",
    "Haddad",
    "Lindqvist",
    "Moreau",
]
PLATFORMS = (
    ("winNT-64", "Windows 11 Enterprise (x64)"),
    ("winNT-64", "Windows 10 Pro (x64)"),
    ("winNT-32", "Windows 10 Pro (x86)"),
    ("mac-arm64", "macOS 15 Sequoia (arm64)"),
    ("mac-x86_64", "macOS 14 Sonoma (x86_64)"),
    ("linux-x86_64", "Ubuntu 24.04 LTS (x86_64)"),
    ("linux-x86_64", "Red Hat Enterprise Linux 9 (x86_64)"),
    ("ios", "iOS 18"),
    ("android", "Android 15"),
)
SERVER_PLATFORMS = (
    ("winNT-64", "Windows Server 2022 Datacenter (x64)"),
    ("linux-x86_64", "Debian GNU/Linux 12 (x86_64)"),
)
#: Time zones: standard offset from UTC in seconds and daylight saving rule ("eu", "us" or None).
ZONES: dict[str, tuple[int, str | None]] = {
    "UTC": (0, None),
    "Europe/London": (0, "eu"),
    "Europe/Dublin": (0, "eu"),
    "Europe/Paris": (3600, "eu"),
    "Europe/Berlin": (3600, "eu"),
    "Europe/Warsaw": (3600, "eu"),
    "Europe/Athens": (7200, "eu"),
    "America/New_York": (-18000, "us"),
    "America/Chicago": (-21600, "us"),
    "America/Denver": (-25200, "us"),
    "America/Los_Angeles": (-28800, "us"),
    "Asia/Kolkata": (19800, None),
    "Asia/Singapore": (28800, None),
    "Asia/Tokyo": (32400, None),
}
#: Where customers and attendees are (any zone a person lives in; the servers' UTC excluded).
PEOPLE_ZONES = tuple(zone for zone in ZONES if zone != "UTC")
#: Where representatives work: the support centres.
SUPPORT_CENTRES = ("Europe/London", "America/New_York", "Asia/Kolkata")
#: Jumpoint sites and the time zone of the machines there (cloud and DMZ hosts run on UTC).
SITES = (
    ("DC1 Servers", "America/Chicago"),
    ("DC2 Servers", "America/Denver"),
    ("London Office", "Europe/London"),
    ("NYC Office", "America/New_York"),
    ("Lab", "America/Chicago"),
    ("DMZ", "UTC"),
    ("Tokyo Office", "Asia/Tokyo"),
    ("Branch 42", "Europe/Berlin"),
    ("AWS eu-west-1", "UTC"),
)


def _sunday(year: int, month: int, nth: int) -> datetime:
    """The nth Sunday of a month (nth=-1: the last), at midnight UTC."""
    if nth > 0:
        first = datetime(year, month, 1, tzinfo=UTC)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))
    last = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def utc_offset(zone: str, ts: int) -> int:
    """Seconds from UTC in ``zone`` at ``ts``, daylight saving time included: the EU's rule (last Sunday of
    March to last Sunday of October, 01:00 UTC) or the US one (second Sunday of March, 02:00 local, to the
    first Sunday of November, 02:00 local). The tests check it against the system's tz database."""
    standard, rule = ZONES[zone]
    if rule is None:
        return standard
    year = datetime.fromtimestamp(ts, UTC).year
    if rule == "eu":
        start = _sunday(year, 3, -1) + timedelta(hours=1)
        end = _sunday(year, 10, -1) + timedelta(hours=1)
    else:
        start = _sunday(year, 3, 2) + timedelta(hours=2, seconds=-standard)
        end = _sunday(year, 11, 1) + timedelta(hours=2, seconds=-(standard + 3600))
    return standard + 3600 if start.timestamp() <= ts < end.timestamp() else standard


def ascii_name(name: str) -> str:
    """A first name as device names carry it (macOS turns "Zoë" into "Zoe" in a local hostname)."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or "User"


LICENSES = ("Standard", "Standard", "Standard", "Enterprise", "Concurrent")


@dataclass(frozen=True)
class DemoSize:
    representatives: int = 40
    support_customers: int = 320
    presentation_attendees: int = 14
    push_agents: int = 9


class Generator:
    """The vocabulary of realistic clients (people, hosts, lsids, appliance connections), from one seeded
    RNG."""

    def __init__(self, seed: int, now: int):
        self.rng = random.Random(seed)
        self.now = now

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def lsid(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def private_ip(self) -> str:
        r = self.rng
        return r.choice(
            (
                f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                f"192.168.{r.randrange(256)}.{r.randrange(1, 255)}",
                f"172.{r.randrange(16, 32)}.{r.randrange(256)}.{r.randrange(1, 255)}",
            )
        )

    def appliances(self) -> list[Appliance]:
        rows = (
            ("support.example.com", "primary", utc_offset("UTC", self.now)),
            ("traffic-eu.example.com", "traffic", utc_offset("Europe/Dublin", self.now)),
            ("traffic-us.example.com", "traffic", utc_offset("America/New_York", self.now)),
        )
        out = []
        for position, (host, role, tz) in enumerate(rows):
            out.append(
                Appliance(
                    id=self.guid(),
                    position=position,
                    name=host.split(".")[0],
                    hostname=host,
                    public_hostname=host,
                    cluster_role=role,
                    failover_role="primary" if role == "primary" else "none",
                    timezone_offset=tz,
                    version="24.3.1 (build 41298)",
                    enabled_shared_ips=["203.0.113.10"] if role == "primary" else [],
                    last_data_sync_time=self.now - 900 if role == "primary" else None,
                    last_data_sync_status="Success" if role == "primary" else None,
                    pinned_clients=self.rng.randrange(40, 400),
                )
            )
        return out

    def connections(
        self, appliances: list[Appliance], since: int, ip: str
    ) -> tuple[list[Connection], list[Event]]:
        """One or two appliance connections and the event log that led to them."""
        primary, traffic_nodes = appliances[0], appliances[1:]
        events: list[Event] = []
        ts = since
        events.append(Event(ts, f"Connected to {primary.hostname} as primary", "connect"))
        conns = [Connection(primary.id, "primary", False, since, ip)]
        node = self.rng.choice(traffic_nodes)
        if self.rng.random() < 0.25:
            ts += self.rng.randrange(1, 5)
            other = traffic_nodes[0] if node is traffic_nodes[-1] else traffic_nodes[-1]
            events.append(
                Event(
                    ts, f"Failed to connect to traffic node {other.hostname}: connection timed out", "failure"
                )
            )
        if self.rng.random() < 0.7:
            ts += self.rng.randrange(1, 5)
            conns.append(Connection(node.id, "traffic", True, ts, ip))
            events.append(Event(ts, f"Connected to traffic node {node.hostname}", "connect"))
        else:
            conns[0].receive_traffic_node = True
            events.append(Event(ts, f"Using {primary.hostname} as traffic node", "info"))
        return conns, events

    def churn(self, appliances: list[Appliance], client: Client, rounds: int) -> None:
        """Reconnects of a long-lived client; its traffic connection ends up where the log says."""
        by_id = {a.id: a for a in appliances}
        nodes = appliances[1:]
        traffic = next((c for c in client.connections if c.purpose == "traffic"), None)
        ts = client.events[-1].ts
        for _ in range(rounds):
            ts += self.rng.randrange(600, 7200)
            if ts >= self.now - 10:
                break
            node = self.rng.choice(nodes)
            roll = self.rng.random()
            if roll < 0.3 or traffic is None:
                client.events.append(
                    Event(
                        ts,
                        f"Failed to connect to traffic node {node.hostname}: TLS handshake failed",
                        "failure",
                    )
                )
            elif roll < 0.65:
                current = by_id[traffic.appliance_id]
                client.events.append(
                    Event(ts, f"Disconnected normally from traffic node {current.hostname}", "disconnect")
                )
                client.events.append(Event(ts + 2, f"Connected to traffic node {node.hostname}", "connect"))
                traffic.appliance_id, traffic.connected_since = node.id, ts + 2
            else:
                current = by_id[traffic.appliance_id]
                client.events.append(
                    Event(
                        ts, f"Connection to traffic node {current.hostname} lost; reconnecting", "disconnect"
                    )
                )
                client.events.append(Event(ts + 5, f"Connected to traffic node {node.hostname}", "connect"))
                traffic.appliance_id, traffic.connected_since = node.id, ts + 5

    def hostname(self, platform_id: str, first: str) -> str:
        """A device name that fits the platform, as Windows, macOS, iOS, Android and Linux name machines."""
        r, name = self.rng, ascii_name(first)
        if platform_id.startswith("winNT"):
            return f"{r.choice(('DESKTOP', 'LAPTOP'))}-{r.getrandbits(28):07X}"
        if platform_id.startswith("mac"):
            return f"{name}s-{r.choice(('MacBook-Pro', 'MacBook-Air', 'iMac', 'Mac-mini'))}"
        if platform_id == "ios":
            return f"{name}s-{r.choice(('iPhone', 'iPad'))}"
        if platform_id == "android":
            return r.choice(("Galaxy-S24", "Galaxy-A55", "Pixel-9", "Pixel-8a", "moto-g-power"))
        return f"{name.lower()}-{r.choice(('thinkpad', 'xps', 'desktop'))}"

    def base(
        self, ctype: ClientType, appliances, since: int, hostname: str, platform, zone: str | None = None
    ) -> Client:
        """A client connected since ``since``; its time-zone offset is ``zone``'s then (None: where a person
        lives)."""
        ip = self.private_ip()
        zone = zone or self.rng.choice(PEOPLE_ZONES)
        conns, events = self.connections(appliances, since, ip)
        return Client(
            id=0,
            type=ctype,
            hostname=hostname,
            platform=platform[1],
            platform_id=platform[0],
            timezone_offset=utc_offset(zone, since),
            connected_since=since,
            connections=conns,
            events=events,
        )


def build(now: int, seed: int = 2026, size: DemoSize = DemoSize()) -> tuple[list[Appliance], list[Client]]:
    """The demo appliances and clients (ids left 0: the store assigns them)."""
    g = Generator(seed, now)
    rng = g.rng
    appliances = g.appliances()
    host = appliances[0].public_hostname
    clients: list[Client] = []

    # Representatives and their sessions.
    reps: list[Client] = []
    sessions: list[str] = []
    for user_id in range(1, size.representatives + 1):
        first, last = g.person()
        username = f"{first[0]}{last}".lower().replace("'", "").replace(" ", "")
        username = f"{username}{user_id}"
        since = now - rng.randrange(300, 9 * 3600)
        platform = rng.choice(PLATFORMS[:5])  # Windows and macOS workstations
        hostname = (
            f"WS-{ascii_name(username).upper()[:10]}"
            if platform[0].startswith("winNT")
            else g.hostname(platform[0], first)
        )
        client = g.base(
            ClientType.REPRESENTATIVE, appliances, since, hostname, platform, rng.choice(SUPPORT_CENTRES)
        )
        lsids = [g.lsid() for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10)))]
        sessions.extend(lsids)
        busy = len(lsids) >= 4
        client.rep = RepresentativeInfo(
            user_id=user_id,
            type="Invited" if rng.random() < 0.08 else "Normal",
            username=username,
            public_display_name=f"{first} {last[0]}.",
            private_display_name=f"{first} {last}",
            start_session_url=f"https://{host}/?ak=rep{user_id:04d}",
            presentation_count=0,
            support_session_count=len(lsids),
            showing_on_rep_list=rng.random() < 0.85,
            routing_idle=not lsids,
            routing_busy=busy,
            routing_enabled=rng.random() < 0.9,
            routing_available=not busy,
            support_license=rng.choice(LICENSES),
            support_session_lsids=lsids,
        )
        g.churn(appliances, client, rng.randrange(0, 6))
        reps.append(client)
    # A few conferences: a second representative joins an existing session.
    for lsid in rng.sample(sessions, k=min(6, len(sessions))):
        info = rng.choice(reps).rep
        assert info is not None  # every client in reps got its RepresentativeInfo above
        if lsid not in info.support_session_lsids:
            info.support_session_lsids.append(lsid)
            info.support_session_count += 1
    presenters = rng.sample(reps, k=min(2, len(reps)))
    for presenter in presenters:
        assert presenter.rep is not None
        presenter.rep.presentation_count = 1
    clients.extend(reps)

    # Support customers: one per session, the rest queued (an lsid no representative holds yet).
    for index in range(size.support_customers):
        first, last = g.person()
        since = now - rng.randrange(30, 4 * 3600)
        platform = rng.choice(PLATFORMS)
        client = g.base(
            ClientType.SUPPORT_CUSTOMER, appliances, since, g.hostname(platform[0], first), platform
        )
        client.name = f"{first} {last}"
        client.lsid = sessions[index] if index < len(sessions) else g.lsid()
        roll = rng.random()
        client.non_interactive = "rdp" if roll < 0.07 else "shelljump" if roll < 0.11 else None
        clients.append(client)

    # Presentation attendees.
    for _ in range(size.presentation_attendees):
        first, last = g.person()
        since = now - rng.randrange(60, 3600)
        platform = rng.choice(PLATFORMS)
        client = g.base(
            ClientType.PRESENTATION_ATTENDEE, appliances, since, g.hostname(platform[0], first), platform
        )
        client.name = f"{first} {last}"
        clients.append(client)

    # Jumpoints: up for days, long event logs (more than the 20 the XML face shows).
    for index in range(size.push_agents):
        since = now - rng.randrange(2 * 86400, 30 * 86400)
        site, zone = SITES[index % len(SITES)]
        hostname = "jp-" + site.lower().replace(" ", "-")
        client = g.base(
            ClientType.PUSH_AGENT, appliances, since, hostname, rng.choice(SERVER_PLATFORMS), zone
        )
        client.name = f"Jumpoint {site}"
        g.churn(appliances, client, rng.randrange(15, 40))
        clients.append(client)

    clients.sort(key=lambda c: c.connected_since)  # ids are handed out in connection order
    return appliances, clients


def load(
    registry: Registry, sessions: Sessions | None, now: int, seed: int = 2026
) -> tuple[int, list[Client]]:
    """Replace the registry with the demo population and the site that goes with it (custom session
    attributes, support teams and a few ticketed sessions), as a reset to the ``demo`` fixture does.
    Answers (appliances, clients with their ids)."""
    appliances, clients = build(now, seed=seed)
    loaded = registry.replace_population(appliances, clients)
    if sessions is not None:
        site.install(sessions, loaded)
    return len(appliances), loaded
