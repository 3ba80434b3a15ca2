"""Reading consent files and checking each row with the API's rules (no database)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from inbound.imports import read
from inbound.imports.check import check_row, parse_date
from iys_push.timefmt import TR
from tests.imports.files import TR_HEADERS, csv_bytes, recent, xlsx_bytes

NOW = datetime.now(UTC)
GOOD = ("0532 123 45 67", "MESAJ", "ONAY", "HS_WEB", "BIREYSEL", recent())


def rows_of(data: bytes) -> list[dict[str, str | None]]:
    return list(read.rows(io.BytesIO(data)))


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("header", [read.FIELDS, TR_HEADERS], ids=["english", "turkish"])
def test_csv_separator_bom_and_header_language_are_all_read_alike(
        sep: str, bom: bool, header: tuple[str, ...]) -> None:
    (row,) = rows_of(csv_bytes([GOOD], header=header, sep=sep, bom=bom))
    assert row == dict(zip(read.FIELDS, GOOD, strict=True))


def test_headers_in_capitals_without_turkish_letters_and_extra_columns() -> None:
    data = csv_bytes([("x", "5321234567", "mesaj", "onay")],
                     header=("Ad Soyad", "ALICI", "TUR", "durum"))
    assert rows_of(data) == [{"recipient": "5321234567", "type": "mesaj", "status": "onay"}]


def test_a_missing_required_column_refuses_the_file() -> None:
    with pytest.raises(read.FileRefused, match="durum / status"):
        rows_of(csv_bytes([("0532", "MESAJ")], header=("alıcı", "tür")))


def test_a_file_that_is_not_utf8_is_refused_as_a_whole() -> None:
    data = "alıcı;tür;durum\n05321234567;MESAJ;ONAY\n".encode("cp1254")
    with pytest.raises(read.FileRefused, match="UTF-8"):
        rows_of(data)


@pytest.mark.parametrize("data", [b"PK\x03\x04" + b"\x00" * 200, b"PK\x03\x04garbage",
                                  b"a,b\x00,c\n1,2,3\n"], ids=["zeros", "garbage", "nul"])
def test_a_damaged_file_is_refused_as_a_whole(data: bytes) -> None:
    with pytest.raises(read.FileRefused):
        rows_of(data)


def test_a_damaged_sheet_inside_a_real_workbook_is_refused() -> None:
    import zipfile
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([("x", "MESAJ", "ONAY")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]
            broken.writestr(item, data)
    with pytest.raises(read.FileRefused):
        rows_of(out.getvalue())


def test_xlsx_with_turkish_headers_numbers_and_dates_as_cells() -> None:
    when = (NOW - timedelta(minutes=20)).astimezone(TR).replace(tzinfo=None, microsecond=0)
    data = xlsx_bytes([(5321234567, "MESAJ", "ONAY", "HS_ISLAK_IMZA", None, when),
                       (None, None, None, None, None, None)], header=TR_HEADERS)
    (row,) = rows_of(data)
    assert row["recipient"] == "5321234567" and row["recipient_type"] is None
    checked = check_row(row, 1, NOW)
    assert checked.consent is not None
    assert checked.consent.consent_date == when.replace(tzinfo=TR)


@pytest.mark.parametrize(("raw", "expected"), [
    ("03.12.2026 14:05", datetime(2026, 12, 3, 14, 5, tzinfo=TR)),
    ("3.12.2026 14:05:09", datetime(2026, 12, 3, 14, 5, 9, tzinfo=TR)),
    ("03/12/2026", datetime(2026, 12, 3, tzinfo=TR)),
    ("2026-12-03 14:05:00", datetime(2026, 12, 3, 14, 5, tzinfo=TR)),
    ("2026-12-03T14:05", datetime(2026, 12, 3, 14, 5, tzinfo=TR)),
    ("2026-12-03T11:05:00Z", datetime(2026, 12, 3, 11, 5, tzinfo=UTC)),
    ("2026-12-03T14:05:00+03:00", datetime(2026, 12, 3, 11, 5, tzinfo=UTC)),
    ("31.02.2026 10:00", None), ("dün", None), ("2026-13-01", None), ("12:00", None),
])
def test_dates_as_people_write_them_in_turkey_time(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def old(days: int) -> str:
    return (NOW - timedelta(days=days)).astimezone(TR).strftime("%d.%m.%Y %H:%M")


# every kind of bad row: (what is wrong, the row, the code it is refused with)
BAD_ROWS = [
    ("no recipient", (None, "MESAJ", "ONAY", "HS_WEB", None, recent()), "H114"),
    ("not a phone", ("05x2", "MESAJ", "ONAY", "HS_WEB", None, recent()), "H121"),
    ("fixed line for MESAJ", ("0212 123 45 67", "MESAJ", "ONAY", "HS_WEB", None, recent()),
     "H121"),
    ("e-mail with Turkish letters", ("örnek@mail.com", "EPOSTA", "ONAY", "HS_WEB", None,
                                      recent()), "H120"),
    ("phone for EPOSTA", ("05321234567", "EPOSTA", "ONAY", "HS_WEB", None, recent()), "H120"),
    ("unknown type", ("05321234567", "FAX", "ONAY", "HS_WEB", None, recent()), "H117"),
    ("no type", ("05321234567", None, "ONAY", "HS_WEB", None, recent()), "H117"),
    ("unknown status", ("05321234567", "MESAJ", "EVET", "HS_WEB", None, recent()), "H115"),
    ("unknown source", ("05321234567", "MESAJ", "ONAY", "WEB", None, recent()), "H119"),
    ("İYS-only source", ("05321234567", "MESAJ", "ONAY", "IYS_WEB", None, recent()), "H119"),
    ("HS_2015", ("05321234567", "MESAJ", "ONAY", "HS_2015", None, recent()), "H155"),
    ("HS_KARAR with ONAY", ("05321234567", "MESAJ", "ONAY", "HS_KARAR", None, recent()),
     "H408"),
    ("unknown recipient type", ("05321234567", "MESAJ", "ONAY", "HS_WEB", "ESNAF", recent()),
     "H116"),
    ("no date", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None, None), "H112"),
    ("unreadable date", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None, "yesterday"), "H158"),
    ("impossible date", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None, "30.02.2026 10:00"),
     "H158"),
    ("before May 2015", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None, "01.01.2015 10:00"),
     "H156"),
    ("in the future", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None, old(-2)), "H162"),
    ("older than three business days", ("05321234567", "MESAJ", "ONAY", "HS_WEB", None,
                                        old(9)), "H467"),
    ("TACIR without source", ("05321234567", "MESAJ", "ONAY", None, "TACIR", recent()), "H463"),
    ("TACIR without date", ("05321234567", "MESAJ", "ONAY", "HS_WEB", "TACIR", None), "H462"),
]


@pytest.mark.parametrize(("what", "row", "code"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_every_kind_of_bad_row_is_refused_with_its_reason(
        what: str, row: tuple[object, ...], code: str) -> None:
    (record,) = rows_of(csv_bytes([row], sep=";"))
    checked = check_row(record, 1, NOW)
    assert checked.consent is None, what
    assert checked.code == code and checked.reason, (what, checked)


def test_values_as_people_write_them_are_taken() -> None:
    row = {"recipient": "+90 (532) 123 45 67", "type": "sms", "status": "onay",
           "source": "hs_ıslak_imza", "recipient_type": "bireysel", "consent_date": recent()}
    checked = check_row(row, 1, NOW)
    assert checked.consent is not None
    c = checked.consent
    assert (c.recipient, c.types, c.status, c.source, c.recipient_type) == (
        "+905321234567", ("MESAJ",), "ONAY", "HS_ISLAK_IMZA", "BIREYSEL")
    assert checked.deadline_at is not None and checked.deadline_at > NOW
