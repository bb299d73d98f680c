"""Generate the demo territory: three fictitious communes, each a file share.

Deterministic: the same seed gives the same tree, names, contents and dates. Planted
on purpose: duplicates (copies across services, « Copie de … », « (1) »), déchets
(Office owner files, LibreOffice locks, Thumbs.db, desktop.ini, .DS_Store, __MACOSX,
.tmp, .bak, empty files and folders), old dates (from 1998), a deep branch, and names
a careless tool would mishandle (accents, apostrophes, `<script>`, `=formula`).

    python -m catalogue.sample.generate OUT_DIR
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from . import formats

COMMUNES = [
    ("99001", "Saint-Aubin-des-Prés", 1.0),
    ("99002", "Montclar-sur-Loire", 0.7),
    ("99003", "Vallon-les-Bains", 0.5),
]

# Service → activities (folders at depth 2 = the default datasets).
SERVICES = {
    "Administration générale": ["Délibérations", "Arrêtés du maire", "Courrier"],
    "État civil": ["Actes de naissance", "Mariages", "Décès"],
    "Élections": ["Listes électorales", "Procès-verbaux"],
    "Urbanisme": ["Permis de construire", "Déclarations préalables", "PLU"],
    "Marchés publics": ["Consultations", "Contrats"],
    "Ressources humaines": ["Dossiers agents", "Paie", "Formation"],
    "Finances": ["Budgets", "Mandats et titres", "Subventions"],
    "Affaires scolaires": ["Inscriptions", "Cantine"],
    "Communication": ["Photographies", "Bulletin municipal"],
    "Police municipale": ["Mains courantes", "Arrêtés de circulation"],
}

FIRST = ["Marie", "Jean", "Nathalie", "Pierre", "Sophie", "Luc", "Camille", "Hélène", "Éric", "Zoé"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "N'Diaye"]


def _when(rng: random.Random, year_from: int, year_to: int) -> float:
    year = rng.randint(year_from, year_to)
    dt = datetime(year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(8, 18), rng.randint(0, 59),
                  tzinfo=UTC)
    return dt.timestamp()


def _write(path: Path, data: bytes, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def _lines(rng: random.Random, service: str, activity: str, n: int = 6) -> list[str]:
    verbs = ["Vu le code général des collectivités territoriales", "Considérant la demande présentée",
             "Après en avoir délibéré", "Le conseil municipal décide", "Article 1er", "Fait en mairie"]
    return [f"{rng.choice(verbs)} — {service}, {activity}, pièce {rng.randint(1, 999)}." for _ in range(n)]


def _document(rng: random.Random, folder: Path, stem: str, service: str, activity: str,
              year_from: int, year_to: int) -> Path:
    """One document in a format chosen with realistic weights."""
    kind = rng.choices(["pdf", "docx", "odt", "xlsx", "ods", "csv", "txt", "jpg", "png", "tif", "eml", "zip"],
                       weights=[24, 18, 5, 8, 3, 5, 4, 10, 4, 2, 8, 2])[0]
    mtime = _when(rng, year_from, year_to)
    title = f"{activity} — {stem}"
    lines = _lines(rng, service, activity)
    rows = [["N°", "Objet", "Montant", "Date"]] + [
        [i, f"{activity} {i}", round(rng.uniform(10, 50000), 2), f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}"]
        for i in range(rng.randint(3, 30))]
    if kind == "pdf":
        data = formats.pdf(title, lines)
    elif kind == "docx":
        data = formats.docx(title, lines)
    elif kind == "odt":
        data = formats.odt(title, lines)
    elif kind == "xlsx":
        data = formats.xlsx(activity, rows)
    elif kind == "ods":
        data = formats.ods(activity, rows)
    elif kind == "csv":
        data = formats.csv_text(rows)
    elif kind == "txt":
        data = "\n".join(lines).encode("utf-8")
    elif kind in ("jpg", "png", "tif"):
        data = formats.image({"jpg": "jpeg", "png": "png", "tif": "tiff"}[kind], rng.randint(1, 10**6),
                             size=(rng.randint(40, 160), rng.randint(30, 120)))
    elif kind == "eml":
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        att = ("piece-jointe.pdf", formats.pdf(title, lines[:2]), "application/pdf") if rng.random() < 0.4 else None
        data = formats.eml(title, "mairie@demo.invalid", f"{person} <contact@demo.invalid>", "\n".join(lines),
                           datetime.fromtimestamp(mtime, UTC), att)
    else:
        data = formats.zip_of({f"{stem}-{i}.txt": "\n".join(lines).encode() for i in range(3)})
    return _write(folder / f"{stem}.{kind}", data, mtime)


def generate_commune(root: Path, code: str, nom: str, scale: float, seed: int) -> Path:
    """Write one commune's share under ROOT/CODE; returns its path."""
    rng = random.Random(f"{seed}-{code}")
    share = root / code
    if share.exists():
        shutil.rmtree(share)
    share.mkdir(parents=True)
    produced: list[Path] = []
    for service, activities in SERVICES.items():
        for activity in activities:
            base = share / service / activity
            n_years = rng.randint(2, 6)
            for year in sorted(rng.sample(range(1998, 2026), n_years)):
                folder = base / str(year)
                for i in range(max(2, int(rng.randint(4, 14) * scale))):
                    stem = f"{activity.split()[0]}_{year}_{i + 1:03d}"
                    produced.append(_document(rng, folder, stem, service, activity, year, year))
    _plant_duplicates(rng, share, produced)
    _plant_dechets(rng, share, produced)
    _plant_oddities(rng, share)
    _plant_parapheur(share, code, nom, seed)
    return share


