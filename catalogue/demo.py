"""`catalogue demo`: generate the demo territory and run the pipeline on it:
scan each commune's share, finance database and mailbox, export its grid, fill it as a référent would, import it, and
write every report (per commune and for the territory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from catalogue.errors import CatalogueError
from catalogue.scan import ScanSummary, run_scan


@dataclass
class DemoResult:
    db: Path
    scans: list[ScanSummary] = field(default_factory=list)
    grids: list[Path] = field(default_factory=list)
    filled: list[Path] = field(default_factory=list)
    reports: list = field(default_factory=list)
    applications: list = field(default_factory=list)
    sips: list[Path] = field(default_factory=list)
    sip_check: str = ""  # how the SIPs were checked against the SEDA schema, in French


def run_demo(out: str, *, quiet: bool = False, pdf: bool = True, seda_xsd: Path | None = None) -> DemoResult:
    from catalogue.sample.fill_grid import fill_grid
    from catalogue.sample.generate import generate
    from grids.export import export_grid
    from grids.importer import import_grids

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "catalogue.duckdb"
    if db.exists():
        db.unlink()  # the demo catalogue is ours to rebuild, never a user's
    result = DemoResult(db=db)
    communes = generate(out_dir)
    for code, nom, share in communes:
        result.scans.append(run_scan(str(share), code, nom=nom, db=str(db), quiet=quiet))

    # Each commune's business application and mailbox, outside the file share.
    from catalogue.appscans import scan_db, scan_mailbox
    from catalogue.sample.applications import make_finance_db, make_mailbox

    for k, (code, _nom, _) in enumerate(communes):
        apps = out_dir / "applications" / code
        finance = make_finance_db(apps / "gestion-financiere.db", seed=100 + k)
        result.applications.append(scan_db(f"sqlite:///{finance.resolve()}", code, "Gestion financière", db=str(db)))
        mails = make_mailbox(apps / "messagerie", seed=200 + k)
        result.applications.append(scan_mailbox(str(mails), code, "Messagerie de la mairie", db=str(db)))

    from catalogue.store import connect

    con = connect(db)
    labels = dict(con.execute("SELECT code, typologie FROM referentiel").fetchall())
    con.close()
    grids_dir = out_dir / "grilles"
    for code, _, _ in communes:
        exported = export_grid(str(db), code, grids_dir / f"grille-{code}.xlsx").path
        filled = grids_dir / f"grille-{code}-remplie.xlsx"
        fill_grid(exported, filled, labels)
        result.grids.append(exported)
        result.filled.append(filled)
    import_grids(str(db), [str(p) for p in result.filled])

    from reports.render import report_commune, report_territory

    reports_dir = out_dir / "rapports"
    for code, _, _ in communes:
        result.reports.append(report_commune(str(db), code, reports_dir / code, pdf=pdf))
    result.reports.append(report_territory(str(db), reports_dir, pdf=pdf))
    _first_year_sips(result, communes[0][0], out_dir / "sip" / communes[0][0], seda_xsd, quiet)
    return result


def _first_year_sips(result: DemoResult, commune: str, out_dir: Path, seda_xsd: Path | None, quiet: bool) -> None:
    """The SEDA packages of the datasets one commune transfers this year, checked against
    the SEDA XSD when its folder is given (the project's ../shared/seda in `make demo`)."""
    import datetime as dt

    from catalogue.roadmap import build_roadmap
    from catalogue.sae.package import SipOptions, build_sips
    from catalogue.sae.validate import sip_errors
    from catalogue.store import connect

    year = dt.date.today().year
    con = connect(result.db, read_only=True)
    try:
        ids = [e.facts.dataset_id for e in build_roadmap(con, commune, year)
               if e.sip_command and e.target_year == year]
    finally:
        con.close()
    options = SipOptions(contract="CONTRAT-DEMO", out_dir=out_dir, replace=True, quiet=quiet)
    result.sips = [part.path for r in build_sips(str(result.db), ids, options) for part in r.parts]
    if seda_xsd is None:
        result.sip_check = "non vérifiés (aucun dossier de schémas SEDA donné : --schemas-seda)"
        return
    for sip in result.sips:
        errors = sip_errors(sip, seda_xsd, options.seda)
        if errors:
            raise CatalogueError(f"{sip} ne respecte pas le schéma SEDA {options.seda} : {errors[0]}")
    result.sip_check = f"valides selon le schéma SEDA {options.seda} ({seda_xsd})"
