"""A référent filling the demo grid: plausible, deterministic answers written with
openpyxl into an exported workbook, as someone would in Excel.

Most datasets are qualified, a few are left for later (qualification in progress),
and one row is added for data no scan saw (the état civil application).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

from openpyxl import load_workbook

from grids.spec import HEADER_INDEX, SHEET_GRID, header_key

# Demo folder (activity) → typology code of catalogue/rules/referentiel.csv.
ACTIVITY_TYPOLOGY = {
    "Délibérations": "ADM-DELIB", "Arrêtés du maire": "ADM-ARR", "Courrier": "ADM-COUR",
    "Actes de naissance": "EC-REG", "Mariages": "EC-REG", "Décès": "EC-REG",
    "Listes électorales": "ELEC-LIST", "Procès-verbaux": "ELEC-PV",
    "Permis de construire": "URB-AUT", "Déclarations préalables": "URB-AUT", "PLU": "URB-PLU",
    "Consultations": "MP-CONSULT", "Contrats": "MP-MARCHE",
    "Dossiers agents": "RH-DOSS", "Paie": "RH-PAIE", "Formation": "RH-FORM",
    "Budgets": "FIN-BUDG", "Mandats et titres": "FIN-PJ", "Subventions": "FIN-SUBV",
    "Inscriptions": "SCO-INSC", "Cantine": "SCO-REST",
    "Photographies": "COM-PHOTO", "Bulletin municipal": "COM-BULL",
    "Mains courantes": "POL-MC", "Arrêtés de circulation": "POL-CIRC",
    "Parapheur": "ADM-ARR",  # the maire's signed arrêtés (data/sample/parapheur.py)
}
PERSONAL = {"EC-REG": "Oui", "RH-DOSS": "Oui, sensibles", "RH-PAIE": "Oui, sensibles", "ELEC-LIST": "Oui",
            "SCO-INSC": "Oui", "SCO-REST": "Oui", "POL-MC": "Oui, sensibles", "URB-AUT": "Oui"}
SIGNED = {"ADM-DELIB", "ADM-ARR", "FIN-PJ", "MP-MARCHE", "POL-CIRC"}
APPLICATIONS = {"FIN-PJ": "Berger-Levrault e.magnus", "FIN-BUDG": "Berger-Levrault e.magnus",
                "RH-PAIE": "Logiciel de paie", "URB-AUT": "Cart@DS", "ADM-DELIB": "iParapheur"}
REFERENTS = ["Claire Morel, secrétaire de mairie", "Karim Benali, agent d'accueil", "Anne Roux, DGS"]


def _rng(commune: str, key: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{commune}|{key}".encode()).hexdigest()[:12], 16))


def fill_grid(src: str | Path, dest: str | Path, labels: dict[str, str], *, skip_share: float = 0.15) -> int:
    """Fill the grid `src` into `dest`; `labels` maps typology code → label. Returns rows filled."""
    wb = load_workbook(src)
    ws = wb[SHEET_GRID]
    col = {HEADER_INDEX[header_key(c.value)].key: c.column for c in ws[1] if c.value}
    commune = str(wb["_catalogage"]["B3"].value)
    filled = 0
    last = 1
    for row in range(2, ws.max_row + 1):
        dataset_id = ws.cell(row, col["dataset_id"]).value
        if not dataset_id:
            break
        last = row
        emplacement = str(ws.cell(row, col["emplacement"]).value or "")
        parts = emplacement.rstrip("/").split("/")
        service, activity = (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")
        rng = _rng(commune, dataset_id)
        if rng.random() < skip_share and activity != "Parapheur":
            continue  # left for a later round (the signed parapheur is always qualified: the SIP test reads it)
        if str(dataset_id).startswith("APP-"):
            answers = _application_answers(rng, emplacement, labels)
        else:
            code = ACTIVITY_TYPOLOGY.get(activity)
            if code is None and activity != "Documents partagés":
                continue
            answers = _answers(rng, commune, service, activity, code, labels)
        for key, value in answers.items():
            ws.cell(row, col[key]).value = value
        filled += 1
    # One dataset no scan saw: the état civil application's database.
    added = last + 1
    rng = _rng(commune, "ajout")
    extra = {
        "emplacement": "Application d'état civil (base de données)", "service": "État civil",
        "typologie": labels["EC-REG"], "activite": "Tenue des registres d'état civil",
        "environnement": "Application métier", "application": "Logiciel d'état civil",
        "hebergement": "Cloud / SaaS", "valeur_juridique": "Forte", "valeur_strategique": "Moyenne",
        "valeur_patrimoniale": "Forte", "signature": "Oui", "donnees_personnelles": "Oui",
        "priorite": "Haute", "volume_annuel_go": round(rng.uniform(0.2, 2.0), 1),
        "volume_stock_go": 0.8,
        "rempli_par": REFERENTS[0], "date_saisie": dt.date(2026, 11, 20),
    }
    for key, value in extra.items():
        ws.cell(added, col[key]).value = value
    wb.save(dest)
    return filled + 1


def _answers(rng: random.Random, commune: str, service: str, activity: str, code: str | None,
             labels: dict[str, str]) -> dict:
    answers = {"service": service, "activite": activity, "rempli_par": rng.choice(REFERENTS),
               "date_saisie": dt.date(2026, 11, rng.randint(2, 20))}
    if code is None:
        answers.update(typologie="Autre", typologie_autre="Documents de travail partagés entre services",
                       valeur_juridique="Faible", valeur_strategique="Faible", valeur_patrimoniale="Aucune",
                       dua_annees=2, dua_depart="date du document", sort_final="Destruction")
    else:
        answers["typologie"] = labels[code]
        strong = code.split("-")[0] in {"ADM", "EC", "ELEC", "URB", "FIN"}
        answers["valeur_juridique"] = "Forte" if strong or code in SIGNED else rng.choice(["Moyenne", "Faible"])
        answers["valeur_strategique"] = rng.choice(["Forte", "Moyenne", "Faible"])
        answers["valeur_patrimoniale"] = ("Forte" if code in {"ADM-DELIB", "EC-REG", "URB-PLU", "COM-PHOTO", "COM-BULL"}
                                          else rng.choice(["Moyenne", "Faible", "Aucune"]))
    answers["signature"] = "Oui" if code in SIGNED else rng.choice(["Non", "Non", "Ne sait pas"])
    answers["donnees_personnelles"] = PERSONAL.get(code or "", "Non")
    if code in APPLICATIONS:
        answers.update(environnement="Application métier", application=APPLICATIONS[code])
    else:
        answers["environnement"] = "Bureautique"
    answers["hebergement"] = "Poste de travail" if rng.random() < 0.1 else "Serveur de fichiers"
    answers["priorite"] = rng.choice(["Haute", "Moyenne", "Basse"])
    if rng.random() < 0.2:
        answers["commentaire"] = "Dossiers papier correspondants aux archives de la mairie."
    return answers


def _application_answers(rng: random.Random, emplacement: str, labels: dict[str, str]) -> dict:
    """The finance database and the town hall's mailbox, as the demo scans them."""
    common = {"rempli_par": REFERENTS[2], "date_saisie": dt.date(2026, 11, rng.randint(2, 20)),
              "valeur_strategique": "Moyenne", "priorite": "Moyenne"}
    if "Messagerie" in emplacement:
        return common | {"service": "Secrétariat général", "typologie": labels["ADM-COUR"],
                         "activite": "Correspondance de la mairie", "environnement": "Messagerie",
                         "hebergement": "Messagerie", "valeur_juridique": "Moyenne", "valeur_patrimoniale": "Moyenne",
                         "signature": "Non", "donnees_personnelles": "Oui"}
    return common | {"service": "Finances", "typologie": labels["FIN-PJ"], "activite": "Exécution budgétaire",
                     "environnement": "Application métier", "application": "Gestion financière",
                     "hebergement": "Application métier", "valeur_juridique": "Forte", "valeur_patrimoniale": "Faible",
                     "signature": "Oui", "donnees_personnelles": "Non"}
