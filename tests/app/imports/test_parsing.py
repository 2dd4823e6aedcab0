from __future__ import annotations

import datetime as dt
import io
import json
import random
import zipfile
from typing import Any

import openpyxl
import pytest

from app.imports.parsing import (
    ImportFileError,
    ParsedFile,
    RowError,
    SourceRow,
    column_for_header,
    detect_format,
    parse_file,
)

STRAY = "is there a stray '{}' or an unquoted delimiter inside a value?"


def xlsx_bytes(rows: list[list[Any]], *, title: str = "Firmen") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "expected"),
    [
        (b"a,b\n1,2\n", "list.CSV", None, "csv"),
        (b"a;b\n1;2\n", "list.tsv", None, "csv"),
        (b'{"a": 1}\n', "orgs.ndjson", None, "jsonl"),
        (b'{"a": 1}\n', "orgs.jsonl", None, "jsonl"),
        (b'[{"a": 1}]', "orgs.json", None, "json"),
        (b'[{"a": 1}]', None, "application/json; charset=utf-8", "json"),
        (b'{"a": 1}\n', None, "application/x-ndjson", "jsonl"),
        (b"a,b\n", None, "text/csv", "csv"),
        (b'\xef\xbb\xbf  [{"a": 1}]', None, None, "json"),
        (b'{"a": 1}\n{"a": 2}\n', None, None, "jsonl"),
        (b'{\n "items": [\n  {"a": 1}\n ]\n}\n', None, None, "json"),
        (b"external_id;name\n", None, "application/octet-stream", "csv"),
        (b"PK\x03\x04rest", "list.csv", "text/csv", "xlsx"),
    ],
)
def test_detect_format(
    data: bytes, filename: str | None, content_type: str | None, expected: str
) -> None:
    assert detect_format(data, filename=filename, content_type=content_type) == expected


def test_detect_format_rejects_empty_and_legacy_excel() -> None:
    with pytest.raises(ImportFileError, match=r"^the file is empty$"):
        detect_format(b" \n\t\r\n")
    with pytest.raises(ImportFileError, match=r"^the file is empty$"):
        detect_format(b"\xef\xbb\xbf\n")
    with pytest.raises(ImportFileError, match=r"old Excel \.xls workbook"):
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, filename="a.xls")


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("fmt", [None, "json", "jsonl", "csv", "xlsx"])
def test_empty_file_is_a_file_error(data: bytes, fmt: Any) -> None:
    with pytest.raises(ImportFileError, match=r"^the file is empty$"):
        parse_file(data, format=fmt)


def test_unknown_format_argument() -> None:
    with pytest.raises(ImportFileError, match="unknown format 'xml'"):
        parse_file(b"<a/>", format="xml")  # type: ignore[arg-type]


def test_header_aliases() -> None:
    assert column_for_header("  External ID ") == "external_id"
    assert column_for_header("Gründungsjahr") == "founded"
    assert column_for_header("NACE/WZ") == "nace_code"
    assert column_for_header("komplementäre Kompetenzen") == "complementary"
    assert column_for_header("PLZ") == "postal_code"
    assert column_for_header("Kooperationsinteressen") == "cooperation_interests"
    assert column_for_header("Umsatz") is None


# --- JSON ---------------------------------------------------------------------------------------


def test_json_array_lines_and_non_objects() -> None:
    data = (
        b'[\n  {"external_id": "A", "name": "Alpha"},\n  "oops",\n\n'
        b'  {\n    "external_id": "B",\n    "employees": 12\n  },\n  [1, 2]\n]\n'
    )
    parsed = parse_file(data, filename="orgs.json")
    assert parsed == ParsedFile(
        format="json",
        rows=[
            SourceRow(2, {"external_id": "A", "name": "Alpha"}),
            SourceRow(5, {"external_id": "B", "employees": 12}),
        ],
        errors=[
            RowError(
                3, None, "element 2 of the array is a string, not an organisation object {...}"
            ),
            RowError(9, None, "element 4 of the array is a list, not an organisation object {...}"),
        ],
        warnings=[],
    )


