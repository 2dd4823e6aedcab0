"""Import files beyond the limits are refused after bounded work.

    python -m benchmarks.import_limits

Builds, in memory, the hostile files of issue 9 (an XLSX whose sheet holds 200 million empty
rows, one whose row numbers jump to row 200,000,000, a CSV of 2.2 million rows) and a valid
5,000-row CSV, and times `parse_file` on each (median of 3 runs) with the peak RSS of the
process. Nothing touches the network or a database.
"""

from __future__ import annotations

import io
import resource
import statistics
import time
import zipfile
from collections.abc import Callable, Iterator

from openpyxl import Workbook

from app.imports.parsing import ImportTooLarge, parse_file

_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>external_id'
    b'</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'
)
_TAIL = b"</sheetData></worksheet>"


def _xlsx(sheet: Callable[[], Iterator[bytes]]) -> bytes:
    workbook = Workbook()
    workbook.active.append(["external_id", "name"])
    plain = io.BytesIO()
    workbook.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info.filename, source.read(info.filename))
                continue
            with archive.open(info.filename, "w", force_zip64=True) as part:
                for chunk in sheet():
                    part.write(chunk)
    return out.getvalue()


def _empty_rows(count: int) -> Callable[[], Iterator[bytes]]:
    def sheet() -> Iterator[bytes]:
        yield _HEAD
        block = b"<row/>" * 1_000_000
        for _ in range(count // 1_000_000):
            yield block
        yield _TAIL

    return sheet


def _row_gap() -> Iterator[bytes]:
    yield _HEAD
    yield (
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>A</t></is></c></row>'
        b'<row r="200000000"><c r="A200000000" t="inlineStr"><is><t>B</t></is></c></row>'
    )
    yield _TAIL


def _csv(rows: int) -> bytes:
    body = b"".join(b"id-%d,Firma %d GmbH,Dresden\n" % (i, i) for i in range(rows))
    return b"external_id,name,city\n" + body


def _time(data: bytes, filename: str) -> tuple[float, str]:
    runs = []
    outcome = ""
    for _ in range(3):
        start = time.perf_counter()
        try:
            parsed = parse_file(data, filename=filename)
            outcome = f"read {len(parsed.rows):,} records"
        except ImportTooLarge as exc:
            outcome = f"refused: {exc.limit}"
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), outcome


def main() -> None:
    cases = [
        ("XLSX, 200 million empty rows", _xlsx(_empty_rows(200_000_000)), "bomb.xlsx"),
        ("XLSX, row numbers jump to 200,000,000", _xlsx(_row_gap), "gap.xlsx"),
        ("CSV, 2.2 million rows", _csv(2_200_000), "big.csv"),
        ("CSV, 5,000 rows (valid)", _csv(5_000), "ok.csv"),
    ]
    print("| file | size | median of 3 | outcome |")
    print("|---|---:|---:|---|")
    for label, data, filename in cases:
        seconds, outcome = _time(data, filename)
        print(f"| {label} | {len(data) / 1e6:.2f} MB | {seconds:.3f} s | {outcome} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole run (files built in memory included): {peak:.0f} MB")


if __name__ == "__main__":
    main()
