"""Déchets rules: read catalogue/rules/dechets.csv, checked, one row per pattern.

The matching itself is SQL (view `dechets` in sql/views.sql); this module only turns
the archivist-editable CSV into the `dechet_rules` table and rejects a malformed file
with a French message naming the line.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pyarrow as pa

from catalogue.errors import CatalogueError
from catalogue.rulefiles import rules_path

MATCH_TYPES = {"name_glob", "path_glob", "name_regex", "extension", "empty_file", "empty_dir", "redundant_copy"}
NEEDS_PATTERN = {"name_glob", "path_glob", "name_regex", "extension"}
APPLIES_TO = {"file", "directory", "symlink", "other", "any"}
CONFIDENCES = {"certain", "à vérifier"}
COLUMNS = ["rule_id", "libelle", "categorie", "applies_to", "match_type", "motifs", "confiance", "justification",
           "source"]


_TABLE_COLUMNS = ["rule_id", "rank", "libelle", "categorie", "applies_to", "match_type", "pattern", "confiance",
                  "justification", "source"]


def load_dechet_rules(path: Path | None = None) -> pa.Table:
    """The rules as an Arrow table shaped like `dechet_rules` (rank = line order)."""
    path = path or rules_path("dechets.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise CatalogueError(f"{path} : en-têtes attendus {', '.join(COLUMNS)}")
        rows: dict[str, list] = {k: [] for k in _TABLE_COLUMNS}
        for rank, rec in enumerate(reader, start=1):
            patterns = _patterns(rec)
            problems = _rule_problems(rec, patterns)
            if problems:
                raise CatalogueError(f"{path}, ligne {rank + 1} : " + " ; ".join(problems))
            _append_rule(rows, rank, rec, patterns)
    return pa.table(rows)


def _patterns(rec: dict[str, str]) -> list[str]:
    """The rule's patterns: its `motifs` cell split on « | », blanks dropped."""
    return [p.strip() for p in (rec["motifs"] or "").split(" | ") if p.strip()]


def _rule_problems(rec: dict[str, str], patterns: list[str]) -> list[str]:
    """Every problem of one CSV row, in French (empty: the row is valid)."""
    problems = []
    if rec["match_type"] not in MATCH_TYPES:
        problems.append(f"type de correspondance inconnu « {rec['match_type']} »")
    if rec["applies_to"] not in APPLIES_TO:
        problems.append(f"cible inconnue « {rec['applies_to']} »")
    if rec["confiance"] not in CONFIDENCES:
        problems.append(f"confiance « {rec['confiance']} » (attendu : certain ou à vérifier)")
    if not rec["source"].strip():
        problems.append("source manquante")
    return problems + _pattern_problems(rec["match_type"], patterns)


def _pattern_problems(match_type: str, patterns: list[str]) -> list[str]:
    """Missing or invalid patterns for MATCH_TYPE."""
    problems = []
    if match_type in NEEDS_PATTERN and not patterns:
        problems.append("motif manquant")
    if match_type == "name_regex":
        problems += [f"expression régulière invalide « {p} »" for p in patterns if not _valid_regex(p)]
    if match_type in ("name_glob", "path_glob"):
        problems += [f"motif invalide « {p} »" for p in patterns if not _valid_regex(glob_regex(p.lower()))]
    return problems


def _append_rule(rows: dict[str, list], rank: int, rec: dict[str, str], patterns: list[str]) -> None:
    """One table row per pattern of REC (one with a NULL pattern when it has none)."""
    cells: list[str | None] = [*patterns] or [None]
    for pattern in cells:
        values = {**rec, "rank": rank, "pattern": pattern}
        for column in _TABLE_COLUMNS:
            rows[column].append(values[column])


@functools.cache
def _scratch_db():
    import duckdb

    return duckdb.connect()


@functools.cache
def _valid_regex(pattern: str) -> bool:
    """Whether DuckDB's regular expressions (RE2) accept PATTERN: the view would otherwise
    fail with an English error naming no line of the file. Cached: rules load at every
    opening of the catalogue."""
    import duckdb

    try:
        _scratch_db().execute("SELECT regexp_matches('', ?)", [pattern])
    except duckdb.Error:
        return False
    return True


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pattern_case_sql(rules: list[dict], prefilter: bool = True) -> str:
    """A CASE expression giving, per entry `f`, the first pattern rule that matches.

    Patterns are inlined as constants so DuckDB compiles each glob or regex once,
    instead of once per row as a join on the rules table would. Most entries match no
    rule: a cheaper test that every match passes (`_prefilter_sql`) comes first.
    """
    # f.spath = '/' || path, computed once per row by the view. Globs are searched
    # (regexp_matches), anchored where they do not start or end with `*`, and compared
    # ignoring case (Unicode case folding, `(?i)`) rather than against lower(name) and
    # lower(path): at 10M entries every function applied to every row counts, and lower()
    # of the long paths cost more than all the patterns.
    conditions = {
        "name_glob": "regexp_matches(f.name, {p})",
        "path_glob": "regexp_matches(f.spath, {p})",
        "name_regex": "regexp_matches(f.name, {p})",
        "extension": "f.extension = {p}",
    }
    whens = []
    for rule in sorted(rules, key=lambda r: r["rank"]):
        template = conditions.get(rule["match_type"])
        if template is None:
            continue
        kind = "" if rule["applies_to"] == "any" else f"f.kind = {_literal(rule['applies_to'])} AND "
        whens.append(f"WHEN {kind}{template.format(p=_literal(_pattern(rule)))} THEN {_literal(rule['rule_id'])}")
    if not whens:
        return "NULL"
    case = f"CASE {' '.join(whens)} END"
    return f"CASE WHEN {_prefilter_sql(rules)} THEN {case} END" if prefilter else case


