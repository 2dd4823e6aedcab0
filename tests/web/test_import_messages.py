"""The import's own sentences on a German page: the validator's field reasons, the reasons of
rows dropped for a relationship, the column warnings and a limit's numbers; the English page
and the API keep their English text, word for word."""

from __future__ import annotations

import io
import json
import re
import zipfile
from html import unescape

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.i18n import N_, Message, Number
from app.imports.parsing import SourceRow
from app.imports.validation import validate_rows
from app.models.user import Role
from app.models.web_import import WebImport
from app.web.curator_imports import ImportJobs
from app.web.i18n import Formatter
from app.web.messages import translate
from tests.app.conftest import AccountFactory
from tests.web.pages import ENGLISH, GERMAN, alerts, csrf_token, page_client

# row 2: a bad number and an unknown country; row 3 names row 2 as its partner, so it is
# dropped with it; the column "Umsatz" is not part of the import format
FILE = (
    b"external_id,name,country,employees,Umsatz,partners\n"
    b"A-1,Alpha GmbH,Atlantis,viele,5,\n"
    b"A-2,Beta GmbH,DE,12,7,A-1\n"
    b"A-3,Gamma GmbH,AT,3,,\n"
)

ENGLISH_ROWS = [
    ("2", "A-1", "country", "must be an ISO 3166-1 alpha-2 country code such as DE, AT or CH"),
    ("2", "A-1", "employees", "must be a whole number, not 'viele'"),
    (
        "3",
        "A-2",
        "relationships[0].name",
        "partner A-1: its row, line 2, was rejected: country: must be an ISO 3166-1 alpha-2 "
        "country code such as DE, AT or CH",
    ),
]
GERMAN_ROWS = [
    (
        "2",
        "A-1",
        "country",
        "muss ein Ländercode nach ISO 3166-1 alpha-2 sein, etwa DE, AT oder CH",
    ),
    ("2", "A-1", "employees", "muss eine ganze Zahl sein, nicht 'viele'"),
    (
        "3",
        "A-2",
        "relationships[0].name",
        "Partner A-1: Dessen Zeile 2 wurde abgelehnt – Feld „country“: muss ein Ländercode nach "
        "ISO 3166-1 alpha-2 sein, etwa DE, AT oder CH",
    ),
]
ENGLISH_WARNING = "column 5 'Umsatz' is not part of the import format and was ignored"
GERMAN_WARNING = "Spalte 5 'Umsatz' gehört nicht zum Importformat und wurde nicht gelesen"

ROW = re.compile(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>")
WARNINGS = re.compile(r"<h3>[^<]*</h3>\s*<ul>(.*?)</ul>", re.S)


def _rows(html: str) -> list[tuple[str, ...]]:
    return [tuple(unescape(cell) for cell in row) for row in ROW.findall(html)]


def _warnings(html: str) -> list[str]:
    found = WARNINGS.search(html)
    assert found is not None
    return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]


