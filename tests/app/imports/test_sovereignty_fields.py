"""Contacts, disclosure levels and the competitor opt-out in the import format."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from app.imports.parsing import SourceRow, column_for_header, parse_file
from app.imports.validation import validate_rows
from app.organizations.disclosure import DEFAULTS

URL = "/api/v1/organizations/import"
API = "/api/v1/organizations"


def profile(client: TestClient, external_id: str) -> dict[str, Any]:
    items = client.get(API, params={"external_id": external_id}).json()["items"]
    assert len(items) == 1
    return dict(client.get(f"{API}/{items[0]['id']}").json())


def settings(body: dict[str, Any]) -> tuple[Any, ...]:
    return (
        body["contact_name"],
        body["contact_email"],
        body["contact_phone"],
        body["disclosure"],
        body["hide_from_competitors"],
    )


def test_german_and_english_headers() -> None:
    assert [
        column_for_header(h)
        for h in (
            "Kontakt E-Mail",
            "contact_email",
            "E-Mail",
            "Ansprechpartner",
            "contact_name",
            "Telefon",
            "contact_phone",
            "Offenlegung",
            "disclosure",
            "Vor Wettbewerbern verbergen",
            "hide_from_competitors",
        )
    ] == [
        "contact_email",
        "contact_email",
        "contact_email",
        "contact_name",
        "contact_name",
        "contact_phone",
        "contact_phone",
        "disclosure",
        "disclosure",
        "hide_from_competitors",
        "hide_from_competitors",
    ]


def test_csv_with_contacts_disclosure_pairs_json_text_and_yes_no(client: TestClient) -> None:
    csv_text = (
        "external_id,name,Ansprechpartner,Kontakt E-Mail,Telefon,Offenlegung,"
        "Vor Wettbewerbern verbergen\n"
        "K-1,Keller GmbH,Eva Keller,eva@keller.example,+49 89 1234,"
        '"Kontakte=Mitglieder; name=öffentlich",ja\n'
        'L-2,Lang AG,,,,"{""website"": ""public""}",nein\n'
        "M-3,Mayer KG,,,,,\n"
    )
    response = client.post(URL, files={"file": ("orgs.csv", csv_text.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    assert settings(profile(client, "K-1")) == (
        "Eva Keller",
        "eva@keller.example",
        "+49 89 1234",
        DEFAULTS | {"contacts": "members", "name": "public"},
        True,
    )
    assert settings(profile(client, "L-2")) == (
        None,
        None,
        None,
        DEFAULTS | {"website": "public"},
        False,
    )
    assert settings(profile(client, "M-3")) == (None, None, None, DEFAULTS, False)


def test_json_records_and_a_reimport_without_the_columns_keeps_the_choices(
    client: TestClient,
) -> None:
    first = [
        {
            "external_id": "J-1",
            "name": "Json GmbH",
            "contact_email": "info@json.example",
            "disclosure": {"employees": "members", "founded": "partners"},
            "hide_from_competitors": True,
        }
    ]
    response = client.post(
        URL, content=json.dumps(first).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    expected = (
        None,
        "info@json.example",
        None,
        DEFAULTS | {"employees": "members", "founded": "partners"},
        True,
    )
    assert settings(profile(client, "J-1")) == expected
    again = [{"external_id": "J-1", "name": "Json GmbH", "city": "Ulm"}]
    response = client.post(
        URL, content=json.dumps(again).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1
    body = profile(client, "J-1")
    assert (body["city"], *settings(body)) == ("Ulm", *expected)
    # a file that gives them changes them
    third = [dict(again[0], disclosure="name=members", hide_from_competitors=False)]
    client.post(
        URL, content=json.dumps(third).encode(), headers={"content-type": "application/json"}
    )
    assert settings(profile(client, "J-1"))[3:] == (DEFAULTS | {"name": "members"}, False)


def test_xlsx_boolean_cells_and_disclosure_text(client: TestClient) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["external_id", "Name", "Telefon", "Offenlegung", "hide_from_competitors"])
    sheet.append(["X-1", "Xylo", "0711 98765", "website=public", True])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        URL, files={"file": ("liste.xlsx", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.status_code == 200, response.text
    assert settings(profile(client, "X-1")) == (
        None,
        None,
        "0711 98765",
        DEFAULTS | {"website": "public"},
        True,
    )


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (
            {"disclosure": "kontakte=alle; geheim=partners"},
            "disclosure.geheim",
            "is not a group of fields; groups: name, website, contacts, employees, address, "
            "description, relationships, founded",
        ),
        (
            {"disclosure": {"contacts": "niemand"}},
            "disclosure.contacts",
            "'niemand' is not allowed; allowed values: public, members, partners",
        ),
        (
            {"disclosure": "members"},
            "disclosure",
            "must be group=level pairs such as 'contacts=members; name=public', or a JSON object",
        ),
        (
            {"contact_email": "eva(at)keller.example"},
            "contact_email",
            "must be an e-mail address such as name@example.de",
        ),
        (
            {"hide_from_competitors": "vielleicht"},
            "hide_from_competitors",
            "Input should be a valid boolean, unable to interpret input",
        ),
    ],
)
def test_bad_values_name_the_field(data: dict[str, Any], field: str, reason: str) -> None:
    valid, errors = validate_rows([SourceRow(2, {"external_id": "E-1", "name": "E", **data})])
    assert valid == []
    assert [(e.line, e.field, e.reason) for e in errors] == [(2, field, reason)]


def test_jsonl_disclosure_object_with_german_names() -> None:
    parsed = parse_file(
        b'{"external_id": "G-1", "name": "G", "disclosure": {"Beschreibung": "Partner"}}\n',
        filename="x.jsonl",
    )
    valid, errors = validate_rows(parsed.rows)
    assert errors == []
    assert valid[0].record.disclosure.levels() == {"description": "partners"}
