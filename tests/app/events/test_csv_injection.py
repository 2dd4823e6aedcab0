"""CSV exports: every text cell quoted, formula starts neutralised after any separator."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.csv_export import safe_text, write_csv
from tests.app.events import add_wishes, build_event, ok

EVIL = "Alice;=cmd|' /C calc'!A0;"


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        (EVIL, "Alice;'=cmd|' /C calc'!A0;"),
        ("=1+2", "'=1+2"),
        ("a,+b;  -c\t@d", "a,'+b;  '-c\t'@d"),
        ("x\n=HYPERLINK(1)", "x\n'=HYPERLINK(1)"),
        ("Müller-Lüdenscheidt; R&D", "Müller-Lüdenscheidt; R&D"),
        ("", ""),
    ],
)
def test_safe_text(text: str, safe: str) -> None:
    assert safe_text(text) == safe


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_write_csv_quotes_every_text_cell_in_both_dialects(delimiter: str) -> None:
    body = write_csv(
        ("name", "count", "note"),
        [(EVIL, 3, None), ("Bob", -2.5, "-1")],
        delimiter=delimiter,  # type: ignore[arg-type]
    )
    d = delimiter
    assert body == (
        f"name{d}count{d}note\r\n"
        f'"Alice;\'=cmd|\' /C calc\'!A0;"{d}3{d}""\r\n'
        f'"Bob"{d}-2.5{d}"\'-1"\r\n'
    )
    rows = list(csv.reader(io.StringIO(body), delimiter=delimiter))
    assert rows == [["name", "count", "note"], [safe_text(EVIL), "3", ""], ["Bob", "-2.5", "'-1"]]


def _rename(client: TestClient, url: str, person: int, name: str) -> None:
    ok(client.patch(url + f"/people/{person}", json={"name": name}))


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_table_plan_and_agenda_neutralise_an_attendee_name(
    client: TestClient, delimiter: str
) -> None:
    s = build_event(client)
    add_wishes(client, s)
    _rename(client, s.url(), s.people["b1"], EVIL)
    ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    ok(client.post(s.url("/schedule/publish")))
    plan = client.get(s.url("/schedule/table-plan.csv"), params={"delimiter": delimiter})
    assert plan.status_code == 200
    assert f'"{safe_text(EVIL)}"' in plan.text
    assert EVIL not in plan.text
    rows: list[list[Any]] = list(csv.reader(io.StringIO(plan.text), delimiter=delimiter))
    assert all(len(r) == 10 for r in rows)
    cells = [c for r in rows[1:] for c in r]
    assert cells.count(safe_text(EVIL)) == 1  # b1 meets a1 once (the accepted request)
    # a spreadsheet that splits every line on ";" no matter what never sees a formula cell
    for line in plan.text.splitlines()[1:]:
        for piece in line.replace(",", ";").split(";"):
            assert not piece.strip().strip('"').startswith(("=", "+", "-", "@"))
    agenda = client.get(
        s.url(f"/people/{s.people['a1']}/agenda.csv"), params={"delimiter": delimiter}
    )
    assert agenda.status_code == 200
    mine = list(csv.reader(io.StringIO(agenda.text), delimiter=delimiter))
    assert [r[3] for r in mine[1:]].count(safe_text(EVIL)) == 1
    assert EVIL not in agenda.text


def test_unknown_delimiter_is_a_422_naming_the_field(client: TestClient) -> None:
    s = build_event(client)
    add_wishes(client, s)
    ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    answer = client.get(s.url("/schedule/table-plan.csv"), params={"delimiter": "|"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "delimiter" in answer.text
