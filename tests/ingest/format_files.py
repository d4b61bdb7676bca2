"""Real files of each new format, written by their own libraries (python-docx, python-pptx,
openpyxl, odfpy, the standard library's email and zipfile), for the format tests."""

from __future__ import annotations

import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path
from typing import Any


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Staffing plan"
    document.add_heading("Regional staffing", level=1)
    document.add_paragraph("The Quillfield office opens in March and will hire a dozen surveyors.")
    document.add_heading("Vacancies by team", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Team", "Vacancies"), ("North", "3"), ("South", "7")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("Interviews are held by the Brackwater panel.")
    document.save(str(path))
    return path


def write_pptx(path: Path) -> Path:
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in [
        ("Harvest review", "Orchard yields rose by a fifth.", "Thank the Pellworth growers."),
        ("Next season", "The cider press at Dunmarrow is replaced in May.", "Mention the press's cost."),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = body
        slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))
    return path


def write_xlsx(path: Path, rows: list[tuple[object, ...]] | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Budget"
    sheet.append(("Team", "Vacancies", "Budget"))
    for row in rows or [("North", 3, 12500.0), ("Ostrava depot", 11, 48000.0)]:
        sheet.append(row)
    other = book.create_sheet("Fleet")
    other.append(("Vehicle", "Depot"))
    other.append(("Tanker 9", "Harwick"))
    book.save(str(path))
    return path


def write_csv(path: Path) -> Path:
    path.write_text(
        "city;mayor;population\nKelvarra;Ines Drummond;48210\nTobermay;Rafe Olsen;9100\n", encoding="utf-8"
    )
    return path


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Lighthouse log"))
    document.text.addElement(P(text="The Skerrow lighthouse lamp was relit on 4 June by keeper Anwen Tull."))
    document.text.addElement(H(outlinelevel=2, text="Keepers"))
    table = Table(name="Keepers")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for cells in [("Keeper", "Years"), ("Anwen Tull", "12")]:
        row = TableRow()
        for text in cells:
            cell = TableCell()
            cell.addElement(P(text=text))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))
    return path


def write_epub(path: Path) -> Path:
    """A minimal EPUB 3: mimetype, container, package file and two XHTML chapters."""
    chapter = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        "<title>{0}</title></head><body><h1>{0}</h1><p>{1}</p></body></html>"
    )
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
        "<dc:title>The Salt Road</dc:title><dc:language>en</dc:language></metadata>"
        '<manifest><item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/></manifest>'
        '<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>'
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr(
            "OEBPS/text/one.xhtml",
            chapter.format(
                "Chapter One", "The caravan left Qasr Mirel at dawn carrying forty sacks of salt."
            ),
        )
        z.writestr(
            "OEBPS/text/two.xhtml",
            chapter.format(
                "Chapter Two", "At the oasis of Tindouf Vale the guide Samir traded the salt for dates."
            ),
        )
    return path


def write_eml(path: Path, *, html_only: bool = False, attachments_only: bool = False) -> Path:
    message = EmailMessage()
    message["Subject"] = "Boiler service on Friday"
    message["From"] = "Greta Lind <greta@example.org>"
    message["To"] = "tenants@example.org"
    message["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    body = "The engineer from Calderwick Heating will service the boiler in flat 14 on Friday at 10am."
    if attachments_only:
        message.make_mixed()
    elif html_only:
        message.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        message.set_content(body)
    message.add_attachment(
        b"%PDF-1.4 not indexed", maintype="application", subtype="pdf", filename="rota.pdf"
    )
    message.add_attachment(
        b"PK\x03\x04", maintype="application", subtype="octet-stream", filename="costs.xlsx"
    )
    path.write_bytes(bytes(message))
    return path


def write_rtf(path: Path) -> Path:
    path.write_text(
        r"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard The Ferrowind bridge toll is two crowns.\par"
        r"\par Carts pay double on market days.\par}",
        encoding="ascii",
    )
    return path


WRITERS = {
    "staffing.docx": write_docx,
    "harvest.pptx": write_pptx,
    "budget.xlsx": write_xlsx,
    "mayors.csv": write_csv,
    "lighthouse.odt": write_odt,
    "salt-road.epub": write_epub,
    "boiler.eml": write_eml,
    "toll.rtf": write_rtf,
}


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core


def page_image(lines: list[str], size: tuple[int, int] = (2480, 3508)) -> Any:
    """A white page (A4 at 300 dpi by default) with `lines` drawn in black in a real font, 11 pt."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 46) if FONT.exists() else ImageFont.load_default(size=46)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    y = 250
    for line in lines:
        draw.text((220, y), line, fill=0, font=font)
        y += 150 if not line else 70
    return image


SCAN_PAGES = [
    [
        "Northfield Children's Services",
        "",
        "14 March 2024",
        "",
        "Dear Ms Okafor,",
        "",
        "Thank you for your letter about the family support service.",
        "We will reply to your questions in full next week.",
    ],
    [
        "The review panel met on 3 March and agreed that the",
        "Harrowgate family will be visited by social worker",
        "Tomasz Wren every Tuesday until the end of the school year.",
        "",
        "Yours sincerely,",
        "",
        "Helen Ashdown",
        "Team Manager, Family Support",
    ],
]


def write_scan_pdf(path: Path) -> Path:
    """An image-only PDF (two scanned pages, no text layer), as a scanner writes one."""
    first, *rest = [page_image(lines) for lines in SCAN_PAGES]
    first.save(path, "PDF", resolution=300, save_all=True, append_images=rest)
    return path


def write_png(path: Path) -> Path:
    """A photographed notice: text only as pixels."""
    lines = [
        "Notice to residents",
        "",
        "The Elmbrook community hall will host the winter food bank",
        "every Saturday from nine until noon, run by Priya Castellan.",
    ]
    page_image(lines, (2000, 700)).save(path, "PNG")
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` × `height` pixels, with one tiny compressed row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
