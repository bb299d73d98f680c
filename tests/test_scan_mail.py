"""scan-mail on mailboxes generated with the standard library (mbox, Maildir, .eml) and
on .msg files: counts, volumes, dates, attachment formats; no body nor address kept."""

from __future__ import annotations

import datetime as dt
import email.utils
import mailbox
import os
from email.message import EmailMessage

from fpdf import FPDF

from tests.conftest import query
from tests.msgfile import write_msg

SECRET_BODY = "Corps confidentiel 8f3a"
SECRET_ADDRESS = "jeanne.martin@exemple-commune.fr"


def _pdf_bytes() -> bytes:
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Arrete")
    return bytes(doc.output())


def message(when: dt.datetime, subject: str, attachments: list[tuple[str, bytes, str]] = ()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SECRET_ADDRESS
    msg["To"] = "mairie@exemple-commune.fr"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg.set_content(SECRET_BODY)
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def make_mailboxes(root):
    root.mkdir(parents=True, exist_ok=True)
    pdf = _pdf_bytes()
    box = mailbox.mbox(str(root / "archives.mbox"))
    box.add(message(_utc(2018, 1, 2, 9, 0), "Arrêté de voirie", [("arrete.pdf", pdf, "application/pdf")]))
    box.add(message(_utc(2019, 6, 7, 10, 0), "Réunion"))
    box.flush()
    box.close()
    md = mailbox.Maildir(str(root / "maildir"), create=True)
    md.add(message(_utc(2022, 3, 1, 8, 0), "Budget", [("budget.csv", b"a;b\n1;2\n", "text/csv")]))
    sent = md.add_folder("Envoyés")
    sent.add(message(_utc(2023, 5, 5, 12, 0), "Réponse"))
    eml = root / "eml" / "Urbanisme"
    eml.mkdir(parents=True)
    (eml / "1.eml").write_bytes(bytes(message(_utc(2020, 2, 2, 2, 2), "PC", [("plan.pdf", pdf, "application/pdf")])))
    (eml / "2.eml").write_bytes(bytes(message(_utc(2021, 2, 2, 2, 2), "PC suite")))
    os.symlink(root / "absent.eml", eml / "3.eml")  # a message gone: unreadable, the scan goes on
    write_msg(eml / "4.msg", "Courrier Outlook", _utc(2024, 4, 4, 4, 4), ("note.pdf", pdf))
    return root


def test_mailboxes(cli, tmp_path):
    root = make_mailboxes(tmp_path / "mails")
    db = tmp_path / "c.duckdb"
    for path, app in ((root / "archives.mbox", "Archives mbox"), (root / "maildir", "Maildir"),
                      (root / "eml", "Dossier eml")):
        result = cli("scan-mail", path, "--commune", "99501", "--application", app, "--db", db)
        assert result.exit_code == 0, result.output
    folders = {(r[0], r[1]): r[2:] for r in query(db, "SELECT application, folder, messages, first_date, last_date, "
                                                      "attachments, unreadable, error FROM mail_folders")}
    assert folders[("Archives mbox", "archives.mbox")][:4] == (2, dt.datetime(2018, 1, 2, 9),
                                                               dt.datetime(2019, 6, 7, 10), 1)
    assert folders[("Maildir", "Boîte de réception")][0] == 1
    assert folders[("Maildir", "Envoyés")][:2] == (1, dt.datetime(2023, 5, 5, 12))
    urba = folders[("Dossier eml", "Urbanisme")]
    assert urba[0] == 3 and urba[3] == 2  # two .eml and one .msg; two attachments
    assert urba[2] == dt.datetime(2024, 4, 4, 4, 4)  # the .msg date
    assert urba[4] == 1 and "3.eml" in urba[5]  # the dangling message, reported
    formats = query(db, "SELECT folder, puid, attachments FROM mail_attachment_formats ORDER BY folder, puid")
    assert ("archives.mbox", "fmt/18", 1) in formats or ("archives.mbox", "fmt/17", 1) in formats
    assert any(f[0] == "Urbanisme" and f[1].startswith("fmt/") and f[2] == 2 for f in formats)
    assert ("Boîte de réception", "x-fmt/18", 1) in formats
    # Nothing of the content is kept: no body, no subject, no address anywhere.
    dump = str(query(db, "SELECT * FROM mail_folders")) + str(query(db, "SELECT * FROM mail_attachment_formats"))
    assert SECRET_BODY not in dump and SECRET_ADDRESS not in dump and "Arrêté de voirie" not in dump
    # Each mailbox is a dataset.
    assert {r[0] for r in query(db, "SELECT path FROM datasets WHERE source = 'mail'")} == {
        "Archives mbox", "Maildir", "Dossier eml"}


def test_scanner_batches_are_the_stored_rows(cli, tmp_path):
    """scanners.mail.to_batches (the scanner's Arrow output) holds what scan-mail stores."""
    from scanners.mail import scan_mail, to_batches

    root = make_mailboxes(tmp_path / "mails") / "eml"
    db = tmp_path / "c.duckdb"
    assert cli("scan-mail", root, "--commune", "99501", "--application", "Courrier", "--db", db).exit_code == 0
    folders, formats = to_batches(list(scan_mail(root)), "Courrier")
    for batch, table in ((folders, "mail_folders"), (formats, "mail_attachment_formats")):
        columns = ", ".join(batch.schema.names)
        assert query(db, f"SELECT {columns} FROM {table} ORDER BY ALL") == sorted(
            tuple(row.values()) for row in batch.to_pylist())


def test_unknown_or_missing_mailbox(cli, tmp_path):
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", tmp_path / "absente", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1 and result.output == f"Erreur : Messagerie introuvable : {tmp_path / 'absente'}\n"
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01 pas une messagerie")
    result = cli("scan-mail", odd, "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : notes.bin : format de messagerie non reconnu (attendu : mbox, Maildir, "
                             "dossier de .eml, .msg ou .pst).\n")
    assert not db.exists()  # refused before the catalogue was even opened


def test_files_that_are_not_messages(cli, tmp_path):
    """A 0-byte .eml and random bytes named .eml are not messages: counted as unreadable,
    each with its reason, and the rest of the folder is read."""
    folder = tmp_path / "mails" / "Courrier"
    folder.mkdir(parents=True)
    (folder / "1.eml").write_bytes(bytes(message(_utc(2020, 2, 2, 2, 2), "PC")))
    (folder / "2.eml").write_bytes(b"")
    (folder / "3.eml").write_bytes(os.urandom(4096).replace(b":", b"."))
    (folder / "4.eml").write_bytes("Ceci est une note, pas un courriel.\n\nÀ relire.\n".encode())
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", tmp_path / "mails", "--commune", "99502", "--application", "Courrier", "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT folder, messages, unreadable, error FROM mail_folders") == [
        ("Courrier", 1, 3, "2.eml : fichier vide ; 3.eml : pas un message (aucun en-tête From, Sender, To, Date, "
                           "Subject ni Message-ID) ; 4.eml : pas un message (aucun en-tête From, Sender, To, Date, "
                           "Subject ni Message-ID)")]
    assert "Messages illisibles : 3" in result.output


