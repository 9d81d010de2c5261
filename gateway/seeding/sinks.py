"""Where the simulator's steps go: this gateway's registry (through the feed's schemas and service,
as the HTTP feed does) or a remote gateway's feed API over HTTP (``--url`` and feed credentials)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from itertools import islice

from lxml import etree
from marshmallow import ValidationError

from gateway.errors import GatewayError
from gateway.registry.schemas import ApplianceSchema, BatchSchema, SupportCustomerSchema
from gateway.registry.service import Registry
from gateway.registry.session_service import Sessions
from gateway.registry.validation import validation_error
from gateway.seeding.simulator import Ref, Simulator, Step, resolve


class SimulationError(RuntimeError):
    pass


class LocalSink:
    """Writes to a registry through the same schemas and service path as POST /api/v1/batch; session calls
    through the session use cases (as the command API and the feed's key redemption do)."""

    def __init__(self, registry: Registry, sessions: Sessions | None = None):
        self.registry = registry
        self.sessions = sessions

    def _sessions(self) -> Sessions:
        if self.sessions is None:
            raise SimulationError("This sink drives no sessions (give it the session service).")
        return self.sessions

    def redeem(self, queue_id: str, customer: dict) -> tuple[int, str]:
        try:
            client = SupportCustomerSchema().load({**customer, "lsid": "pending"})
        except ValidationError as exc:
            raise validation_error(exc) from None
        key = self._sessions().generate_key(queue_id, ttl=None, attributes={}, site="simulator.invalid")
        redeemed, session = self._sessions().redeem(key.key.short_key, client)
        return redeemed.id, session.lsid

    def transfer(self, lsid: str, queue_id: str) -> None:
        self._sessions().transfer(lsid, queue_id)

    def terminate(self, lsid: str) -> None:
        self._sessions().terminate(lsid)

    def appliances(self, documents: list[dict]) -> None:
        self.registry.upsert_appliances([ApplianceSchema().load(d) for d in documents])

    def batch(self, operations: list[dict]) -> list[int]:
        try:
            ops = BatchSchema().load({"operations": operations})["operations"]
        except ValidationError as exc:
            raise validation_error(exc) from None
        return [client.id for client in self.registry.apply(ops, batch=True)]


class HttpSink:
    """Writes to a gateway's feed API with an account that has the feed permission."""

    def __init__(self, url: str, client_id: str, client_secret: str, timeout: float = 30):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.token: str | None = None

    def _request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        headers: dict | None = None,
        form: dict | None = None,
    ) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else urllib.parse.urlencode(form or {}).encode()
        content_type = "application/json" if body is not None else "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {"message": exc.reason}
        except (urllib.error.URLError, OSError) as exc:
            raise SimulationError(f"{self.url} cannot be reached: {exc}") from None

    def _authorized(self, method: str, path: str, body: dict | None) -> dict:
        """The answer to a call with a token (fetched, and fetched again once after a 401)."""
        for attempt in (1, 2):
            if self.token is None:
                status, answer = self._request(
                    "POST",
                    "/oauth2/token",
                    form={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {self.basic}"},
                )
                if status != 200:
                    raise SimulationError(f"No token from {self.url}: {answer.get('message', status)}")
                self.token = answer["access_token"]
            status, answer = self._request(
                method, path, body, headers={"Authorization": f"Bearer {self.token}"}
            )
            if status == 401 and attempt == 1:
                self.token = None
                continue
            if status >= 300:
                raise SimulationError(f"{method} {path}: HTTP {status}: {answer.get('message', answer)}")
            return answer
        raise AssertionError("the loop returns or raises")  # pragma: no cover

    def appliances(self, documents: list[dict]) -> None:
        for document in documents:
            self._authorized("PUT", f"/api/v1/appliances/{document['id']}", document)

    def batch(self, operations: list[dict]) -> list[int]:
        return [
            r["id"] for r in self._authorized("POST", "/api/v1/batch", {"operations": operations})["results"]
        ]

    def _command(self, action: str, **params: str) -> str:
        """A command API call (the account needs full_access too); the text of its <success>, or of the
        first element of another answer. An <error> raises."""
        if self.token is None:
            self._authorized("GET", "/api/v1/teams", None)  # fetches a token
        request = urllib.request.Request(
            f"{self.url}/api/command",
            data=urllib.parse.urlencode({"action": action, **params}).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise SimulationError(f"{action}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SimulationError(f"{self.url} cannot be reached: {exc}") from None
        root = etree.fromstring(
            body, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        )
        if etree.QName(root).localname == "error" or root.find("{*}error") is not None:
            raise SimulationError(f"{action}: {root.text or root.findtext('{*}error')}")
        return (root.text if len(root) == 0 else root[0].text) or ""

    def redeem(self, queue_id: str, customer: dict) -> tuple[int, str]:
        short_key = self._command("generate_session_key", type="support", queue_id=queue_id)
        answer = self._authorized(
            "POST", "/api/v1/session-keys/redeem", {"short_key": short_key, "customer": customer}
        )
        return answer["client"]["id"], answer["session"]["lsid"]

    def transfer(self, lsid: str, queue_id: str) -> None:
        self._command("transfer_session", lsid=lsid, queue_id=queue_id)

    def terminate(self, lsid: str) -> None:
        self._command("terminate_session", lsid=lsid)


def run(
    simulator: Simulator,
    sink,
    *,
    steps: int | None,
    pace: bool = True,
    report: Callable[[Step, Counter], None] | None = None,
) -> Counter:
    """Send ``steps`` steps (None: until interrupted) to ``sink``; with ``pace``, at the simulator's rate.

    Returns how many times each action ran, plus ``operations`` (feed operations written).
    """
    sink.appliances(simulator.appliance_documents())
    ids: dict[Ref, int] = {}
    lsids: dict[Ref, str] = {}  # the sessions the gateway started from keys, by customer
    counts: Counter = Counter()
    started = time.monotonic()
    for step in islice(simulator.steps(), steps):
        if pace:
            delay = started + step.number / simulator.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            assigned = sink.batch(resolve(step.operations, ids)) if step.operations else []
            for call in step.calls:
                _session_call(sink, call, ids, lsids)
                counts["session_calls"] += 1
        except GatewayError as exc:
            raise SimulationError(f"step {step.number} ({step.action}): {exc.message}") from None
        for op, client_id in zip(step.operations, assigned, strict=True):  # one result per operation
            if op["op"] == "connect":
                ids[op["ref"]] = client_id
            elif op["op"] == "disconnect":
                ids.pop(op["id"], None)
        counts[step.action] += 1
        counts["operations"] += len(step.operations)
        if report:
            report(step, counts)
    return counts


def _session_call(sink, call: dict, ids: dict[Ref, int], lsids: dict[Ref, str]) -> None:
    ref = call["ref"]
    if call["call"] == "redeem":
        ids[ref], lsids[ref] = sink.redeem(call["queue_id"], call["customer"])
    elif call["call"] == "transfer":
        sink.transfer(lsids[ref], call["queue_id"])
    else:
        sink.terminate(lsids.pop(ref))
        ids.pop(ref, None)
