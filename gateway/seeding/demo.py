"""A realistic, deterministic demo population: a three-appliance cluster on a busy support day.

Representatives hold sessions whose lsids the support customers in them carry (some sessions are
shared by two representatives, some customers still wait in a queue); presentation attendees watch
a representative's presentation; Jumpoints stay connected for days and collect long event logs.
Every client has one or two appliance connections and an event log that tells how it got them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from gateway.registry.model import Appliance, Client, ClientType, Connection, Event, RepresentativeInfo

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
TIMEZONES = (-28800, -25200, -21600, -18000, 0, 3600, 7200, 19800, 28800, 32400)
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
            ("support.example.com", "primary", 0),
            ("traffic-eu.example.com", "traffic", 3600),
            ("traffic-us.example.com", "traffic", -18000),
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

    def base(self, ctype: ClientType, appliances, since: int, hostname: str, platform) -> Client:
        ip = self.private_ip()
        conns, events = self.connections(appliances, since, ip)
        return Client(
            id=0,
            type=ctype,
            hostname=hostname,
            platform=platform[1],
            platform_id=platform[0],
            timezone_offset=self.rng.choice(TIMEZONES),
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
        client = g.base(
            ClientType.REPRESENTATIVE,
            appliances,
            since,
            f"WS-{username.upper()[:10]}",
            rng.choice(PLATFORMS[:5]),
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
        hostname = rng.choice(
            (
                f"DESKTOP-{rng.getrandbits(28):07X}",
                f"LAPTOP-{rng.getrandbits(28):07X}",
                f"{first}s-MacBook-Pro",
                f"{first.lower()}-thinkpad",
            )
        )
        client = g.base(ClientType.SUPPORT_CUSTOMER, appliances, since, hostname, rng.choice(PLATFORMS))
        client.name = f"{first} {last}"
        client.lsid = sessions[index] if index < len(sessions) else g.lsid()
        roll = rng.random()
        client.non_interactive = "rdp" if roll < 0.07 else "shelljump" if roll < 0.11 else None
        clients.append(client)

    # Presentation attendees.
    for _ in range(size.presentation_attendees):
        first, last = g.person()
        since = now - rng.randrange(60, 3600)
        client = g.base(
            ClientType.PRESENTATION_ATTENDEE,
            appliances,
            since,
            f"PC-{rng.getrandbits(24):06X}",
            rng.choice(PLATFORMS),
        )
        client.name = f"{first} {last}"
        clients.append(client)

    # Jumpoints: up for days, long event logs (more than the 20 the XML face shows).
    sites = (
        "DC1 Servers",
        "DC2 Servers",
        "London Office",
        "NYC Office",
        "Lab",
        "DMZ",
        "Tokyo Office",
        "Branch 42",
        "AWS eu-west-1",
    )
    for index in range(size.push_agents):
        since = now - rng.randrange(2 * 86400, 30 * 86400)
        site = sites[index % len(sites)]
        hostname = "jp-" + site.lower().replace(" ", "-")
        client = g.base(ClientType.PUSH_AGENT, appliances, since, hostname, rng.choice(SERVER_PLATFORMS))
        client.name = f"Jumpoint {site}"
        g.churn(appliances, client, rng.randrange(15, 40))
        clients.append(client)

    clients.sort(key=lambda c: c.connected_since)  # ids are handed out in connection order
    return appliances, clients