def _dry_run(
    client: TestClient, token: str, data: bytes, name: str, headers: dict[str, str]
) -> httpx.Response:
    return client.post(
        "/curator/import",
        data={"csrf_token": token},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


def test_the_dry_run_reads_in_german_and_the_api_keeps_its_english(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    with page_client(app, curator) as client:
        token = csrf_token(client, "/curator/import")
        german = _dry_run(client, token, FILE, "firmen.csv", GERMAN)
        english = _dry_run(client, token, FILE, "firmen.csv", ENGLISH)
        api = client.post(
            "/api/v1/organizations/import",
            params={"dry_run": "true", "partial": "true"},
            content=FILE,
            headers={**curator.headers, "content-type": "text/csv", "accept-language": "de"},
        )
    assert (german.status_code, english.status_code, api.status_code) == (200, 200, 200)
    assert _rows(english.text) == ENGLISH_ROWS
    assert _warnings(english.text) == [ENGLISH_WARNING]
    assert _rows(german.text) == GERMAN_ROWS
    assert _warnings(german.text) == [GERMAN_WARNING]
    body = api.json()
    assert body["errors"] == [
        {"line": int(line), "field": field, "reason": reason, "external_id": ext}
        for line, ext, field, reason in ENGLISH_ROWS
    ]
    assert body["warnings"] == [ENGLISH_WARNING]


# ---------------------------------------------------------------- a report stored, read later


def test_a_rejected_import_keeps_its_reasons_and_warnings_for_whoever_opens_it(
    app: FastAPI, db_session: Session, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    jobs = ImportJobs(background=False, write_session=lambda: db_session, read_session=None)
    app.state.curator_imports = jobs
    data = b"external_id,name,latitude,longitude,Bemerkung\nB-1,Beta GmbH,95,10,x\n"
    upload = jobs.keep_upload(
        db_session,
        owner_id=curator.user.id,
        filename="firmen.csv",
        content_type="text/csv",
        data=data,
        valid_rows=1,
    )
    db_session.commit()
    job = jobs.start(db_session, upload.id, curator.user.id, partial=False, encoder=None)
    assert job is not None
    stored = db_session.get(WebImport, upload.id, populate_existing=True)
    assert stored is not None and stored.report is not None
    assert stored.state == "rejected"
    # what is stored is JSON, template and values next to the English text
    report = json.loads(json.dumps(stored.report))
    assert [(e["reason"], e["template"], e["values"]) for e in report["errors"]] == [
        (
            "must be at most 90, not '95'",
            "must be at most %(bound)s, not %(value)s",
            {"bound": "90", "value": "'95'"},
        )
    ]
    assert report["warnings"] == [
        {
            "template": "column %(column)s '%(label)s' is not part of the import format and was "
            "ignored",
            "values": {"column": "5", "label": "Bemerkung"},
        }
    ]
    with page_client(app, curator) as client:
        german = client.get(f"/curator/import/jobs/{upload.id}", headers=GERMAN)
        english = client.get(f"/curator/import/jobs/{upload.id}", headers=ENGLISH)
    assert (german.status_code, english.status_code) == (200, 200)
    assert _rows(german.text) == [("2", "B-1", "latitude", "darf höchstens 90 sein, nicht '95'")]
    assert _rows(english.text) == [("2", "B-1", "latitude", "must be at most 90, not '95'")]
    assert _warnings(german.text) == [
        "Spalte 5 'Bemerkung' gehört nicht zum Importformat und wurde nicht gelesen"
    ]
    assert _warnings(english.text) == [
        "column 5 'Bemerkung' is not part of the import format and was ignored"
    ]


def test_a_report_stored_before_warnings_kept_their_templates_shows_their_text(
    app: FastAPI, db_session: Session, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    old = "column 3 'Umsatz' is not part of the import format and was ignored"
    db_session.add(
        WebImport(
            id="old-report",
            owner_id=curator.user.id,
            valid_rows=1,
            state="done",
            done=1,
            report={
                "format": "csv",
                "mode": "atomic",
                "dry_run": False,
                "rows": 1,
                "accepted": 1,
                "created": 1,
                "written": True,
                "errors": [],
                "warnings": [old],
            },
        )
    )
    db_session.commit()
    app.state.curator_imports = ImportJobs(
        background=False, write_session=lambda: db_session, read_session=None
    )
    with page_client(app, curator) as client:
        german = client.get("/curator/import/jobs/old-report", headers=GERMAN)
    assert german.status_code == 200
    assert _warnings(german.text) == [old]


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


# ---------------------------------------------------------------- every reason of the validator


def test_every_field_reason_of_the_validator_reads_in_german() -> None:
    records: list[dict[str, object]] = [
        {"external_id": "V-1"},
        {"external_id": "V-2", "name": "Alpha", "umsatz": 5},
        {"external_id": "V-3", "name": "Alpha", "disclosure": {"geheim": "public"}},
        {"external_id": "V-4", "name": "Alpha", "disclosure": {"contacts": "niemand"}},
        {"external_id": "V-5", "name": "Alpha", "disclosure": 7},
        {"external_id": "V-6", "name": "Alpha", "visibility": "geheim"},
        {"external_id": "V-7", "name": "A" * 301},
        {"external_id": "V-8", "name": ""},
        {"external_id": "V-9", "name": 7},
        {"external_id": "V-10", "name": "Alpha", "employees": "viele"},
        {"external_id": "V-11", "name": "Alpha", "latitude": "nord", "longitude": 9.0},
        {"external_id": "V-12", "name": "Alpha", "latitude": 95, "longitude": -200},
        {"external_id": "V-13", "name": "Alpha", "competences": "Sensorik"},
        {"external_id": "V-14", "name": "Alpha", "competences": ["Sensorik"]},
        {
            "external_id": "V-15",
            "name": "Alpha",
            "competences": [{"kind": "Hauptsache", "label": "Sensorik"}],
        },
        {
            "external_id": "V-16",
            "name": "Alpha",
            "relationships": [{"type": "customer", "external_id": "X", "name": "Y"}],
        },
        {"external_id": "V-17", "name": "Alpha", "latitude": float("nan"), "longitude": 9.0},
        {"external_id": "V-18", "name": "Alpha", "country": "Atlantis"},
        {"external_id": "V-18", "name": "Alpha"},
        7,
        # pydantic's own sentence, in the catalogue
        {"external_id": "V-19", "name": "Alpha", "hide_from_competitors": "vielleicht"},
    ]
    rows = [SourceRow(line, record) for line, record in enumerate(records, start=2)]  # type: ignore[arg-type]
    valid, errors = validate_rows(rows)
    assert valid == []
    german = Formatter("de")
    shown = [(error.line, translate(error.message, german)) for error in errors]
    assert shown == [
        (2, "hier fehlt ein Wert; die Angabe ist Pflicht"),
        (3, "ist kein Feld des Importformats"),
        (
            4,
            "ist keine Gruppe von Feldern; die Gruppen sind: name, website, contacts, employees, "
            "address, description, relationships, founded",
        ),
        (5, "'niemand' ist nicht zulässig; zulässige Werte: public, members, partners"),
        (
            6,
            "muss aus Paaren Gruppe=Stufe bestehen, etwa 'contacts=members; name=public', oder "
            "ein JSON-Objekt sein",
        ),
        (7, "'geheim' ist nicht zulässig; zulässige Werte: public, members, private"),
        (8, "ist zu lang: 301 Zeichen, erlaubt sind höchstens 300"),
        (9, "darf nicht leer sein"),
        (10, "muss Text sein, nicht eine Zahl"),
        (11, "muss eine ganze Zahl sein, nicht 'viele'"),
        (12, "muss eine Zahl sein, nicht 'nord'"),
        (13, "darf höchstens 90 sein, nicht 95"),
        (13, "muss mindestens -180 sein, nicht -200"),
        (14, "muss eine Liste sein, nicht Text"),
        (15, "muss ein Objekt {...} sein, nicht Text"),
        (
            16,
            "'Hauptsache' ist nicht zulässig; zulässige Werte: core, complementary, peripheral "
            "(Kompetenz 'Sensorik')",
        ),
        (
            17,
            "geben Sie entweder external_id oder name an, nicht beides und nicht keines "
            "(Kunde 'X')",
        ),
        (18, "muss eine endliche Zahl sein, nicht nan"),
        (19, "muss ein Ländercode nach ISO 3166-1 alpha-2 sein, etwa DE, AT oder CH"),
        (
            20,
            "external_id 'V-18' kommt in der Datei mehrfach vor; zuerst in Zeile 19",
        ),
        (21, "der Datensatz ist kein Objekt"),
        (
            22,
            "muss ja oder nein sein (etwa ja/nein, true/false, 1/0); der Wert lässt sich nicht so "
            "lesen",
        ),
    ]
    # the API's English text is the template filled in, as before
    assert [str(error.message) for error in errors] == [error.reason for error in errors]
    assert errors[16].reason == ("give exactly one of external_id or name (customer 'X')")


def test_relationships_an_import_cannot_link_read_in_german(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    data = json.dumps(
        [
            {
                "external_id": "R-1",
                "name": "Rho GmbH",
                "relationships": [{"type": "supplier", "external_id": "R-404"}],
            },
            {
                "external_id": "R-2",
                "name": "Sigma GmbH",
                "relationships": [{"type": "partner", "external_id": "R-2"}],
            },
        ],
        indent=1,
    ).encode()
    with page_client(app, curator) as client:
        token = csrf_token(client, "/curator/import")
        german = _dry_run(client, token, data, "firmen.json", GERMAN)
        english = _dry_run(client, token, data, "firmen.json", ENGLISH)
    assert _rows(german.text) == [
        (
            "2",
            "R-1",
            "relationships[0].external_id",
            "weder die Datei noch die Datenbank enthält ein Unternehmen mit der external_id "
            "'R-404'",
        ),
        (
            "12",
            "R-2",
            "relationships[0]",
            "ein Unternehmen kann nicht mit sich selbst in Beziehung stehen",
        ),
    ]
    assert _rows(english.text) == [
        (
            "2",
            "R-1",
            "relationships[0].external_id",
            "no organisation with external_id 'R-404' in the file or the database",
        ),
        ("12", "R-2", "relationships[0]", "an organisation cannot be related to itself"),
    ]