@pytest.mark.parametrize("key", ["items", "organizations"])
def test_json_object_with_items_array(key: str) -> None:
    data = f'{{"total": 2, "{key}": [\n{{"external_id": "A"}},\n{{"external_id": "B"}}]}}'
    parsed = parse_file(data.encode())
    assert parsed.format == "json"
    assert parsed.rows == [SourceRow(2, {"external_id": "A"}), SourceRow(3, {"external_id": "B"})]
    assert parsed.errors == []


def test_json_other_object_is_a_file_error() -> None:
    with pytest.raises(ImportFileError, match=r"\(its keys: external_id, name\)$"):
        parse_file(b'{"external_id": "A", "name": "x"}', filename="one.json")
    with pytest.raises(
        ImportFileError,
        match=r'has an "items" or "organizations" array of organisations \(its keys: items\)$',
    ):
        parse_file(b'{"items": 5}', filename="one.json")


def test_json_not_an_array() -> None:
    with pytest.raises(ImportFileError, match="must start with '\\['"):
        parse_file(b'"hello"', format="json")


def test_json_syntax_error_names_line_and_column() -> None:
    data = b'[\n {"external_id": "A"},\n {"external_id": "B",}\n]'
    with pytest.raises(ImportFileError) as info:
        parse_file(data, filename="x.json")
    assert str(info.value) == (
        "the file is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 22"
    )


def test_json_trailing_content() -> None:
    with pytest.raises(ImportFileError, match=r"unexpected content at line 2$"):
        parse_file(b'[{"a": 1}]\n[{"b": 2}]', filename="x.json")


def test_json_with_bom_and_empty_array() -> None:
    assert parse_file(b'\xef\xbb\xbf[{"a": 1}]').rows == [SourceRow(1, {"a": 1})]
    with pytest.raises(ImportFileError, match=r"^the file holds no records$"):
        parse_file(b"[ ]", filename="x.json")
    with pytest.raises(ImportFileError, match=r"^the file holds no records$"):
        parse_file(b'{"items": []}', filename="x.json")


def test_json_with_broken_utf8_fails_the_file() -> None:
    data = b'[\n {"external_id": "A", "name": "M\xfcller"}\n]'
    with pytest.raises(ImportFileError) as info:
        parse_file(data)
    assert str(info.value) == (
        "line 2 is not valid UTF-8: byte 0xFC at byte offset 34 of the file (position 33 in the "
        "line) cannot be read; save the file as UTF-8 and import it again"
    )


# --- JSON Lines ---------------------------------------------------------------------------------


def test_jsonl_rows_and_errors() -> None:
    data = (
        b'{"external_id": "A"}\r\n'
        b"\n"
        b'{"external_id": "B", "name": "Gr\xc3\xbcn"}\n'
        b"{not json}\n"
        b"42\n"
        b'{"external_id": "C", "name": "\xff"}\n'
        b'{"external_id": "D"}'
    )
    parsed = parse_file(data, filename="orgs.jsonl")
    assert parsed.format == "jsonl"
    assert parsed.rows == [
        SourceRow(1, {"external_id": "A"}),
        SourceRow(3, {"external_id": "B", "name": "Grün"}),
        SourceRow(7, {"external_id": "D"}),
    ]
    assert parsed.errors == [
        RowError(
            4,
            None,
            "line 4 is not valid JSON: Expecting property name enclosed in double quotes "
            "at column 2",
        ),
        RowError(5, None, "line 5 holds a number, not an organisation object {...}"),
        RowError(
            6,
            None,
            "line 6 is not valid UTF-8: byte 0xFF at byte offset 105 of the file (position 31 in "
            "the line) cannot be read; save the file as UTF-8 and import it again",
        ),
    ]


def test_jsonl_all_lines_broken_is_not_a_file_error() -> None:
    parsed = parse_file(b"nope\n[1]\n", format="jsonl")
    assert parsed.rows == []
    assert [error.line for error in parsed.errors] == [1, 2]


# --- CSV ----------------------------------------------------------------------------------------

