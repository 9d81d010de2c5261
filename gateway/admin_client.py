"""A client of a running gateway's admin API (and its token endpoint), over plain HTTP: what the pytest
plugin and the CLI's ``--url`` mode drive a gateway with, and how journal verifications explain a miss.

The standard library only (urllib, json): the plugin and ``gateway --help`` import it, and must stay fast.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

#: Seconds one HTTP call may take, beyond any wait it asks the gateway for.
HTTP_TIMEOUT = 30.0
#: The longest single wait asked of the gateway (its GATEWAY_JOURNAL_WAIT_MAX_SECONDS is 60 by default);
#: longer waits are several calls.
WAIT_SLICE = 30.0
#: Recent entries a failed verification compares with its filters, and how many of them it shows.
NEAR_WINDOW = 200
NEAR_SHOWN = 5


@dataclass(frozen=True)
class Credentials:
    """An API account's OAuth client credentials."""

    name: str
    client_id: str
    client_secret: str


class AdminCallError(AssertionError):
    """The gateway refused a helper's request (the message holds its answer)."""


def basic(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()


class AdminClient:
    """A gateway reachable over HTTP, driven through its admin API with an admin account's credentials."""

    def __init__(self, url: str, admin: Credentials):
        self.url = url.rstrip("/")
        self.admin = admin
        self._admin_token: str | None = None

    # --- HTTP -----------------------------------------------------------------------------------
    def http(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict | None = None,
        headers: dict | None = None,
        timeout: float = HTTP_TIMEOUT,
        raw: bool = False,
    ) -> tuple[int, Any]:
        """(status, JSON body or raw bytes) of one request (``raw``: the bytes whatever the type)."""
        data = None
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body, kind = response.status, response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get_content_type()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise AdminCallError(f"{method} {self.url}{path}: no answer ({reason})") from None
        if raw:
            return status, body
        return status, (json.loads(body) if kind == "application/json" and body else body)

    def token(self, creds: Credentials) -> str:
        status, body = self.http(
            "POST",
            "/oauth2/token",
            form={"grant_type": "client_credentials"},
            headers={"Authorization": basic(creds)},
        )
        if status != 200:
            raise AdminCallError(f"no token for {creds.name!r}: {status} {body}")
        return body["access_token"]

    def admin_token(self) -> str:
        return self.token(self.admin)

    def bearer(self) -> dict:
        if self._admin_token is None:
            self._admin_token = self.admin_token()
        return {"Authorization": f"Bearer {self._admin_token}"}

    def admin_call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: tuple[int, ...] = (200, 201, 204),
        timeout: float = HTTP_TIMEOUT,
    ):
        """An admin API call; fetches a new admin token once when the current one has expired (clock
        moves)."""
        for attempt in (1, 2):
            status, answer = self.http(
                method, "/api/v1/admin" + path, json_body=body, headers=self.bearer(), timeout=timeout
            )
            if status == 401 and attempt == 1:
                self._admin_token = None
                continue
            if status not in expect:
                raise AdminCallError(f"{method} /api/v1/admin{path} answered {status}: {_message(answer)}")
            return answer
        raise AssertionError("unreachable")

    # --- journal --------------------------------------------------------------------------------
    def journal(self, **filters) -> list[dict]:
        """Every matching entry, oldest first."""
        entries: list[dict] = []
        after = filters.pop("after", 0)
        while True:
            page = self.journal_page(after=after, limit=1000, **filters)
            entries.extend(page["entries"])
            if page["next_after"] is None:
                return entries
            after = page["next_after"]

    def journal_page(self, **query) -> dict:
        return self.admin_call("GET", "/journal?" + _query(query))

    def journal_count(self, **filters) -> int:
        return self.admin_call("GET", "/journal/count?" + _query(filters))["count"]

    def journal_wait(self, count: int, timeout: float = 10.0, **filters) -> dict:
        """The gateway's answer once ``count`` entries match or ``timeout`` passed (longer waits than
        WAIT_SLICE are several long polls, never a sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            part = min(remaining, WAIT_SLICE)
            answer = self.admin_call(
                "GET",
                "/journal/wait?" + _query({**filters, "count": count, "timeout": round(part, 3)}),
                timeout=part + HTTP_TIMEOUT,
            )
            if answer["satisfied"] or part >= remaining:
                answer["waited"] = round(timeout - remaining + answer["waited"], 3)
                return answer

    def verify(self, expected: int, **filters) -> list[dict]:
        """The matching entries, when exactly ``expected`` of them are in the journal; else an
        AssertionError saying what was expected, what came, and the closest entries."""
        found = self.journal(**filters)
        if len(found) != expected:
            raise AssertionError(self.explain(expected, len(found), filters, found))
        return found

    def wait_for(self, expected: int, timeout: float = 10.0, **filters) -> list[dict]:
        """The matching entries once at least ``expected`` of them are in the journal (a long poll on the
        gateway); an AssertionError like ``verify``'s when ``timeout`` seconds pass first."""
        answer = self.journal_wait(expected, timeout, **filters)
        if not answer["satisfied"]:
            found = self.journal(**filters)
            raise AssertionError(
                self.explain(expected, len(found), filters, found, f"at least {expected}", timeout)
            )
        return self.journal(**filters)

    def explain(
        self,
        expected: int,
        count: int,
        filters: dict,
        found: list[dict],
        wanted: str | None = None,
        waited: float | None = None,
    ) -> str:
        recent = self.journal_page(limit=NEAR_WINDOW, tail=True)["entries"]
        return explain(expected, count, filters, found, recent, wanted=wanted, waited=waited)


