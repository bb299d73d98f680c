"""Render the reports: Jinja2 (autoescaped) → self-contained HTML, WeasyPrint → PDF,
with CSV and XLSX annexes, charts drawn from the context's data.

Templates are package data, layered as datasette does: a user folder (`--modeles`) comes
first, so a template of the same name replaces the built-in one, and any built-in template
stays reachable as « builtin:NAME » so that the replacement can extend it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from catalogue import __version__, csvsafe
from catalogue.errors import CatalogueError
from catalogue.formatting import (
    commune_title,
    date_range,
    french_bytes,
    french_date,
    french_int,
    french_number,
    french_years,
    plural,
    year_range,
)
from catalogue.store import connect
from reports import charts
from reports.audit import DUPLICATE_ANNEX_COLUMNS, MISMATCH_ANNEX_COLUMNS, duplicate_annex_rows, mismatch_annex_rows
from reports.bordereau import dataset_dates, write_bordereau
from reports.context import DATASET_ANNEX_COLUMNS, commune_context, dataset_annex_rows, territory_context
from reports.numbers import energy, factor, mass_co2
from reports.projection import write_projection_csv, write_projection_xlsx
from reports.safetext import visible_controls
from reports.signatures import SIGNATURE_ANNEX_COLUMNS, signature_annex_rows
from reports.waste import DECHET_ANNEX_COLUMNS, dechet_annex_rows


@dataclass
class ReportFiles:
    label: str
    files: list[Path] = field(default_factory=list)


BUILTIN = "builtin"  # prefix naming a built-in template: {% extends "builtin:rapport_commune.html" %}


def builtin_templates() -> Path:
    """The built-in templates' folder: `reports/templates` in an installed wheel (package
    data, pyproject.toml maps it to the repository's `templates/`), that folder itself in
    a source checkout."""
    packaged = resources.files("reports") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


def environment(user_templates: str | Path | None = None) -> Environment:
    builtin = FileSystemLoader(str(builtin_templates()))
    loaders: list[BaseLoader] = [FileSystemLoader(str(user_templates))] if user_templates else []
    loaders += [builtin, PrefixLoader({BUILTIN: builtin}, delimiter=":")]
    # finalize: every value a template prints shows bidi controls instead of obeying them.
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "css"]),
                      trim_blocks=True, lstrip_blocks=True, finalize=visible_controls)
    env.filters.update(fr_int=french_int, fr_bytes=french_bytes, fr_date=french_date,
                       fr_num=lambda x, d=1: french_number(x, d), fr_years=french_years, plural=plural,
                       fr_factor=factor, fr_co2=mass_co2, fr_energy=energy,
                       year_range=lambda first, last: year_range(first, last),
                       date_range=lambda first, last: date_range(first, last),
                       commune_title=lambda nom, code: commune_title(nom, code))
    env.globals["version"] = __version__
    return env


def render_html(env: Environment, template: str, ctx: dict) -> str:
    """The page as HTML; a template that cannot be read or rendered is one French line."""
    # Templates get the charts drawn (SVG); their data stays at hand as chart_data.
    page = {**ctx, "charts": charts.draw_all(ctx["charts"]), "chart_data": ctx["charts"]}
    try:
        return env.get_template(template).render(page)
    except TemplateSyntaxError as exc:
        raise CatalogueError(f"Modèle {exc.filename or exc.name}, ligne {exc.lineno} : {exc.message}") from None
    except TemplateNotFound as exc:
        raise CatalogueError(f"Modèle introuvable : {exc.name} (modèles fournis : « {BUILTIN}:NOM »).") from None
    except TemplateError as exc:
        raise CatalogueError(f"Modèle {template} : {exc.message}") from None
    except RecursionError:
        raise CatalogueError(f"Modèle {template} : il s'étend lui-même ; pour étendre le modèle fourni, "
                             f"écrivez {{% extends \"{BUILTIN}:{template}\" %}}.") from None


def _write_html_pdf(env: Environment, template: str, ctx: dict, stem: Path, pdf: bool) -> list[Path]:
    html = render_html(env, template, ctx)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(".html")]
    out[0].write_text(html, encoding="utf-8")
    if pdf:
        from weasyprint import HTML

        HTML(string=html, base_url=str(stem.parent)).write_pdf(stem.with_suffix(".pdf"))
        out.append(stem.with_suffix(".pdf"))
    return out


def _roadmap_csv(path: Path, roadmap) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens it in UTF-8
        w = csvsafe.writer(fh, delimiter=";")
        w.writerow(["identifiant", "emplacement", "volume_octets", "typologie", "dua_annees", "sort_final", "action",
                    "annee_cible", "score", "raisons", "commande_sip", "stock_declare_octets",
                    "flux_declare_octets_par_an"])
        for e in roadmap:
            a = e.facts.answers or {}
            w.writerow([e.facts.dataset_id, e.facts.emplacement, e.facts.bytes, a.get("typologie"),
                        a.get("dua_annees"), a.get("sort_final"), e.label, e.target_year, e.score,
                        " ; ".join(e.reasons), e.sip_command, e.facts.declared_stock, e.facts.declared_flow])
    return path


def _annex_csv(path: Path, columns: list[str], found) -> Path:
    """A full list the report's table stops short of (TABLE_ROWS), streamed from the catalogue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens it in UTF-8
        w = csvsafe.writer(fh, delimiter=";")
        w.writerow(columns)
        w.writerows(found)
    return path