GERMAN_CSV = (
    "\ufeffExterne ID;Name;Beschreibung;Land;Ort;PLZ;Mitarbeiter;Webseite;Gründungsjahr;"
    "Kernkompetenzen;Komplementäre Kompetenzen;Periphere Kompetenzen;Kunden;Lieferanten;Partner;"
    "Kooperationsinteressen;Sichtbarkeit;NACE/WZ;Breitengrad;Längengrad\r\n"
    'ORG-1;Sensorik Müller GmbH;"Sensoren; Aktoren";DE;Dresden;01067;48;sensorik-mueller.de;1998;'
    '"Drucksensoren; MEMS-Fertigung";Spritzguss;Buchhaltung;"ORG-17=0,35; Bosch Rexroth AG; '
    'ACME=35%";Kunststoff Meier=0.1;;"data_sharing, product_development";members;26.51;'
    "51,05;13,74\r\n"
)


def test_csv_german_headers_bom_and_semicolons() -> None:
    parsed = parse_file(GERMAN_CSV.encode("utf-8"), filename="firmen.csv")
    assert parsed.format == "csv"
    assert parsed.errors == []
    assert parsed.warnings == []
    assert parsed.rows == [
        SourceRow(
            2,
            {
                "external_id": "ORG-1",
                "name": "Sensorik Müller GmbH",
                "description": "Sensoren; Aktoren",
                "country": "DE",
                "city": "Dresden",
                "postal_code": "01067",
                "employees": "48",
                "website": "sensorik-mueller.de",
                "founded": "1998",
                "cooperation_interests": ["data_sharing", "product_development"],
                "visibility": "members",
                "nace_code": "26.51",
                "latitude": "51.05",
                "longitude": "13.74",
                "competences": [
                    {"kind": "core", "label": "Drucksensoren", "description": None},
                    {"kind": "core", "label": "MEMS-Fertigung", "description": None},
                    {"kind": "complementary", "label": "Spritzguss", "description": None},
                    {"kind": "peripheral", "label": "Buchhaltung", "description": None},
                ],
                "relationships": [
                    {"type": "customer", "name": "ORG-17", "revenue_share": "0.35"},
                    {"type": "customer", "name": "Bosch Rexroth AG", "revenue_share": None},
                    {"type": "customer", "name": "ACME", "revenue_share": "0.35"},
                    {"type": "supplier", "name": "Kunststoff Meier", "revenue_share": "0.1"},
                ],
            },
        )
    ]


def test_csv_comma_dialect_with_quoted_multiline_fields() -> None:
    data = (
        b"external_id,name,description,core\n"
        b'A,"Alpha, Inc.","first line\nsecond line","Laser cutting\nWelding; Bending"\n'
        b"B,Beta,,\n"
        b",,,\n"
        b"\n"
        b"C,Gamma\n"
    )
    parsed = parse_file(data, filename="orgs.csv")
    assert parsed.errors == []
    assert parsed.rows == [
        SourceRow(
            2,
            {
                "external_id": "A",
                "name": "Alpha, Inc.",
                "description": "first line\nsecond line",
                "competences": [
                    {"kind": "core", "label": "Laser cutting", "description": None},
                    {"kind": "core", "label": "Welding", "description": None},
                    {"kind": "core", "label": "Bending", "description": None},
                ],
            },
        ),
        SourceRow(5, {"external_id": "B", "name": "Beta", "description": None, "competences": []}),
        SourceRow(8, {"external_id": "C", "name": "Gamma", "description": None, "competences": []}),
    ]


def test_csv_tab_dialect() -> None:
    data = b"external_id\tname\tcity\nA\tAlpha\tLinz\nB\tBeta\tGraz\n"
    parsed = parse_file(data)
    assert parsed.format == "csv"
    assert [row.data for row in parsed.rows] == [
        {"external_id": "A", "name": "Alpha", "city": "Linz"},
        {"external_id": "B", "name": "Beta", "city": "Graz"},
    ]


