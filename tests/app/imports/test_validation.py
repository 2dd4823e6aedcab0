from __future__ import annotations

import datetime as dt
import random
from typing import Any

from app.imports.parsing import RowError, SourceRow, parse_file
from app.imports.validation import ValidRow, validate_rows
from app.organizations.schemas import CompetenceKind, RelationshipType, Visibility

INTERESTS = "data_sharing, product_development, purchasing_sales, competence_building, training"


def row(line: int, **fields: Any) -> SourceRow:
    return SourceRow(line, {"external_id": f"ORG-{line}", "name": f"Firma {line}", **fields})


def errors_of(*rows: SourceRow) -> list[RowError]:
    valid, errors = validate_rows(rows)
    assert valid == []
    return errors


def test_valid_row_becomes_a_record() -> None:
    valid, errors = validate_rows(
        [
            row(
                3,
                country="at",
                nace_code="C26.51",
                latitude="48.2",
                longitude="16.37",
                employees="48",
                founded="1998",
                website="www.example.at",
                competences=[
                    {"kind": "core", "label": " Drucksensoren ", "description": None},
                    {"kind": "complementary", "label": "Spritzguss"},
                ],
                relationships=[{"type": "customer", "name": "ACME", "revenue_share": "0.35"}],
                cooperation_interests=["training", "data_sharing", "training"],
            )
        ]
    )
    assert errors == []
    assert len(valid) == 1
    assert valid[0].line == 3
    record = valid[0].record
    assert record.external_id == "ORG-3"
    assert record.country == "AT"
    assert record.nace_code == "26.51"
    assert (record.latitude, record.longitude, record.employees, record.founded) == (
        48.2,
        16.37,
        48,
        1998,
    )
    assert record.website == "https://www.example.at"
    assert [(c.kind, c.label) for c in record.competences] == [
        (CompetenceKind.core, "Drucksensoren"),
        (CompetenceKind.complementary, "Spritzguss"),
    ]
    assert [(r.type, r.name, r.revenue_share) for r in record.relationships] == [
        (RelationshipType.customer, "ACME", 0.35)
    ]
    assert [i.value for i in record.cooperation_interests] == ["training", "data_sharing"]
    assert record.visibility is Visibility.public


def test_explicit_nulls_mean_not_given() -> None:
    # Empty spreadsheet cells arrive as None; the optional fields then take their defaults.
    valid, errors = validate_rows(
        [
            row(
                2,
                description=None,
                city=None,
                postal_code=None,
                latitude=None,
                longitude=None,
                employees=None,
                website=None,
                founded=None,
                nace_code=None,
                country=None,
                visibility=None,
                competences=[{"kind": "core", "label": "Fräsen", "description": None}],
                relationships=[{"type": "partner", "name": "X", "revenue_share": None}],
                cooperation_interests=[],
            )
        ]
    )
    assert errors == []
    record = valid[0].record
    assert record.visibility is Visibility.public
    assert record.description is None
    assert record.relationships[0].revenue_share is None


def test_spreadsheet_cell_types_are_converted() -> None:
    valid, errors = validate_rows(
        [
            SourceRow(
                4,
                {
                    "external_id": 1017,
                    "name": "Alpha",
                    "postal_code": 1067.0,
                    "nace_code": 62,
                    "founded": dt.datetime(1999, 5, 1),
                    "employees": 12.0,
                },
            )
        ]
    )
    assert errors == []
    record = valid[0].record
    assert (record.external_id, record.postal_code, record.nace_code, record.founded) == (
        "1017",
        "1067",
        "62",
        1999,
    )


def test_enum_values_in_any_case_and_german() -> None:
    valid, errors = validate_rows(
        [
            row(
                2,
                visibility="Nur Mitglieder",
                cooperation_interests=["Data Sharing", "Weiterbildung", "einkauf/vertrieb"],
                competences=[
                    {"kind": "Kern", "label": "Laser"},
                    {"kind": "PERIPHERAL", "label": "IT"},
                ],
                relationships=[{"type": "Lieferant", "name": "Y"}],
            )
        ]
    )
    assert errors == []
    record = valid[0].record
    assert record.visibility is Visibility.members
    assert [i.value for i in record.cooperation_interests] == [
        "data_sharing",
        "training",
        "purchasing_sales",
    ]
    assert [c.kind.value for c in record.competences] == ["core", "peripheral"]
    assert record.relationships[0].type is RelationshipType.supplier


