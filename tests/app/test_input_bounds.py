"""Odd input is a 422 (or 413) naming the field on both backends, never a 500."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient
from openpyxl import Workbook

from app.imports.parsing import LIMITS

API = "/api/v1/organizations"
IMPORT = f"{API}/import"


def _fields(response: object) -> list[tuple[str, str]]:
    body = response.json()  # type: ignore[attr-defined]
    return [(e["field"], e["message"]) for e in body["errors"]]


def test_nul_in_a_query_parameter_is_422_naming_it(anon_client: TestClient) -> None:
    response = anon_client.get(API, params={"competence": "\x00"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _fields(response) == [
        ("competence", "contains the control character U+0000 at position 1; remove it")
    ]


def test_nul_in_a_path_parameter_is_422_naming_it(anon_client: TestClient) -> None:
    response = anon_client.get("/api/v1/taxonomy/nace/2%00")
    assert response.status_code == 422
    assert _fields(response) == [
        ("code", "contains the control character U+0000 at position 2; remove it")
    ]


def test_nul_in_the_login_email_is_422(anon_client: TestClient) -> None:
    response = anon_client.post(
        "/api/v1/auth/token", json={"email": "a\x00@example.de", "password": "whatever1"}
    )
    assert response.status_code == 422
    assert [field for field, _ in _fields(response)] == ["email"]


def test_control_characters_in_names_are_422_but_line_breaks_in_descriptions_are_kept(
    client: TestClient,
) -> None:
    bad = client.post(API, json={"name": "Alpha\x07 GmbH"})
    assert bad.status_code == 422
    assert _fields(bad) == [
        ("name", "contains the control character U+0007 at position 6; remove it")
    ]
    # a lone surrogate is not valid JSON text for the request parser already
    surrogate = client.post(API, content=b'{"name": "Alpha \\ud800"}')
    assert surrogate.status_code == 422
    assert [field for field, _ in _fields(surrogate)] == ["body"]
    good = client.post(API, json={"name": "Alpha GmbH", "description": "Zeile 1\r\nZeile 2\tx"})
    assert good.status_code == 201, good.text
    assert good.json()["description"] == "Zeile 1\r\nZeile 2\tx"


def test_numbers_have_ranges(client: TestClient) -> None:
    for employees in (2**31, 10**30, -1):
        response = client.post(API, json={"name": "Alpha GmbH", "employees": employees})
        assert response.status_code == 422, employees
        assert [field for field, _ in _fields(response)] == ["employees"]
    ok = client.post(API, json={"name": "Alpha GmbH", "employees": 10_000_000})
    assert ok.status_code == 201


def test_event_dates_lie_in_a_window(client: TestClient) -> None:
    event = {"name": "Matchmaking", "timezone": "Pacific/Pago_Pago", "dates": ["9999-12-31"]}
    response = client.post("/api/v1/events", json=event)
    assert response.status_code == 422
    assert _fields(response) == [("dates[0]", "must be a date between 2000-01-01 and 2100-12-31")]


# --- uploads ---------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_sheet(workbook: bytes, sheet_xml: bytes) -> bytes:
    """The workbook with its first sheet's XML replaced."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else None
            archive.writestr(info.filename, data or source.read(info.filename))
    return out.getvalue()


_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>external_id'
    b'</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'
)
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_xlsx_that_unpacks_beyond_the_limit_is_413_naming_it(client: TestClient) -> None:
    # about 140 MB of empty rows, compressed to well under a megabyte
    rows = b'<row r="2"/>' * (LIMITS.max_xlsx_uncompressed_bytes // 12 + 1)
    data = _with_sheet(_xlsx([["external_id", "name"]]), _SHEET_HEAD + rows + b"</sheetData>")
    response = client.post(IMPORT, content=data, headers={"content-type": _XLSX})
    assert response.status_code == 413
    body = response.json()
    assert body["limit"] == {"name": "max_xlsx_uncompressed_bytes", "value": 134_217_728}
    assert body["errors"][0]["limit"] == "max_xlsx_uncompressed_bytes"


def test_xlsx_with_a_row_number_beyond_excel_is_413(client: TestClient) -> None:
    # a few hundred bytes that openpyxl would expand into 200 million empty rows
    sheet = _SHEET_HEAD + (
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>A-1</t></is></c><c r="B2" t="inlineStr"><is>'
        b'<t>Alpha</t></is></c></row><row r="200000000"><c r="A200000000" t="inlineStr"><is><t>B'
        b"</t></is></c></row></sheetData></worksheet>"
    )
    data = _with_sheet(_xlsx([["external_id", "name"]]), sheet)
    response = client.post(IMPORT, content=data, headers={"content-type": _XLSX})
    assert response.status_code == 413
    assert response.json()["limit"] == {"name": "max_sheet_row", "value": 1_048_576}


def test_csv_beyond_the_record_limit_is_413(client: TestClient) -> None:
    lines = b"".join(b"id-%d,Firma %d\n" % (i, i) for i in range(LIMITS.max_records + 1))
    response = client.post(
        IMPORT, content=b"external_id,name\n" + lines, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 413
    assert response.json()["limit"] == {"name": "max_records", "value": 50_000}
    assert client.get(API).json()["total"] == 0


def test_nul_in_a_csv_cell_names_line_and_field(client: TestClient) -> None:
    data = b"external_id,name,city\nA-1,Alpha GmbH,Dres\x00den\n"
    response = client.post(IMPORT, content=data, headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(2, "city")]


def test_a_cr_inside_a_quoted_csv_field_is_accepted(client: TestClient) -> None:
    data = b'external_id,name,description\r\nA-1,"Alpha\rGmbH","Zeile 1\rZeile 2"\r\nB-2,Beta,x\r\n'
    response = client.post(IMPORT, content=data, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    alpha = client.get(API, params={"external_id": "A-1"}).json()["items"][0]
    profile = client.get(f"{API}/{alpha['id']}").json()
    assert (profile["name"], profile["description"]) == ("Alpha GmbH", "Zeile 1\rZeile 2")


def test_a_chunked_upload_is_assembled_whole(client: TestClient) -> None:
    body = b"external_id,name\n" + b"".join(b"id-%d,Firma %d\n" % (i, i) for i in range(300))

    def chunks() -> object:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = client.post(IMPORT, content=chunks(), headers={"content-type": "text/csv"})  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 300