def test_csv_single_record_with_commas_in_the_sep_hint_line() -> None:
    data = b"sep=;\nexternal_id;name;description\nA;Alpha;Pumps, valves, seals\n"
    parsed = parse_file(data, filename="x.csv")
    assert parsed.rows == [
        SourceRow(3, {"external_id": "A", "name": "Alpha", "description": "Pumps, valves, seals"})
    ]


def test_csv_stray_delimiter_is_a_row_error() -> None:
    data = (
        b"external_id;name;city;core\n"
        b"A;Alpha;Berlin;Sensors\n"
        b"B;Beta; GmbH;Hamburg;Pumps\n"
        b"C;Gamma\n"
        b"D;Delta;Kiel;;\n"
    )
    parsed = parse_file(data, filename="x.csv")
    assert [row.line for row in parsed.rows] == [2, 4]
    assert parsed.rows[1].data == {
        "external_id": "C",
        "name": "Gamma",
        "city": None,
        "competences": [],
    }
    assert parsed.errors == [
        RowError(
            3, None, "line 3 has 5 cells but the header has 4 columns; " + STRAY.format(";"), "B"
        ),
        RowError(
            5, None, "line 5 has 5 cells but the header has 4 columns; " + STRAY.format(";"), "D"
        ),
    ]


def test_csv_value_under_an_empty_header_cell_is_a_row_error() -> None:
    data = b"external_id,name,,city\nA,Alpha,,Bonn\nB,Beta,x,Bonn\n"
    parsed = parse_file(data, filename="x.csv")
    assert [row.line for row in parsed.rows] == [2]
    assert parsed.errors == [
        RowError(
            3,
            None,
            "line 3 has a value in column 3, which has no header; is there a stray delimiter?",
            "B",
        )
    ]


def test_csv_broken_utf8_line_is_reported_and_the_rest_parsed() -> None:
    data = "external_id,name,city\nA,Alpha,Köln\n".encode() + b"B,M\xfcller,K\xf6ln\nC,Gamma,Ulm\n"
    parsed = parse_file(data, filename="x.csv")
    assert parsed.rows == [
        SourceRow(2, {"external_id": "A", "name": "Alpha", "city": "Köln"}),
        SourceRow(4, {"external_id": "C", "name": "Gamma", "city": "Ulm"}),
    ]
    assert parsed.errors == [
        RowError(
            3,
            None,
            "line 3 is not valid UTF-8: byte 0xFC at byte offset 39 of the file (position 4 in the "
            "line) cannot be read; save the file as UTF-8 and import it again",
            "B",
        )
    ]


def test_csv_broken_utf8_in_header_is_a_file_error() -> None:
    with pytest.raises(ImportFileError, match=r"^the header row cannot be read: line 1 is not"):
        parse_file(b"external_id,Gr\xfcndungsjahr\nA,1999\n", filename="x.csv")


def test_csv_unknown_columns_give_warnings() -> None:
    data = b"external_id,name,Umsatz,competences\nA,Alpha,5,x\n"
    parsed = parse_file(data, filename="x.csv")
    assert parsed.rows == [SourceRow(2, {"external_id": "A", "name": "Alpha"})]
    assert [str(w) for w in parsed.warnings] == [
        "column 3 'Umsatz' is not part of the import format and was ignored",
        "column 4 'competences' is not part of the import format and was ignored (spreadsheets "
        "list competences in core/complementary/peripheral columns and relationships in "
        "customers/suppliers/partners columns)",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"external_id,name\n", "^the file holds no records$"),
        (b"\n\nexternal_id;name\n;\n\n", "^the file holds no records$"),
        (b"A,Alpha,Berlin\nB,Beta,Bonn\n", r"^no header row: the first non-empty row \(line 1\)"),
        (b"external_id,city\nA,Bonn\n", r"^the header row \(line 1\) has no name column"),
        (
            b"external_id,name,Ort,Stadt\nA,x,y,z\n",
            r"^the header row \(line 1\) has two columns for 'city': 3 'Ort' and 4 'Stadt'",
        ),
    ],
)
def test_csv_file_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        parse_file(data, filename="x.csv")


