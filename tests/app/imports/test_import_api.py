"""The import endpoint end to end: atomic, partial, dry-run, upsert, formats, file-level errors."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook

from app.config import get_settings

URL = "/api/v1/organizations/import"
API = "/api/v1/organizations"


def rec(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": name, **extra}


GOOD = [
    rec(
        "A-1",
        "Alpha Sensorik GmbH",
        country="DE",
        nace_code="26.51",
        competences=[{"kind": "core", "label": "Drucksensoren"}],
        relationships=[{"type": "customer", "external_id": "B-2", "revenue_share": 0.55}],
    ),
    rec("B-2", "Beta Maschinenbau AG", country="AT", nace_code="28"),
]


def post_json(client: TestClient, records: list[Any], **params: Any) -> Any:
    """POST a JSON array with one record per line: record i starts on line i + 2."""
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]"
    return client.post(
        URL, params=params, content=text.encode(), headers={"content-type": "application/json"}
    )


def total(client: TestClient) -> int:
    return int(client.get(API).json()["total"])


def test_json_import_creates_then_updates_by_external_id(client: TestClient) -> None:
    first = post_json(client, GOOD)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (
        report["format"],
        report["rows"],
        report["created"],
        report["updated"],
        report["written"],
    ) == ("json", 2, 2, 0, True)
    alpha = client.get(API, params={"external_id": "A-1"}).json()["items"][0]
    beta = client.get(API, params={"external_id": "B-2"}).json()["items"][0]
    rel = client.get(f"{API}/{alpha['id']}").json()["relationships"][0]
    assert (rel["type"], rel["related_organization_id"], rel["revenue_share"]) == (
        "customer",
        beta["id"],
        0.55,
    )

    changed = [dict(GOOD[0], employees=40), GOOD[1]]
    second = post_json(client, changed).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 1)
    assert total(client) == 2
    again = client.get(f"{API}/{alpha['id']}").json()
    assert (again["employees"], again["version"]) == (40, 2)


def test_atomic_import_with_bad_rows_writes_nothing(client: TestClient) -> None:
    post_json(client, [GOOD[1]])
    bad = [
        GOOD[0],
        rec("C-3", "Gamma", country="Germania"),
        rec("D-4", "", employees="viele"),
        rec("A-1", "Alpha again"),
    ]
    response = post_json(client, bad)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["report"]["written"] is False
    assert body["report"]["rejected"] == 3
    assert [(e["line"], e["field"], e["external_id"]) for e in body["errors"]] == [
        (3, "country", "C-3"),
        (4, "name", "D-4"),
        (4, "employees", "D-4"),
        (5, "external_id", "A-1"),
    ]
    assert total(client) == 1
    assert client.get(API, params={"external_id": "A-1"}).json()["total"] == 0


def test_partial_import_writes_the_good_rows_and_drops_rows_pointing_at_rejected_ones(
    client: TestClient,
) -> None:
    records = [
        rec("A-1", "Alpha", relationships=[{"type": "partner", "external_id": "X-9"}]),
        rec("X-9", "Xi", visibility="secret"),
        rec("B-2", "Beta"),
        rec("C-3", "Gamma", relationships=[{"type": "partner", "external_id": "B-2"}]),
    ]
    response = post_json(client, records, partial="true")
    assert response.status_code == 200
    report = response.json()
    assert (report["created"], report["rejected"], report["written"]) == (2, 2, True)
    assert [(e["external_id"], e["field"]) for e in report["errors"]] == [
        ("A-1", "relationships[0].external_id"),
        ("X-9", "visibility"),
    ]
    names = [i["name"] for i in client.get(API).json()["items"]]
    assert names == ["Beta", "Gamma"]


def test_dry_run_reports_and_writes_nothing(client: TestClient) -> None:
    post_json(client, [GOOD[1]])
    report = post_json(client, GOOD, dry_run="true").json()
    assert (report["dry_run"], report["created"], report["updated"], report["written"]) == (
        True,
        1,
        1,
        False,
    )
    assert total(client) == 1


def test_csv_upload_with_semicolon_lists_and_name_links(client: TestClient) -> None:
    post_json(client, [GOOD[1]])
    # list cells hold `;` themselves, so they are quoted in a `;`-delimited file
    csv_text = (
        "external_id;name;country;core;complementary;customers;cooperation_interests\n"
        'K-1;Kunststoff Keller GmbH;DE;"Spritzguss; Werkzeugbau";Sensorik;"B-2=40%; Großkunde AG";"training; purchasing_sales"\n'
    )
    response = client.post(URL, files={"file": ("orgs.csv", csv_text.encode(), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "csv"
    keller = client.get(API, params={"external_id": "K-1"}).json()["items"][0]
    full = client.get(f"{API}/{keller['id']}").json()
    assert [(c["kind"], c["label"]) for c in full["competences"]] == [
        ("core", "Spritzguss"),
        ("core", "Werkzeugbau"),
        ("complementary", "Sensorik"),
    ]
    beta_id = client.get(API, params={"external_id": "B-2"}).json()["items"][0]["id"]
    assert [
        (r["name"], r["related_organization_id"], r["revenue_share"]) for r in full["relationships"]
    ] == [
        ("B-2", beta_id, 0.4),
        ("Großkunde AG", None, None),
    ]
    assert full["cooperation_interests"] == ["training", "purchasing_sales"]


def test_xlsx_upload(client: TestClient) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["external_id", "Name", "Land", "Mitarbeiter", "Kernkompetenzen"])
    sheet.append(["X-1", "Xylo Elektronik", "CH", 12, "Leiterplattenbestückung; SMD"])
    sheet.append(["X-2", "Ypsilon", "FR", "zwölf", None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        URL,
        params={"partial": "true"},
        files={"file": ("liste.xlsx", buffer.getvalue(), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["format"], report["created"], report["rejected"]) == ("xlsx", 1, 1)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "employees")]
    item = client.get(API, params={"external_id": "X-1"}).json()["items"][0]
    assert (item["country"], item["employees"]) == ("CH", 12)


def test_file_level_errors_are_problem_json(client: TestClient) -> None:
    empty = client.post(URL, content=b"", headers={"content-type": "text/csv"})
    assert empty.status_code == 400
    assert empty.headers["content-type"] == "application/problem+json"
    assert empty.json()["errors"][0]["field"] == "file"
    garbage = client.post(
        URL, content=b"\x00\xff\xfe{[", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400
    missing = client.post(URL, files={"other": ("a.csv", b"x", "text/csv")})
    assert missing.status_code == 400
    assert missing.json()["errors"] == [{"field": "file", "message": "missing"}]
    assert total(client) == 0


def test_oversized_upload_is_413(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "max_import_bytes", 100)
    response = post_json(client, GOOD)
    assert response.status_code == 413
    assert total(client) == 0
