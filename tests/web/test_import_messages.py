"""The import's own sentences on a German page: a limit's numbers; the English page and the
API keep their English text, word for word."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.i18n import N_, Message, Number
from app.models.user import Role
from app.web.i18n import Formatter
from app.web.messages import translate
from tests.app.conftest import AccountFactory
from tests.web.pages import ENGLISH, GERMAN, alerts, csrf_token, page_client


def _dry_run(client: TestClient, token: str, data: bytes, name: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(
        "/curator/import",
        data={"csrf_token": token},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


# ---------------------------------------------------------------- a limit's numbers


def _workbook_of_many_parts(parts: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(parts):
            archive.writestr(f"xl/part{number}.xml", b"")
    return buffer.getvalue()


def test_a_limit_is_written_as_the_pages_language_writes_numbers(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    data = _workbook_of_many_parts(1_001)
    with page_client(app, curator) as client:
        token = csrf_token(client, "/curator/import")
        german = _dry_run(client, token, data, "firmen.xlsx", GERMAN)
        english = _dry_run(client, token, data, "firmen.xlsx", ENGLISH)
        api = client.post(
            "/api/v1/organizations/import",
            params={"dry_run": "true"},
            content=data,
            headers={
                **curator.headers,
                "content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "accept-language": "de",
            },
        )
    english_reason = (
        "the XLSX file holds 1,001 parts, more than 1,000 (limit max_xlsx_parts); it is not a "
        "plain workbook"
    )
    assert (german.status_code, english.status_code) == (422, 422)
    assert alerts(german.text) == [
        "Die Datei kann nicht gelesen werden: die XLSX-Datei enthält 1.001 Teile, mehr als 1.000 "
        "(Grenze max_xlsx_parts); sie ist keine einfache Arbeitsmappe"
    ]
    assert alerts(english.text) == [f"The file cannot be read: {english_reason}"]
    assert api.status_code == 413
    assert api.json()["detail"] == f"The file cannot be imported: {english_reason}"
    assert api.json()["errors"] == [
        {"field": "file", "message": english_reason, "limit": "max_xlsx_parts"}
    ]


def test_a_number_in_a_message_survives_json_and_reads_as_each_language_writes_it() -> None:
    message = Message(
        N_(
            "the file holds more than %(count)s records (limit max_records); split it into "
            "several imports"
        ),
        count=Number(50_000),
    )
    loaded = Message.load(json.loads(json.dumps(message.dump())))
    assert message.dump()["values"] == {"count": {"number": 50000}}
    assert (
        str(loaded)
        == str(message)
        == (
            "the file holds more than 50,000 records (limit max_records); split it into several "
            "imports"
        )
    )
    assert translate(loaded, Formatter("de")) == (
        "die Datei enthält mehr als 50.000 Datensätze (Grenze max_records); teilen Sie sie auf "
        "mehrere Importe auf"
    )
    assert translate(loaded, Formatter("en")) == str(message)