def _pattern(rule: dict) -> str:
    """The SQL constant of a rule: a regex as written, a glob as its RE2 search, case
    ignored."""
    if rule["match_type"] == "name_regex":
        return rule["pattern"]
    if rule["match_type"] in ("name_glob", "path_glob"):
        return "(?i)" + glob_search(rule["pattern"].lower())
    return rule["pattern"].lower()


def _prefilter_sql(rules: list[dict]) -> str:
    """A condition true for every entry some pattern rule matches (it may be true for
    others): per column, one regular expression for all its patterns (name globs and name
    regexes together), which RE2 runs in one pass, where the CASE would try each pattern in
    turn. Each call costs about as much as the scan of its column (10M entries)."""
    by_column: dict[str, list[str]] = {}
    extensions = []
    for rule in rules:
        if rule["match_type"] == "extension":
            extensions.append(_pattern(rule))
        elif rule["match_type"] in NEEDS_PATTERN:
            column = "f.spath" if rule["match_type"] == "path_glob" else "f.name"
            by_column.setdefault(column, []).append(_pattern(rule))
    # Flags set inside a group, like a rule's own (?i), end with it.
    tests = [f"f.extension IN ({', '.join(_literal(p) for p in extensions)})"] if extensions else []
    tests += [f"regexp_matches({column}, {_literal('|'.join(f'(?:{p})' for p in patterns))})"
              for column, patterns in by_column.items()]
    return "(" + " OR ".join(tests) + ")" if tests else "false"


def glob_search(glob: str) -> str:
    """The RE2 expression that a search (`regexp_matches`) finds in a text exactly when
    GLOB matches the whole text: `glob_regex` with `\\A` and `\\z` anchors, where a leading
    or trailing `*` (`.*`, any text under `(?s)`) leaves that end free instead."""
    # Literals come out as \x{..} or letters and digits, classes as [...]: a `.*` at either
    # end can only be a `*` of the glob.
    body = glob_regex(glob).removeprefix("(?s)")
    free_end = body.endswith(".*")
    body = body[2:] if body.startswith(".*") else "\\A" + body
    if not free_end:
        body += "\\z"
    elif body.endswith(".*"):  # not the leading one just removed ("*" alone)
        body = body[:-2]
    return "(?s)" + body


def glob_regex(glob: str) -> str:
    """The RE2 expression (for a full match) of a déchets glob, with semantics of our own
    rather than DuckDB's GLOB, whose `?` matched one byte in 1.x and one character in 2.x:
    `*` any sequence (`/` and newlines included), `?` exactly one character (a Unicode
    code point: « caf?.txt » matches « café.txt »), `[abc]`, `[a-z]`, `[!a]` or `[^a]`
    one character of (or not of) a set, `\\x` the character x itself. Every literal is
    written as its code point, so nothing else is special."""
    out = ["(?s)"]  # a name may hold a newline, which * and ? match
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < len(glob):
            i += 1
            out.append(_code(glob[i]))
        elif c == "[" and (end := _class_end(glob, i)) > 0:
            out.append(_class_regex(glob[i + 1:end]))
            i = end
        else:
            out.append(_code(c))
        i += 1
    return "".join(out)


def _code(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):X}}}"


def _class_end(glob: str, start: int) -> int:
    """Index of the `]` closing the class opened at START, or -1 (then `[` is literal).
    A `]` right after `[` or `[!` belongs to the set, as in fnmatch."""
    i = start + 1
    if i < len(glob) and glob[i] in "!^":
        i += 1
    if i < len(glob) and glob[i] == "]":
        i += 1
    end = glob.find("]", i)
    return end


def _class_regex(body: str) -> str:
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    parts, i = [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            parts.append(f"{_code_in_class(body[i])}-{_code_in_class(body[i + 2])}")
            i += 3
        else:
            parts.append(_code_in_class(body[i]))
            i += 1
    return ("[^" if negate else "[") + "".join(parts) + "]"


def _code_in_class(char: str) -> str:
    return f"\\x{{{ord(char):X}}}"
