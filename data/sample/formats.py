"""Writers of small but real files in the formats a commune's share holds.

Each writer returns bytes produced by a well-kept library (python-docx, openpyxl,
odfpy, fpdf2, Pillow, the standard library's email and zipfile). Office files are
ZIP containers whose entries carry the save time: they are re-packed with a fixed
time so that the demo territory is the same byte for byte at every generation.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_DT = datetime(2020, 1, 1, 0, 0, 0)
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")


def normalize_zip(data: bytes) -> bytes:
    """Same entries, same order, fixed timestamps (keeps a stored `mimetype` first for ODF)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            data = src.read(info.filename)
            if info.filename in ("docProps/core.xml", "meta.xml"):
                # Libraries stamp the save time here whatever the properties say.
                data = _TIMESTAMP.sub(b"2020-01-01T00:00:00Z", data)
            dst.writestr(new, data)
    return out.getvalue()


def _latin1(text: str) -> str:
    """fpdf2's core fonts are Latin-1: French accents pass, typographic dashes do not."""
    return text.replace("—", "-").replace("’", "'").encode("latin-1", "replace").decode("latin-1")


def pdf(title: str, lines: list[str]) -> bytes:
    from fpdf import FPDF

    title, lines = _latin1(title), [_latin1(line) for line in lines]
    doc = FPDF()
    doc.set_creation_date(FIXED_DT)
    doc.set_title(title)
    doc.add_page()
    doc.set_font("Helvetica", size=14)
    doc.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", size=10)
    for line in lines:
        doc.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def docx(title: str, lines: list[str]) -> bytes:
    import docx as python_docx

    doc = python_docx.Document()
    doc.core_properties.created = FIXED_DT
    doc.core_properties.modified = FIXED_DT
    doc.core_properties.title = title
    doc.add_heading(title, level=1)
    for line in lines:
        doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    return normalize_zip(buf.getvalue())


def xlsx(title: str, rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.created = FIXED_DT
    wb.properties.modified = FIXED_DT
    ws = wb.active
    ws.title = title[:31]
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return normalize_zip(buf.getvalue())


def odt(title: str, lines: list[str]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text=title))
    for line in lines:
        doc.text.addElement(P(text=line))
    buf = io.BytesIO()
    doc.write(buf)
    return normalize_zip(buf.getvalue())


def ods(title: str, rows: list[list]) -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name=title[:31])
    for row in rows:
        tr = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return normalize_zip(buf.getvalue())


def image(kind: str, seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small picture (PNG, JPEG or TIFF) whose pixels depend on SEED."""
    from PIL import Image

    w, h = size
    img = Image.new("RGB", size)
    img.putdata([((x * seed) % 256, (y * 7 + seed) % 256, (x + y + seed * 3) % 256)
                 for y in range(h) for x in range(w)])
    buf = io.BytesIO()
    img.save(buf, format={"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}[kind])
    return buf.getvalue()


def csv_text(rows: list[list]) -> bytes:
    return ("\r\n".join(";".join(str(v) for v in row) for row in rows) + "\r\n").encode("utf-8")


def eml(subject: str, sender: str, to: str, body: str, when: datetime,
        attachment: tuple[str, bytes, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(when)
    digest = hashlib.sha1(f"{subject}|{when.isoformat()}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<{digest}@demo.invalid>"
    msg.set_content(body)
    if attachment:
        name, data, mime = attachment
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        msg.set_boundary(f"=_catalogage_{digest}")  # the default boundary is random
    return bytes(msg)


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME), data)
    return buf.getvalue()