def test_csv_numbers_stay_strings_and_decimal_commas_only_where_unambiguous() -> None:
    data = (
        b"external_id;name;employees;latitude;longitude;partners\n"
        b'A;Alpha;1,5;48,1372;11,5755;"X=12,5 %; Y=0,2; Z=abc"\n'
        b"B;Beta;12;48,137,2;11.5;\n"
    )
    parsed = parse_file(data, filename="x.csv")
    assert parsed.rows == [
        SourceRow(
            2,
            {
                "external_id": "A",
                "name": "Alpha",
                "employees": "1,5",
                "latitude": "48.1372",
                "longitude": "11.5755",
                "relationships": [
                    {"type": "partner", "name": "X", "revenue_share": "0.125"},
                    {"type": "partner", "name": "Y", "revenue_share": "0.2"},
                    {"type": "partner", "name": "Z", "revenue_share": "abc"},
                ],
            },
        ),
        SourceRow(
            3,
            {
                "external_id": "B",
                "name": "Beta",
                "employees": "12",
                "latitude": "48,137,2",
                "longitude": "11.5",
                "relationships": [],
            },
        ),
    ]


def test_csv_classic_mac_line_endings() -> None:
    parsed = parse_file(b"external_id,name\rA,Alpha\rB,Beta\r", filename="x.csv")
    assert [(row.line, row.data["external_id"]) for row in parsed.rows] == [(2, "A"), (3, "B")]


def test_csv_windows_1252_file_reports_each_line_with_umlauts() -> None:
    text = "external_id;name;city\nA;Alpha;Köln\nB;Beta;Bonn\nC;Gamma;Düsseldorf\n"
    parsed = parse_file(text.encode("cp1252"), filename="x.csv")
    assert [row.line for row in parsed.rows] == [3]
    assert [(error.line, error.external_id) for error in parsed.errors] == [(2, "A"), (4, "C")]


def test_csv_utf16_export_with_byte_order_mark() -> None:
    text = "external_id\tname\tcity\r\nA\tMüller AG\tGraz\r\n"
    parsed = parse_file(text.encode("utf-16"), filename="export.txt")
    assert parsed.rows == [SourceRow(2, {"external_id": "A", "name": "Müller AG", "city": "Graz"})]
    with pytest.raises(ImportFileError, match=r"^the file starts like UTF-16 text but byte offset"):
        parse_file(b"\xff\xfeA\x00\x00\xd8", filename="x.csv")


def test_json_oddities_are_file_or_row_errors() -> None:
    with pytest.raises(ImportFileError, match=r"^the file is not valid JSON: Exceeds the limit"):
        parse_file(b'[{"employees": ' + b"9" * 5000 + b"}]", filename="x.json")
    with pytest.raises(ImportFileError, match=r"^the file is nested too deeply to be read$"):
        parse_file(b"[" * 100_000 + b"]" * 100_000, filename="x.json")
    parsed = parse_file(b'{"employees": ' + b"9" * 5000 + b'}\n{"a": 1}\n', filename="x.jsonl")
    assert parsed.rows == [SourceRow(2, {"a": 1})]
    assert [(error.line, error.reason[:26]) for error in parsed.errors] == [
        (1, "line 1 cannot be read: Exc")
    ]


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_header_after_empty_rows_and_typed_cells() -> None:
    data = xlsx_bytes(
        [
            [],
            ["Firmenliste Cluster Sachsen"],  # a title row is not a header: no known column
        ]
    )
    with pytest.raises(ImportFileError, match=r"no header row: the first non-empty row \(line 2\)"):
        parse_file(data)

    data = xlsx_bytes(
        [
            [],
            [],
            [
                "External_ID",
                "Name",
                "PLZ",
                "Mitarbeiter",
                "Gründungsjahr",
                "Kernkompetenzen",
                "Kunden",
                "Breitengrad",
                "Längengrad",
                "Notiz",
            ],
            [
                1017,
                "Alpha GmbH",
                80331,
                12,
                dt.datetime(1999, 5, 1),
                "Fräsen;\nDrehen",
                "ORG-2=40%",
                48.1,
                "11,5",
                "hi",
            ],
            [],
            ["B-2", "Beta", None, 7.5, 2001, None, None, None, None, None, "stray"],
        ]
    )
    parsed = parse_file(data, filename="firmen.xlsx")
    assert parsed.format == "xlsx"
    assert parsed.errors == []
    assert [str(w) for w in parsed.warnings] == [
        "column J 'Notiz' is not part of the import format and was ignored",
        "postal_code is stored as a number in the sheet (first in row 4: 80331); leading zeros "
        "are lost (01067 becomes 1067); format the column as text to keep codes exact",
        "column K has values (first in row 6) but no header; they were ignored",
    ]
    assert parsed.rows == [
        SourceRow(
            4,
            {
                "external_id": 1017,
                "name": "Alpha GmbH",
                "postal_code": 80331,
                "employees": 12,
                "founded": dt.datetime(1999, 5, 1),
                "latitude": 48.1,
                "longitude": "11.5",
                "competences": [
                    {"kind": "core", "label": "Fräsen", "description": None},
                    {"kind": "core", "label": "Drehen", "description": None},
                ],
                "relationships": [{"type": "customer", "name": "ORG-2", "revenue_share": "0.4"}],
            },
        ),
        SourceRow(
            6,
            {
                "external_id": "B-2",
                "name": "Beta",
                "postal_code": None,
                "employees": 7.5,
                "founded": 2001,
                "latitude": None,
                "longitude": None,
                "competences": [],
                "relationships": [],
            },
        ),
    ]


