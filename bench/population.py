"""The benchmark population: N clients of every type, each with 1-2 appliance connections and 20 events."""

from __future__ import annotations

import random

from gateway.registry.model import Appliance, Client, ClientType, Connection, Event, RepresentativeInfo
from gateway.seeding.demo import PLATFORMS

APPLIANCES = [
    Appliance(
        id=f"00000000-0000-4000-8000-00000000000{i}",
        position=i,
        name=f"node{i}",
        hostname=f"node{i}.example.com",
        public_hostname=f"node{i}.example.com",
        cluster_role="primary" if i == 0 else "traffic",
    )
    for i in range(3)
]
TYPES = (
    [ClientType.REPRESENTATIVE] * 1
    + [ClientType.SUPPORT_CUSTOMER] * 7
    + [ClientType.PRESENTATION_ATTENDEE]
    + [ClientType.PUSH_AGENT]
)


def build(count: int, seed: int = 5, now: int = 1_790_000_000, events: int = 20) -> list[Client]:
    rng = random.Random(seed)
    clients = []
    for index in range(1, count + 1):
        ctype = TYPES[index % len(TYPES)]
        since = now - rng.randrange(60, 86400)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        connections = [Connection(APPLIANCES[0].id, "primary", False, since, ip)]
        if rng.random() < 0.6:
            connections.append(Connection(APPLIANCES[rng.randrange(1, 3)].id, "traffic", True, since + 2, ip))
        else:
            connections[0].receive_traffic_node = True
        log = [
            Event(
                since + i * 7, f"Connected to traffic node node{i % 3}.example.com (attempt {i})", "connect"
            )
            for i in range(events)
        ]
        platform = PLATFORMS[index % len(PLATFORMS)]
        client = Client(
            id=index,
            type=ctype,
            hostname=f"HOST-{index:06d}",
            platform=platform[1],
            platform_id=platform[0],
            timezone_offset=rng.choice((-18000, 0, 3600)),
            connected_since=since,
            connections=connections,
            events=log,
        )
        if ctype is ClientType.REPRESENTATIVE:
            lsids = [f"{rng.getrandbits(128):032x}" for _ in range(rng.randrange(0, 4))]
            client.rep = RepresentativeInfo(
                user_id=index,
                username=f"rep{index}",
                public_display_name=f"Rep {index}",
                private_display_name=f"Representative {index}",
                start_session_url=f"https://support.example.com/?ak={index}",
                support_session_count=len(lsids),
                support_session_lsids=lsids,
            )
        else:
            client.name = f"Client {index}"
            if ctype is ClientType.SUPPORT_CUSTOMER:
                client.lsid = f"{rng.getrandbits(128):032x}"
        clients.append(client)
    return clients
