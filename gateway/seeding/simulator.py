"""``gateway simulate``: seeded, deterministic churn of a support desk, written through the feed.

Representatives log in and out; customers arrive, wait in the queue with their own lsid, are picked
up by a representative (whose ``support_session_lsids`` then lists that lsid), sometimes joined by a
second one, and leave; attendees watch presentations; Jumpoints connect first and stay; traffic
nodes fail and clients move between them, as their event logs tell. With ``sessions``, support sessions
are driven too, as an integration would: customers arrive with a session key (generate_session_key, then
the feed's redemption), and their sessions move between team queues and are terminated (``calls``).

The generator yields steps: the ``operations`` of one feed batch, and the simulated time. Clients
are named by handles (``Ref``) because the gateway assigns ids; the driver resolves them. The same
seed, start time and rate give the same steps, whatever the registry holds.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gateway.registry.documents import appliance_json, client_json
from gateway.registry.model import Appliance, Client, ClientType, RepresentativeInfo
from gateway.seeding import demo

#: How many of each kind the simulated desk holds at most.
MAX_REPS = 40
MAX_QUEUE = 30
JUMPOINTS = 6
MAX_SESSIONS_PER_REP = 6
#: Keyed sessions open at once, and the team queues they go to (the demo site's teams).
MAX_KEYED = 10
TEAM_QUEUES = ("team:1", "team:2", "team:3", "team:4")


@dataclass(frozen=True)
class Ref:
    """A client of the simulation, before the gateway has given it an id."""

    handle: str


@dataclass
class Step:
    number: int
    ts: int
    action: str
    operations: list[dict]
    #: Session calls after the batch: redeem (a key for ``queue_id``, then ``customer`` connects with it),
    #: transfer (to ``queue_id``), terminate; each names its customer by ``ref``.
    calls: list[dict] = field(default_factory=list)

    def canonical(self) -> str:
        """The step as text, handles in place of ids (equal for equal seeds)."""
        step = {"n": self.number, "ts": self.ts, "action": self.action, "operations": self.operations}
        if self.calls:
            step["calls"] = self.calls
        return json.dumps(step, sort_keys=True, default=lambda ref: f"@{ref.handle}")


@dataclass
class _Rep:
    ref: Ref
    user_id: int
    lsids: list[str] = field(default_factory=list)
    presenting: bool = False


@dataclass
class _Customer:
    ref: Ref
    lsid: str
    reps: list[_Rep] = field(default_factory=list)  # empty: still queued


class Simulator:
    def __init__(self, seed: int, start: int, rate: float, *, sessions: bool = False):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.gen = demo.Generator(seed, start)
        self.rng = self.gen.rng
        self.start, self.rate = start, rate
        self.appliances: list[Appliance] = self.gen.appliances()
        self.by_id = {a.id: a for a in self.appliances}
        self.handles = itertools.count(1)
        self.reps: list[_Rep] = []
        self.customers: list[_Customer] = []
        self.attendees: dict[Ref, _Rep] = {}
        self.clients: dict[Ref, Client] = {}  # what the simulation last wrote of each connected client
        self.jumpoints: list[Ref] = []
        self.sessions = sessions
        self.keyed: list[Ref] = []  # customers in sessions started from a key (the gateway holds their lsid)
        self._calls: list[dict] = []

    # --- the step stream ------------------------------------------------------------------------
    def steps(self) -> Iterator[Step]:
        for number in itertools.count():
            ts = self.start + int(number / self.rate)
            action, make = self._choose()
            operations = make(ts)
            calls, self._calls = self._calls, []
            yield Step(number, ts, action, operations, calls)

    def _choose(self) -> tuple[str, Callable[[int], list[dict]]]:
        queued = [c for c in self.customers if not c.reps]
        in_session = [c for c in self.customers if c.reps]
        free_reps = [r for r in self.reps if len(r.lsids) < MAX_SESSIONS_PER_REP]
        presenters = [r for r in self.reps if r.presenting]
        options = [
            ("jumpoint_connect", 50 if len(self.jumpoints) < JUMPOINTS else 0, self._jumpoint_connect),
            (
                "rep_login",
                12 if len(self.reps) < 3 else 3 if len(self.reps) < MAX_REPS else 0,
                self._rep_login,
            ),
            ("rep_logout", 1 if len(self.reps) > 3 else 0, self._rep_logout),
            ("customer_arrive", 5 if len(queued) < MAX_QUEUE else 0, self._customer_arrive),
            ("session_start", 5 if queued and free_reps else 0, self._session_start),
            ("session_end", 4 if in_session else 0, self._session_end),
            ("conference", 1 if in_session and len(self.reps) > 1 else 0, self._conference),
            ("customer_drop", 1 if queued else 0, self._customer_drop),
            ("presentation_start", 1 if self.reps and len(presenters) < 2 else 0, self._presentation_start),
            ("attendee_join", 2 if presenters and len(self.attendees) < 20 else 0, self._attendee_join),
            ("presentation_end", 1 if presenters else 0, self._presentation_end),
            ("node_failure", 2 if self.clients else 0, self._node_failure),
            ("traffic_move", 1 if self.clients else 0, self._traffic_move),
        ]
        if self.sessions:  # only then: the steps of a seed without sessions stay what they were
            options += [
                ("key_session", 3 if len(self.keyed) < MAX_KEYED else 0, self._key_session),
                ("session_transfer", 1 if self.keyed else 0, self._session_transfer),
                ("session_terminate", 1 if self.keyed else 0, self._session_terminate),
            ]
        live = [(name, weight, make) for name, weight, make in options if weight]
        name, _, make = self.rng.choices(live, weights=[w for _, w, _ in live])[0]
        return name, make

    # --- helpers --------------------------------------------------------------------------------
    def _ref(self) -> Ref:
        return Ref(f"c{next(self.handles)}")

    def _connect(self, ref: Ref, client: Client) -> dict:
        self.clients[ref] = client
        body = client_json(client, state=False)
        del body["id"]
        return {"op": "connect", "ref": ref, "client": body}

    def _new_client(
        self,
        ctype: ClientType,
        ts: int,
        hostname: str | None,
        platforms,
        first: str = "",
        zone: str | None = None,
    ) -> Client:
        """A client on one of ``platforms``; hostname None: a name that fits the platform (demo.Generator)."""
        platform = self.rng.choice(platforms)
        if hostname is None or (hostname.startswith("WS-") and not platform[0].startswith("winNT")):
            hostname = self.gen.hostname(platform[0], first)
        return self.gen.base(ctype, self.appliances, ts, hostname, platform, zone)

    def _disconnect(self, ref: Ref, reason: str, initiator: str) -> dict:
        del self.clients[ref]
        return {"op": "disconnect", "id": ref, "reason": reason, "initiator": initiator}

    def _rep_update(self, rep: _Rep) -> dict:
        busy = len(rep.lsids) >= 4
        return {
            "op": "update",
            "id": rep.ref,
            "fields": {
                "representative": {
                    "support_session_lsids": list(rep.lsids),
                    "presentation_count": int(rep.presenting),
                    "routing_idle": not rep.lsids,
                    "routing_busy": busy,
                    "routing_available": not busy,
                }
            },
        }

    # --- actions --------------------------------------------------------------------------------
    def _jumpoint_connect(self, ts: int) -> list[dict]:
        site, zone = demo.SITES[len(self.jumpoints) % len(demo.SITES)]
        client = self._new_client(
            ClientType.PUSH_AGENT,
            ts,
            "jp-" + site.lower().replace(" ", "-"),
            demo.SERVER_PLATFORMS,
            zone=zone,
        )
        client.name = f"Jumpoint {site}"
        ref = self._ref()
        self.jumpoints.append(ref)
        return [self._connect(ref, client)]

    def _rep_login(self, ts: int) -> list[dict]:
        taken = {r.user_id for r in self.reps}
        user_id = self.rng.choice([u for u in range(1, MAX_REPS + 1) if u not in taken])
        first, last = (
            demo.FIRST_NAMES[user_id % len(demo.FIRST_NAMES)],
            demo.LAST_NAMES[user_id % len(demo.LAST_NAMES)],
        )
        username = f"{first[0]}{last}".lower().replace("'", "") + str(user_id)
        client = self._new_client(
            ClientType.REPRESENTATIVE,
            ts,
            f"WS-{demo.ascii_name(username).upper()[:10]}",  # Windows workstations; a Mac gets a Mac name
            demo.PLATFORMS[:5],
            first,
            self.rng.choice(demo.SUPPORT_CENTRES),
        )
        client.rep = RepresentativeInfo(
            user_id=user_id,
            username=username,
            public_display_name=f"{first} {last[0]}.",
            private_display_name=f"{first} {last}",
            start_session_url=f"https://{self.appliances[0].hostname}/?ak=rep{user_id:04d}",
            routing_idle=True,
            support_license=self.rng.choice(demo.LICENSES),
        )
        rep = _Rep(self._ref(), user_id)
        self.reps.append(rep)
        return [self._connect(rep.ref, client)]

    def _end_sessions_of(self, rep: _Rep) -> list[dict]:
        """A representative leaves: sessions only they held end; shared ones stay with the others."""
        ops = []
        for customer in [c for c in self.customers if rep in c.reps]:
            customer.reps.remove(rep)
            if not customer.reps:
                self.customers.remove(customer)
                ops.append(self._disconnect(customer.ref, "Session ended by the representative", "server"))
        return ops

    def _rep_logout(self, ts: int) -> list[dict]:
        rep = self.rng.choice(self.reps)
        ops = self._end_sessions_of(rep)
        for attendee, presenter in list(self.attendees.items()):
            if presenter is rep:
                del self.attendees[attendee]
                ops.append(self._disconnect(attendee, "Presentation ended", "server"))
        self.reps.remove(rep)
        ops.append(self._disconnect(rep.ref, "Logged out", "client"))
        return ops

    def _customer_arrive(self, ts: int) -> list[dict]:
        first, last = self.gen.person()
        client = self._new_client(ClientType.SUPPORT_CUSTOMER, ts, None, demo.PLATFORMS, first)
        client.name, client.lsid = f"{first} {last}", self.gen.lsid()
        roll = self.rng.random()
        client.non_interactive = "rdp" if roll < 0.07 else "shelljump" if roll < 0.11 else None
        customer = _Customer(self._ref(), client.lsid)
        self.customers.append(customer)
        return [self._connect(customer.ref, client)]

    def _session_start(self, ts: int) -> list[dict]:
        customer = next(c for c in self.customers if not c.reps)  # the queue is first come, first served
        rep = self.rng.choice([r for r in self.reps if len(r.lsids) < MAX_SESSIONS_PER_REP])
        customer.reps.append(rep)
        rep.lsids.append(customer.lsid)
        return [
            self._rep_update(rep),
            {
                "op": "events",
                "id": customer.ref,
                "events": [{"ts": ts, "kind": "info", "text": f"Session accepted by {rep.user_id}"}],
            },
        ]

    def _session_end(self, ts: int) -> list[dict]:
        customer = self.rng.choice([c for c in self.customers if c.reps])
        self.customers.remove(customer)
        ops = []
        for rep in customer.reps:
            rep.lsids.remove(customer.lsid)
            ops.append(self._rep_update(rep))
        initiator = self.rng.choice(("client", "client", "server", "network"))
        reason = {
            "client": "Customer closed the session",
            "server": "Session ended by the representative",
            "network": "Connection timed out",
        }[initiator]
        return [self._disconnect(customer.ref, reason, initiator), *ops]

    def _conference(self, ts: int) -> list[dict]:
        customer = self.rng.choice([c for c in self.customers if c.reps])
        others = [r for r in self.reps if r not in customer.reps and len(r.lsids) < MAX_SESSIONS_PER_REP]
        if not others:
            return self._node_failure(ts)
        rep = self.rng.choice(others)
        customer.reps.append(rep)
        rep.lsids.append(customer.lsid)
        return [self._rep_update(rep)]

    def _customer_drop(self, ts: int) -> list[dict]:
        customer = self.rng.choice([c for c in self.customers if not c.reps])
        self.customers.remove(customer)
        return [self._disconnect(customer.ref, "Left the queue", self.rng.choice(("client", "network")))]

    def _presentation_start(self, ts: int) -> list[dict]:
        rep = self.rng.choice(self.reps)
        if rep.presenting:
            return self._node_failure(ts)
        rep.presenting = True
        return [self._rep_update(rep)]

    def _attendee_join(self, ts: int) -> list[dict]:
        presenter = self.rng.choice([r for r in self.reps if r.presenting])
        first, last = self.gen.person()
        client = self._new_client(ClientType.PRESENTATION_ATTENDEE, ts, None, demo.PLATFORMS, first)
        client.name = f"{first} {last}"
        ref = self._ref()
        self.attendees[ref] = presenter
        return [self._connect(ref, client)]

    def _presentation_end(self, ts: int) -> list[dict]:
        rep = self.rng.choice([r for r in self.reps if r.presenting])
        rep.presenting = False
        ops = [self._rep_update(rep)]
        for attendee, presenter in list(self.attendees.items()):
            if presenter is rep:
                del self.attendees[attendee]
                ops.append(self._disconnect(attendee, "Presentation ended", "server"))
        return ops

    def _node_failure(self, ts: int) -> list[dict]:
        ref = self.rng.choice(sorted(self.clients, key=lambda r: int(r.handle[1:])))
        node = self.rng.choice(self.appliances[1:])
        reason = self.rng.choice(("connection timed out", "TLS handshake failed", "connection refused"))
        return [
            {
                "op": "events",
                "id": ref,
                "events": [
                    {
                        "ts": ts,
                        "kind": "failure",
                        "text": f"Failed to connect to traffic node {node.hostname}: {reason}",
                    }
                ],
            }
        ]

    def _traffic_move(self, ts: int) -> list[dict]:
        ref = self.rng.choice(sorted(self.clients, key=lambda r: int(r.handle[1:])))
        client = self.clients[ref]
        traffic = next((c for c in client.connections if c.purpose == "traffic"), None)
        if traffic is None:
            return self._node_failure(ts)
        old = self.by_id[traffic.appliance_id]
        node = self.rng.choice([a for a in self.appliances[1:] if a.id != old.id] or self.appliances[1:])
        traffic.appliance_id, traffic.connected_since = node.id, ts
        connections = client_json(client, state=False)["connections"]
        return [
            {"op": "update", "id": ref, "fields": {"connections": connections}},
            {
                "op": "events",
                "id": ref,
                "events": [
                    {
                        "ts": ts,
                        "kind": "disconnect",
                        "text": f"Connection to traffic node {old.hostname} lost; reconnecting",
                    },
                    {"ts": ts, "kind": "connect", "text": f"Connected to traffic node {node.hostname}"},
                ],
            },
        ]

    # --- sessions through the command API ---------------------------------------------------------
    def _key_session(self, ts: int) -> list[dict]:
        first, last = self.gen.person()
        hostname = f"DESKTOP-{self.rng.getrandbits(28):07X}"
        client = self._new_client(ClientType.SUPPORT_CUSTOMER, ts, hostname, demo.PLATFORMS[:3])
        client.name, client.lsid = f"{first} {last}", "from-key"
        ref = self._ref()
        self.clients[ref] = client
        self.keyed.append(ref)
        body = client_json(client, state=False)
        del body["id"], body["lsid"]
        queue = self.rng.choice(("general", *TEAM_QUEUES))
        self._calls.append({"call": "redeem", "ref": ref, "queue_id": queue, "customer": body})
        return []

    def _session_transfer(self, ts: int) -> list[dict]:
        ref = self.rng.choice(self.keyed)
        self._calls.append({"call": "transfer", "ref": ref, "queue_id": self.rng.choice(TEAM_QUEUES)})
        return []

    def _session_terminate(self, ts: int) -> list[dict]:
        ref = self.rng.choice(self.keyed)
        self.keyed.remove(ref)
        del self.clients[ref]
        self._calls.append({"call": "terminate", "ref": ref})
        return []

    def appliance_documents(self) -> list[dict]:
        return [appliance_json(a) for a in self.appliances]


def resolve(operations: list[dict], ids: dict[Ref, int]) -> list[dict]:
    """The operations of a step as the feed's batch takes them (handles replaced by ids)."""
    out = []
    for op in operations:
        op = {k: v for k, v in op.items() if k != "ref"}
        if isinstance(op.get("id"), Ref):
            op["id"] = ids[op["id"]]
        out.append(op)
    return out
