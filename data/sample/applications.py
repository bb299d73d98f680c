"""The demo territory's business applications: a finance database (SQLite) and the
town hall's mailbox (mbox and Maildir), generated deterministically per commune."""

from __future__ import annotations

import datetime as dt
import email.utils
import mailbox
import random
import shutil
import sqlite3
from email.message import EmailMessage
from pathlib import Path

SERVICES = ["Urbanisme", "Finances", "État civil", "Ressources humaines", "Élections"]


def make_finance_db(path: Path, seed: int) -> Path:
    """« Gestion financière »: mandates and titles with dates and scanned vouchers."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE tiers (id INTEGER PRIMARY KEY, raison_sociale TEXT, siret TEXT);
        CREATE TABLE mandats (id INTEGER PRIMARY KEY, exercice INTEGER, date_emission DATE, date_paiement DATETIME,
                              tiers_id INTEGER REFERENCES tiers(id), montant REAL, piece_jointe BLOB);
        CREATE TABLE titres (id INTEGER PRIMARY KEY, exercice INTEGER, date_emission DATE, montant REAL);
        CREATE TABLE journal (id INTEGER PRIMARY KEY, horodatage DATETIME, action TEXT);
    """)
    con.executemany("INSERT INTO tiers VALUES (?, ?, ?)",
                    [(i, f"Fournisseur {i}", f"{rng.randrange(10**13, 10**14)}") for i in range(1, 41)])
    mandats, titres = [], []
    for year in range(2008, 2026):
        for _ in range(rng.randint(20, 40)):
            day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            paid = dt.datetime.combine(day, dt.time(10)) + dt.timedelta(days=rng.randint(5, 40))
            voucher = bytes(rng.getrandbits(8) for _ in range(rng.randint(200, 2000)))
            mandats.append((year, day.isoformat(), paid.isoformat(sep=" "), rng.randint(1, 40),
                            round(rng.uniform(50, 20000), 2), voucher))
        for _ in range(rng.randint(5, 15)):
            titres.append((year, (dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))).isoformat(),
                           round(rng.uniform(100, 50000), 2)))
    con.executemany("INSERT INTO mandats (exercice, date_emission, date_paiement, tiers_id, montant, piece_jointe) "
                    "VALUES (?, ?, ?, ?, ?, ?)", mandats)
    con.executemany("INSERT INTO titres (exercice, date_emission, montant) VALUES (?, ?, ?)", titres)
    con.commit()
    con.close()
    return path


def _message(rng: random.Random, when: dt.datetime, with_attachment: bool) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"agent{rng.randint(1, 20)}@mairie.example"
    msg["To"] = "accueil@mairie.example"
    msg["Subject"] = f"Dossier {rng.choice(SERVICES)} n° {rng.randint(100, 999)}"
    msg["Date"] = email.utils.format_datetime(when)
    msg.set_content("Bonjour,\n\nVeuillez trouver les éléments du dossier.\n\nCordialement.")
    if with_attachment:
        if rng.random() < 0.5:
            msg.add_attachment(b"service;montant\nvoirie;1200\n", maintype="text", subtype="csv", filename="etat.csv")
        else:
            msg.add_attachment(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", maintype="application",
                               subtype="pdf", filename="courrier.pdf")
    return msg


def make_mailbox(root: Path, seed: int) -> Path:
    """« Messagerie de la mairie »: an mbox archive and a Maildir with a sent folder."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)  # ours, rebuilt from scratch: a Maildir would otherwise grow
    root.mkdir(parents=True)
    archive = root / "archives-2015-2019.mbox"
    if archive.exists():
        archive.unlink()
    box = mailbox.mbox(str(archive))
    for _ in range(rng.randint(30, 60)):
        when = dt.datetime(2015, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(5 * 525600))
        entry = mailbox.mboxMessage(_message(rng, when, rng.random() < 0.3))
        entry.set_from("MAILER-DAEMON", when.timetuple())  # deterministic separator line
        box.add(entry)
    box.flush()
    box.close()
    md = mailbox.Maildir(str(root / "courant"), create=True)
    sent = md.add_folder("Envoyés")
    for folder in (md, sent):
        for _ in range(rng.randint(15, 30)):
            when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(6 * 525600))
            folder.add(_message(rng, when, rng.random() < 0.3))
    return root
