"""The dispatch table, walked whole: every action answers every permission as its row says."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.command.dispatch import ACTIONS, READ, WRITE
from gateway.command.params import ActionParams
from gateway.xml import xsd
from tests.xmlutil import local, parse


def global_elements(namespace: str) -> set[str]:
    schema = etree.fromstring(xsd.schema_document(namespace))
    return {el.get("name") for el in schema.iterfind("{http://www.w3.org/2001/XMLSchema}element")}


def test_every_row_is_complete(namespace):
    roots = global_elements(namespace)
    for name, action in ACTIONS.items():
        assert action.name == name
        assert issubclass(action.params, ActionParams)
        assert callable(action.handler) and callable(action.serializer)
        assert action.permission in (READ, WRITE)
        answer = action.root or action.answer
        assert answer in roots, f"{name}: answer root {answer} is not a global element of the XSD"
        assert (action.root is None) == (action.answer is not None), f"{name}: give root or answer, not both"


@pytest.mark.parametrize("name", sorted(ACTIONS))
@pytest.mark.parametrize("permission, status", [("read_only", 200), ("full_access", 200), ("deny", 403)])
def test_every_action_with_every_permission(
    command, make_account, get_token, demo_population, name, permission, status
):
    action = ACTIONS[name]
    expected = status if not (action.permission == WRITE and permission == "read_only") else 403
    token = get_token(make_account(permission))
    for method in ("GET", "POST"):
        response = command(name, method=method, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == expected
        root = parse(response.data)
        # Without parameters an action that needs some answers the appliance's parameter error.
        needs = any(field.required for field in action.schema.fields.values())
        if expected != 200 or (needs and action.root is None):
            assert local(root) == "error"
        else:
            assert local(root) == action.root or action.answer
            assert (root.find("{*}error") is not None) == needs