def test_a_pst_does_not_stop_the_folder(cli, tmp_path):
    """One .pst that cannot be read (library absent, or a damaged file) is recorded as an
    error of its own; the other messages of the tree are counted."""
    root = tmp_path / "mails"
    (root / "Secrétariat").mkdir(parents=True)
    (root / "Secrétariat" / "1.eml").write_bytes(bytes(message(_utc(2021, 1, 1, 1, 1), "Note")))
    (root / "Secrétariat" / "archive.pst").write_bytes(b"!BDN" + os.urandom(1020))
    (root / "Élus").mkdir()
    (root / "Élus" / "2.eml").write_bytes(bytes(message(_utc(2022, 1, 1, 1, 1), "Conseil")))
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", root, "--commune", "99503", "--application", "Mairie", "--db", db)
    assert result.exit_code == 0, result.output
    rows = {r[0]: r[1:] for r in query(db, "SELECT folder, messages, error FROM mail_folders")}
    assert rows["Secrétariat"] == (1, None) and rows["Élus"] == (1, None)
    assert rows["Secrétariat/archive.pst"][0] == 0
    assert rows["Secrétariat/archive.pst"][1].startswith("archive.pst : ")
    assert query(db, "SELECT status, files, errors FROM scans") == [("complete", 2, 1)]


def test_a_folder_without_any_mailbox_is_refused(cli, tmp_path):
    folder = tmp_path / "documents"
    (folder / "sous-dossier").mkdir(parents=True)
    (folder / "rapport.pdf").write_bytes(_pdf_bytes())
    (folder / "sous-dossier" / "notes.txt").write_text("rien à voir\n")
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", folder, "--commune", "99504", "--application", "X", "--db", db)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {folder} : aucune messagerie dans ce dossier (ni mbox, Maildir, .eml, "
                             ".msg ou .pst).\n")
    assert not db.exists()


def test_thunderbird_mbox_without_extension(cli, tmp_path):
    """Thunderbird keeps each folder as an mbox file with no extension (« Inbox »)."""
    profile = tmp_path / "Mail" / "Local Folders"
    profile.mkdir(parents=True)
    box = mailbox.mbox(str(profile / "Inbox"))
    box.add(message(_utc(2018, 1, 2, 9, 0), "Arrêté"))
    box.flush()
    box.close()
    (profile / "Inbox.msf").write_text("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n")
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", tmp_path / "Mail", "--commune", "99505", "--application", "Thunderbird", "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT folder, messages FROM mail_folders") == [("Local Folders/Inbox", 1)]


def test_fifos_in_a_mail_tree_are_never_opened(cli, tmp_path):
    """open() on a FIFO blocks until a writer comes: a scan must not wait forever."""
    folder = tmp_path / "mails"
    folder.mkdir()
    (folder / "1.eml").write_bytes(bytes(message(_utc(2021, 1, 1, 1, 1), "Note")))
    os.mkfifo(folder / "tube.eml")
    os.mkfifo(folder / "Inbox")
    db = tmp_path / "c.duckdb"
    result = cli("scan-mail", folder, "--commune", "99506", "--application", "X", "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT messages, unreadable, error FROM mail_folders") == [
        (1, 1, "tube.eml : pas un fichier ordinaire")]