def _query(params: dict) -> str:
    return urllib.parse.urlencode(
        {
            k: ("true" if v is True else "false" if v is False else v)
            for k, v in params.items()
            if v is not None
        }
    )


def _message(answer: Any) -> Any:
    if isinstance(answer, dict) and "message" in answer:
        return f"{answer.get('error')}: {answer['message']}" + (
            f" {answer['details']}" if answer.get("details") else ""
        )
    return answer


# --- explaining a verification ----------------------------------------------------------------------
def misses(entry: dict, filters: dict) -> list[str]:
    """What of ``filters`` an entry does not meet, one phrase each (empty: it matches)."""
    out = []
    for name, wanted in filters.items():
        if wanted is None:
            continue
        value = entry.get(name)
        if name == "error":
            if not (value and str(wanted) in value):
                out.append(f"error {value!r} does not contain {wanted!r}")
        elif name == "has_error":
            if bool(entry.get("error")) != bool(wanted):
                out.append("has an error" if entry.get("error") else "has no error")
        elif name == "after":
            if entry["seq"] <= int(wanted):
                out.append(f"seq {entry['seq']} is not after {wanted}")
        elif name == "since":
            if isinstance(wanted, (int, float)) and entry["ts"] < wanted:
                out.append(f"ts {entry['ts']} is before {wanted}")
        elif name == "status" and value != (int(wanted) if str(wanted).isdigit() else wanted):
            out.append(f"status {value} != {wanted}")
        elif name != "status" and value != wanted:
            out.append(f"{name} {value!r} != {wanted!r}")
    return out


def line(entry: dict) -> str:
    """One entry as one line (the CLI's ``journal show`` and verification messages)."""
    status = entry["status"] if entry["status"] is not None else "dropped"
    text = (
        f"#{entry['seq']} {entry.get('time', entry['ts'])} {entry['method']} {entry['path']} "
        f"action={entry['action'] or '-'} status={status} account={entry['account'] or '-'}"
    )
    if entry.get("fault"):
        text += f" fault={entry['fault']}"
    if entry.get("error"):
        text += f" error={entry['error'][:120]!r}"
    return text


def explain(
    expected: int,
    count: int,
    filters: dict,
    found: list[dict],
    recent: list[dict],
    *,
    wanted: str | None = None,
    waited: float | None = None,
) -> str:
    """The message of a failed verification: expected, what came, and the nearest misses among the
    ``recent`` entries (fewest filters missed first, then the newest)."""
    shown_filters = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "no filter"
    within = f" within {waited:g} s" if waited is not None else ""
    lines = [
        f"Expected {wanted or expected} journal entries matching {shown_filters}{within}; found {count}."
    ]
    if found:
        lines.append(f"Matching entries ({min(len(found), 10)} of {len(found)}):")
        lines += [f"  {line(e)}" for e in found[-10:]]
    near = [(misses(e, filters), e) for e in recent]
    near = [(m, e) for m, e in near if m]
    near.sort(key=lambda pair: (len(pair[0]), -pair[1]["seq"]))
    if near:
        lines.append("Closest other entries (what each misses):")
        lines += [f"  {line(e)}\n      misses: {'; '.join(m)}" for m, e in near[:NEAR_SHOWN]]
    elif not found:
        lines.append("The journal holds no entries at all." if not recent else "")
    return "\n".join(text for text in lines if text)