# The signed files of the demo (issue 17), under this service: their keys are made at each
# run, so their bytes are the only part of a share that differs from run to run.
PARAPHEUR = "Administration générale/Parapheur"


def _plant_parapheur(share: Path, code: str, nom: str, seed: int) -> None:
    from .parapheur import demo_pki, write_parapheur

    rng = random.Random(f"{seed}-{code}-parapheur")  # its own: the rest of the share stays as it was
    for path in sorted(write_parapheur(share / PARAPHEUR, code, demo_pki(code, nom))):
        mtime = _when(rng, 2024, 2025)
        os.utime(path, (mtime, mtime))


def _plant_duplicates(rng: random.Random, share: Path, produced: list[Path]) -> None:
    for src in rng.sample(produced, max(5, len(produced) // 12)):
        choice = rng.random()
        if choice < 0.35:
            dst = src.with_name(f"Copie de {src.name}")
        elif choice < 0.6:
            dst = src.with_name(f"{src.stem} (1){src.suffix}")
        else:
            # The same document filed again under another service.
            other = share / rng.choice(list(SERVICES)) / "Documents partagés"
            dst = other / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def _plant_dechets(rng: random.Random, share: Path, produced: list[Path]) -> None:
    for src in rng.sample(produced, max(3, len(produced) // 25)):
        mtime = src.stat().st_mtime
        junk = rng.choice(["owner", "lock", "tmp", "bak", "empty"])
        if junk == "owner":
            _write(src.with_name("~$" + src.name[2:]), b"\x0bGestionnaire" + bytes(150), mtime)
        elif junk == "lock":
            _write(src.with_name(f".~lock.{src.name}#"), b"Agent,poste-12,01.01.2020 10:00,", mtime)
        elif junk == "tmp":
            _write(src.with_name(f"~WRL{rng.randint(1000, 9999)}.tmp"), bytes(rng.randint(10, 900)), mtime)
        elif junk == "bak":
            _write(src.with_suffix(src.suffix + ".bak"), src.read_bytes(), mtime)
        else:
            _write(src.with_name(f"sans titre {rng.randint(1, 99)}.txt"), b"", mtime)
    for folder in sorted({p.parent for p in rng.sample(produced, 8)}):
        _write(folder / "Thumbs.db", bytes(rng.getrandbits(8) for _ in range(512)), _when(rng, 2005, 2015))
        _write(folder / "desktop.ini", b"[.ShellClassInfo]\r\nIconResource=C:\\Windows\\system32\\imageres.dll,-3\r\n",
               _when(rng, 2010, 2020))
    mac = share / "Communication" / "Photographies" / "Import reportage"
    _write(mac / ".DS_Store", bytes(64), _when(rng, 2016, 2019))
    _write(mac / "__MACOSX" / "._photo-001.jpg", b"\x00\x05\x16\x07" + bytes(80), _when(rng, 2016, 2019))
    for empty in ["Urbanisme/PLU/Révision 2030", "Ressources humaines/Formation/À classer/Vide"]:
        (share / empty).mkdir(parents=True, exist_ok=True)


def _plant_oddities(rng: random.Random, share: Path) -> None:
    # A deep branch, as users build them (« Dossier > Sous-dossier > … »).
    deep = share / "Marchés publics" / "Contrats" / "Archives"
    for level in range(12):
        deep = deep / f"Niveau {level + 1}"
    _write(deep / "Avenant n°3 signé.pdf", formats.pdf("Avenant n°3", ["Signé."]), _when(rng, 2003, 2006))
    odd = share / "Administration générale" / "Courrier" / "Divers"
    _write(odd / "<img src=x onerror=alert(1)>.txt", b"nom piege\n", _when(rng, 2020, 2021))
    _write(odd / "=HYPERLINK(\"http:__exemple.invalid\").csv", b"a;b\r\n1;2\r\n", _when(rng, 2020, 2021))
    _write(odd / "Lettre d'information de l'été.odt", formats.odt("Lettre", ["Été"]), _when(rng, 2019, 2019))


def generate(out: str | os.PathLike, seed: int = 2026) -> list[tuple[str, str, Path]]:
    """Generate every commune under OUT; returns (code, nom, share path)."""
    root = Path(out) / "partages"
    return [(code, nom, generate_commune(root, code, nom, scale, seed)) for code, nom, scale in COMMUNES]


if __name__ == "__main__":
    for code, nom, path in generate(sys.argv[1] if len(sys.argv) > 1 else "demo"):
        print(f"{code} {nom} : {path}")
