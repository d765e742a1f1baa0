import pytest

from activities.domain import CatalogueItem, RowError, parse_catalogue_csv

HEADER = "item_id,unit_id,position_id,description,norm_minutes,output_unit"


def test_good_rows_become_items():
    text = f"{HEADER}\nK-01,DISKOMINFO,,Mengagendakan surat masuk,10,surat\nK-02,,,Menyusun laporan,120,dokumen\n"
    items, errors = parse_catalogue_csv(text)
    assert errors == []
    assert items == [
        CatalogueItem("K-01", "DISKOMINFO", None, "Mengagendakan surat masuk", 10, "surat"),
        CatalogueItem("K-02", None, None, "Menyusun laporan", 120, "dokumen"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffITEM_ID;Unit_Id;position_id;Description;NORM_MINUTES;output_unit\nK-01;;;Rapat;60;kegiatan",
        "kode;unit_id;jabatan_id;uraian tugas;norma_waktu;satuan_output\r\nK-01;;;Rapat;60;kegiatan\r\n",
        'item_id,description,norm_minutes,output_unit\n"K-01","Rapat",60,"kegiatan"',
    ],
    ids=["bom-semicolon-any-case", "indonesian-headers-crlf", "optional-columns-absent"],
)
def test_header_spelling_and_separators_are_tolerated(text):
    items, errors = parse_catalogue_csv(text)
    assert (errors, items) == ([], [CatalogueItem("K-01", None, None, "Rapat", 60, "kegiatan")])


@pytest.mark.parametrize(
    "row, field",
    [
        (",,,Rapat,60,kegiatan", "item_id"),
        ("K-09,,,,60,kegiatan", "description"),
        ("K-09,,,Rapat,,kegiatan", "norm_minutes"),
        ("K-09,,,Rapat,0,kegiatan", "norm_minutes"),
        ("K-09,,,Rapat,-5,kegiatan", "norm_minutes"),
        ("K-09,,,Rapat,1.5,kegiatan", "norm_minutes"),
        ("K-09,,,Rapat,satu jam,kegiatan", "norm_minutes"),
        ("K-09,,,Rapat,60,", "output_unit"),
        ("K-09,,,Rapat,60,kegiatan,extra", "row"),
        ("K-01,,,Rapat lagi,60,kegiatan", "item_id"),  # duplicate of line 2
    ],
)
def test_a_bad_row_is_reported_with_line_and_field_and_good_rows_are_kept(row, field):
    text = f"{HEADER}\nK-01,,,Rapat,60,kegiatan\n{row}\nK-03,,,Apel pagi,30,kegiatan\n"
    items, errors = parse_catalogue_csv(text)
    assert [item.item_id for item in items] == ["K-01", "K-03"]
    assert [(error.line, error.field) for error in errors] == [(3, field)]
    assert errors[0].reason


def test_the_duplicate_names_the_first_line():
    _, [error] = parse_catalogue_csv(f"{HEADER}\nK-01,,,A,1,x\nK-01,,,B,1,x")
    assert error == RowError(3, "item_id", "'K-01' already appears on line 2")


def test_line_numbers_follow_the_file_across_blank_lines_and_multiline_cells():
    text = f'{HEADER}\n\nK-01,,,"Rapat\nkoordinasi",60,kegiatan\nK-02,,,Rapat,0,kegiatan\n'
    items, errors = parse_catalogue_csv(text)
    assert items[0].description == "Rapat\nkoordinasi"
    assert [(e.line, e.field) for e in errors] == [(5, "norm_minutes")]


@pytest.mark.parametrize(
    "text, fields",
    [
        ("", ["header"]),
        ("item_id,description,output_unit\nK-01,Rapat,kegiatan", ["norm_minutes"]),
        ("id;uraian;menit\nK-01;Rapat;60", ["item_id", "description", "norm_minutes", "output_unit"]),
    ],
)
def test_a_file_without_the_needed_columns_yields_nothing(text, fields):
    items, errors = parse_catalogue_csv(text)
    assert items == []
    assert [(e.line, e.field) for e in errors] == [(1, field) for field in fields]