def test_xlsx_empty_and_header_only() -> None:
    with pytest.raises(ImportFileError, match=r"^the first worksheet 'Leer' is empty$"):
        parse_file(xlsx_bytes([], title="Leer"))
    with pytest.raises(ImportFileError, match=r"^the file holds no records$"):
        parse_file(xlsx_bytes([["external_id", "name"]]))


def test_xlsx_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(ImportFileError, match=r"^the file is not a readable XLSX workbook"):
        parse_file(buffer.getvalue(), filename="x.xlsx")
    with pytest.raises(ImportFileError, match=r"^the file is not a readable XLSX workbook"):
        parse_file(b"external_id,name\nA,B\n", filename="x.xlsx")


# --- never anything but ImportFileError ----------------------------------------------------------


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, -1, 1.5, 1e308, 2**70])
    if choice == 2:
        return "".join(rng.choice('aZ ;=%,.\n"ü0') for _ in range(rng.randrange(6)))
    if choice == 3:
        return rng.choice(["core", "customer", "DE", "26.51", "", "public", "x" * 400])
    if choice == 4:
        return rng.randrange(-5, 3000)
    if choice == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [
        "external_id",
        "name",
        "competences",
        "relationships",
        "kind",
        "label",
        "type",
        "latitude",
        "employees",
        "items",
        "visibility",
        "founded",
        "x",
    ]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_fuzz_parse_file_raises_only_import_file_errors() -> None:
    rng = random.Random(20261126)
    seeds = [
        GERMAN_CSV.encode(),
        b'[{"external_id": "A", "name": "x"}]',
        b'{"external_id": "A"}\n{"x": 1}\n',
        xlsx_bytes([["external_id", "name"], ["A", "B"]]),
    ]
    outcomes = {"parsed": 0, "file_error": 0}
    for _ in range(300):
        kind = rng.randrange(3)
        if kind == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        elif kind == 1:
            data = json.dumps(_random_json(rng)).encode()
        else:
            seed = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 8)):
                seed[rng.randrange(len(seed))] = rng.randrange(256)
            data = bytes(seed)
        for fmt in (None, "json", "jsonl", "csv", "xlsx"):
            try:
                parse_file(data, format=fmt)  # type: ignore[arg-type]
                outcomes["parsed"] += 1
            except ImportFileError:
                outcomes["file_error"] += 1
    assert outcomes["parsed"] + outcomes["file_error"] == 1500
    # Both outcomes occur, so the fuzzing reaches past the first checks.
    assert outcomes["parsed"] > 0
    assert outcomes["file_error"] > 0