def report_commune(db: str | None, commune: str, out_dir: str | Path, *, pdf: bool = True,
                   templates: str | Path | None = None, this_year: int | None = None) -> ReportFiles:
    con = connect(db, read_only=True)
    try:
        if not con.execute("SELECT 1 FROM communes WHERE code = ?", [commune]).fetchone():
            known = ", ".join(r[0] for r in con.execute("SELECT code FROM communes ORDER BY code").fetchall())
            raise CatalogueError(f"Commune {commune} absente du catalogue (communes connues : {known or 'aucune'}).")
        ctx = commune_context(con, commune, this_year)
        out = Path(out_dir)
        annexes = [_annex_csv(out / f"{stem}-{commune}.csv", columns, found(con, commune))
                   for stem, columns, found in (
                       ("jeux-de-donnees", DATASET_ANNEX_COLUMNS, dataset_annex_rows),
                       ("signatures", SIGNATURE_ANNEX_COLUMNS, signature_annex_rows),
                       ("doublons", DUPLICATE_ANNEX_COLUMNS, duplicate_annex_rows),
                       ("dechets", DECHET_ANNEX_COLUMNS, dechet_annex_rows),
                       ("extensions-trompeuses", MISMATCH_ANNEX_COLUMNS, mismatch_annex_rows))]
        dates = dataset_dates(con, commune)
    finally:
        con.close()
    files = _write_html_pdf(environment(templates), "rapport_commune.html", ctx, out / f"rapport-{commune}", pdf)
    files += annexes
    files.append(_roadmap_csv(out / f"feuille-de-route-{commune}.csv", ctx["annexes"]["roadmap"]))
    files.append(write_bordereau(out / f"bordereau-elimination-{commune}.xlsx", ctx, dates))
    return ReportFiles(ctx["commune"]["titre"], files)


def report_territory(db: str | None, out_dir: str | Path, *, pdf: bool = True,
                     templates: str | Path | None = None, this_year: int | None = None,
                     tenants_file: str | Path | None = None, costs_file: str | Path | None = None) -> ReportFiles:
    """The territorial synthesis; TENANTS_FILE and COSTS_FILE feed its cost projection
    (reports/projection.py) and are checked before any file is written."""
    con = connect(db, read_only=True)
    try:
        ctx = territory_context(con, this_year, Path(tenants_file) if tenants_file else None,
                                Path(costs_file) if costs_file else None)
    finally:
        con.close()
    out = Path(out_dir)
    files = _write_html_pdf(environment(templates), "synthese.html", ctx, out / "synthese-territoriale", pdf)
    path = out / "synthese-territoriale.csv"
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csvsafe.writer(fh, delimiter=";")
        w.writerow(["commune", "nom", "fichiers", "volume_octets", "croissance_annuelle_octets", "doublons_octets",
                    "dechets_octets", "jeux_de_donnees", "jeux_qualifies", "a_verser_octets", "fichiers_signes",
                    "volume_signe_octets", "certificats_expirant_12_mois", "signatures_detachees_orphelines",
                    "a_verser_stock_mesure_octets", "a_verser_bases_messageries_octets",
                    "a_verser_stock_declare_octets", "a_verser_flux_declare_octets", "flux_declare_annuel_octets",
                    "certificats_expires"])
        for c in ctx["communes"]:
            f, q = c["figures"], c["qualification"]
            w.writerow([c["code"], c["nom"], f["files"], f["bytes"], c["flow"], f["duplicate_bytes"],
                        f["dechet_bytes"], q["datasets"], q["qualified"], c["verser_octets"],
                        c["signatures"]["files"], c["signatures"]["bytes"], c["signatures"]["expiring"],
                        c["signatures"]["orphans"], c["verser"].measured, c["verser"].applications,
                        c["verser"].declared_stock, c["verser"].declared_flow, c["declared_flow"],
                        c["signatures"]["expired"]])
    files.append(path)
    files.append(write_projection_csv(out / "projection-couts.csv", ctx["projection"]))
    files.append(write_projection_xlsx(out / "projection-couts.xlsx", ctx["projection"]))
    return ReportFiles("Synthèse territoriale", files)
