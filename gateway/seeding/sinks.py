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

from marshmallow import ValidationError

from gateway.errors import GatewayError
from gateway.registry.schemas import ApplianceSchema, BatchSchema
from gateway.registry.service import Registry
from gateway.registry.validation import validation_error
from gateway.seeding.simulator import Ref, Simulator, Step, resolve


class SimulationError(RuntimeError):
    pass


class LocalSink:
    """Writes to a registry through the same schemas and service path as POST /api/v1/batch."""

    def __init__(self, registry: Registry):
        self.registry = registry

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

    def _authorized(self, method: str, path: str, body: dict) -> dict:
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
    counts: Counter = Counter()
    started = time.monotonic()
    for step in islice(simulator.steps(), steps):
        if pace:
            delay = started + step.number / simulator.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            assigned = sink.batch(resolve(step.operations, ids))
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