def test_unknown_enum_values_list_the_allowed_ones() -> None:
    errors = errors_of(
        row(
            5,
            visibility="Kunde",  # a relationship type in German, not a visibility
            cooperation_interests=["training", "marketing"],
            competences=[
                {"kind": "core", "label": "Laser"},
                {"kind": "wichtig", "label": "Schweißen"},
            ],
            relationships=[{"type": "competitor", "name": "Rival AG"}],
        )
    )
    assert errors == [
        RowError(
            5,
            "competences[1].kind",
            "'wichtig' is not allowed; allowed values: core, complementary, peripheral "
            "(competence 'Schweißen')",
            "ORG-5",
        ),
        RowError(
            5,
            "relationships[0].type",
            "'competitor' is not allowed; allowed values: customer, supplier, partner "
            "(competitor 'Rival AG')",
            "ORG-5",
        ),
        RowError(
            5,
            "cooperation_interests[1]",
            f"'marketing' is not allowed; allowed values: {INTERESTS}",
            "ORG-5",
        ),
        RowError(
            5,
            "visibility",
            "'Kunde' is not allowed; allowed values: public, members, private",
            "ORG-5",
        ),
    ]


def test_oversized_strings() -> None:
    errors = errors_of(
        row(
            2,
            name="N" * 301,
            description="d" * 20001,
            postal_code="1" * 21,
            competences=[{"kind": "core", "label": "L" * 201}],
        )
    )
    assert errors == [
        RowError(2, "name", "is too long: 301 characters, at most 300 are allowed", "ORG-2"),
        RowError(
            2, "description", "is too long: 20001 characters, at most 20000 are allowed", "ORG-2"
        ),
        RowError(2, "postal_code", "is too long: 21 characters, at most 20 are allowed", "ORG-2"),
        RowError(
            2,
            "competences[0].label",
            "is too long: 201 characters, at most 200 are allowed (competence '"
            + "L" * 35
            + "...')",
            "ORG-2",
        ),
    ]


def test_wrong_types() -> None:
    errors = errors_of(
        SourceRow(
            7,
            {
                "external_id": "X-7",
                "name": 42,
                "employees": "zwölf",
                "latitude": "north",
                "longitude": [13],
                "founded": 1499,
                "competences": "Laser; Schweißen",
                "relationships": [{"type": "customer", "name": "A", "revenue_share": 1.5}, "B"],
                "cooperation_interests": "training",
                "colour": "blue",
            },
        )
    )
    assert errors == [
        RowError(7, "name", "must be text, not a number", "X-7"),
        RowError(7, "latitude", "must be a number, not 'north'", "X-7"),
        RowError(7, "longitude", "must be a number, not [13]", "X-7"),
        RowError(7, "employees", "must be a whole number, not 'zwölf'", "X-7"),
        RowError(7, "founded", f"must be a year between 1500 and {dt.date.today().year}", "X-7"),
        RowError(7, "competences", "must be a list, not text", "X-7"),
        RowError(
            7,
            "relationships[0].revenue_share",
            "must be at most 1, not 1.5 (customer 'A')",
            "X-7",
        ),
        RowError(7, "relationships[1]", "must be an object {...}, not text", "X-7"),
        RowError(7, "cooperation_interests", "must be a list, not text", "X-7"),
        RowError(7, "colour", "is not a field of the import format", "X-7"),
    ]


def test_missing_required_fields_and_row_level_rules() -> None:
    errors = errors_of(
        SourceRow(2, {"name": "  "}),
        SourceRow(3, {"external_id": "C", "name": "C", "latitude": 50.1}),
        SourceRow(
            4,
            {
                "external_id": "D",
                "name": "D",
                "relationships": [
                    {"type": "customer", "name": "A", "revenue_share": 0.7},
                    {"type": "customer", "external_id": "B", "revenue_share": "0.5"},
                    {"type": "partner", "external_id": "E", "name": "E"},
                ],
            },
        ),
    )
    assert errors == [
        RowError(2, "name", "must not be empty", None),
        RowError(2, "external_id", "a value is required", None),
        RowError(3, None, "latitude and longitude go together: give both or neither", "C"),
        RowError(
            4,
            "relationships[2]",
            "give exactly one of external_id or name (partner 'E')",
            "D",
        ),
    ]
    errors = errors_of(
        SourceRow(
            4,
            {
                "external_id": "D",
                "name": "D",
                "relationships": [
                    {"type": "customer", "name": "A", "revenue_share": 0.7},
                    {"type": "customer", "external_id": "B", "revenue_share": "0.5"},
                ],
            },
        )
    )
    assert errors == [
        RowError(4, "relationships", "customer revenue shares add up to 1.20, more than 1", "D")
    ]


def test_duplicate_external_ids_name_the_first_line() -> None:
    valid, errors = validate_rows(
        [
            row(2),
            SourceRow(3, {"external_id": " ORG-2 ", "name": "Copy"}),
            row(4),
            SourceRow(5, {"external_id": "ORG-2", "name": "Another copy"}),
            SourceRow(6, {"external_id": "ORG-4", "name": ""}),
        ]
    )
    assert [(v.line, v.record.external_id) for v in valid] == [(2, "ORG-2"), (4, "ORG-4")]
    assert errors == [
        RowError(
            3,
            "external_id",
            "external_id 'ORG-2' appears more than once in the file; it was first used on line 2",
            "ORG-2",
        ),
        RowError(
            5,
            "external_id",
            "external_id 'ORG-2' appears more than once in the file; it was first used on line 2",
            "ORG-2",
        ),
        RowError(
            6,
            "external_id",
            "external_id 'ORG-4' appears more than once in the file; it was first used on line 4",
            "ORG-4",
        ),
    ]


def test_non_finite_numbers() -> None:
    errors = errors_of(
        row(2, latitude=float("nan"), longitude=float("inf"), employees=float("inf"))
    )
    assert [(e.field, e.reason) for e in errors] == [
        ("latitude", "must be a finite number, not nan"),
        ("longitude", "must be at most 180, not inf"),
        ("employees", "must be a finite number, not inf"),
    ]


def test_csv_end_to_end_with_german_headers() -> None:
    data = (
        "Externe ID;Name;Land;Mitarbeiter;Kernkompetenzen;Kunden;Sichtbarkeit;"
        "Breitengrad;Längengrad\n"
        'K-1;Kunststoff Meier;DE;120;"Spritzguss; Werkzeugbau";"K-2=35%; Bosch";öffentlich;'
        "48,1;11,5\n"
        "K-2;Sensorik Müller;Germania;viele;;;;;\n"
        "K-1;Doppelt;DE;;;;;;\n"
        "K-3;Laser Huber;AT;;Laserschneiden;K-1=0,8;privat;;\n"
    ).encode()
    parsed = parse_file(data, filename="firmen.csv")
    assert parsed.errors == []
    valid, errors = validate_rows(parsed.rows)
    assert [(v.line, v.record.external_id) for v in valid] == [(2, "K-1"), (5, "K-3")]
    first = valid[0].record
    assert [(r.name, r.revenue_share) for r in first.relationships] == [
        ("K-2", 0.35),
        ("Bosch", None),
    ]
    assert (first.latitude, first.longitude, first.employees) == (48.1, 11.5, 120)
    assert valid[1].record.visibility is Visibility.private
    assert errors == [
        RowError(
            3,
            "country",
            "must be an ISO 3166-1 alpha-2 country code such as DE, AT or CH",
            "K-2",
        ),
        RowError(3, "employees", "must be a whole number, not 'viele'", "K-2"),
        RowError(
            4,
            "external_id",
            "external_id 'K-1' appears more than once in the file; it was first used on line 2",
            "K-1",
        ),
    ]


def test_validate_rows_never_raises_on_random_records() -> None:
    rng = random.Random(7)
    values: list[Any] = [
        None,
        "",
        " ",
        "x" * 25000,
        "core",
        "customer",
        "DE",
        "26.51",
        "0,5",
        "35%",
        "NaN",
        -1,
        0,
        2.5,
        float("nan"),
        float("inf"),
        True,
        [],
        {},
        [None],
        [{"kind": None}],
        {"a": 1},
        dt.date(2000, 1, 1),
        b"bytes",
        object(),
    ]
    fields = [
        "external_id",
        "name",
        "description",
        "nace_code",
        "country",
        "city",
        "postal_code",
        "latitude",
        "longitude",
        "employees",
        "website",
        "founded",
        "competences",
        "relationships",
        "cooperation_interests",
        "visibility",
        "other",
    ]
    rows = []
    for line in range(1, 801):
        data = {rng.choice(fields): rng.choice(values) for _ in range(rng.randrange(8))}
        if rng.random() < 0.5:
            data["competences"] = [
                {rng.choice(["kind", "label", "description", "x"]): rng.choice(values)}
                for _ in range(rng.randrange(3))
            ]
        if rng.random() < 0.5:
            data["relationships"] = [
                {rng.choice(["type", "name", "external_id", "revenue_share"]): rng.choice(values)}
                for _ in range(rng.randrange(3))
            ]
        rows.append(SourceRow(line, data))
    rows.append(SourceRow(801, "not a dict"))  # type: ignore[arg-type]
    valid, errors = validate_rows(rows)
    rejected = {error.line for error in errors}
    assert {v.line for v in valid}.isdisjoint(rejected)
    assert len(valid) + len(rejected) == 801
    assert all(isinstance(v, ValidRow) for v in valid)
    assert all(error.reason for error in errors)
