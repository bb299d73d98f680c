-- Views over the catalogue. Recreated at every open: they hold no data.
-- Every view reads the latest *complete* scan per (commune, source, root); older and
-- interrupted scans stay in `scans`/`files` as history.

CREATE OR REPLACE VIEW latest_scans AS
SELECT max(scan_id) AS scan_id, commune, source, root
FROM scans
WHERE status = 'complete'
GROUP BY commune, source, root;

CREATE OR REPLACE VIEW files_current AS
SELECT f.*, s.root, s.source, s.dataset_depth
FROM files f
JOIN latest_scans l USING (scan_id)
JOIN scans s USING (scan_id);

-- Per directory (root = ''), recursive totals of the regular files below it.
CREATE OR REPLACE VIEW volumes AS
-- Files are first summed per parent folder, then each folder's sums are spread over its
-- ancestors: the unnest runs once per folder, not once per file.
WITH per_parent AS (
    SELECT scan_id, commune, root, parent, depth - 1 AS parent_depth,
           count(*) AS files, sum(size) AS bytes, sum(allocated) AS allocated_bytes,
           min(mtime) AS first_mtime, max(mtime) AS last_mtime
    FROM files_current
    WHERE kind = 'file'
    GROUP BY scan_id, commune, root, parent, depth
), a AS (
    SELECT p.*, k, array_to_string(string_split(parent, '/')[1:k], '/') AS directory
    FROM per_parent p, unnest(range(0, parent_depth + 1)) AS t(k)
)
SELECT scan_id, commune, root, directory, k AS depth,
       CAST(sum(files) AS BIGINT) AS files, sum(bytes) AS bytes, sum(allocated_bytes) AS allocated_bytes,
       min(first_mtime) AS first_mtime, max(last_mtime) AS last_mtime
FROM a
GROUP BY scan_id, commune, root, directory, k;

-- Per commune and PRONOM identifier, over non-empty regular files (empty files are déchets).
CREATE OR REPLACE VIEW formats AS
SELECT commune,
       coalesce(puid, 'UNKNOWN') AS puid,
       max(format_name) AS format_name,
       max(format_version) AS format_version,
       coalesce(max(mime), max(magic_mime)) AS mime,
       count(*) AS files,
       sum(size) AS bytes,
       count(*) FILTER (WHERE ext_mismatch) AS extension_mismatches,
       -- Files carrying an electronic signature: never a risky format, whatever their puid.
       coalesce(sum(size) FILTER (WHERE sig_kind IS NOT NULL), 0) AS signature_bytes
FROM files_current
WHERE kind = 'file' AND error IS NULL AND size > 0
GROUP BY commune, coalesce(puid, 'UNKNOWN');

-- Members of duplicate groups: same size and same full xxh3-128, distinct inodes.
-- Hard links to one inode are one copy; empty files are never duplicates.
CREATE OR REPLACE VIEW duplicate_files AS
-- Not materialized (nor `copies` in `dechets`): each use reads its own columns of `files`.
-- Materialized, the candidates' rows were copied first (10M entries: 162 MB at once).
WITH candidates AS NOT MATERIALIZED (
    SELECT * FROM files_current
    WHERE kind = 'file' AND hash IS NOT NULL AND size > 0 AND error IS NULL
), groups AS (
    SELECT commune, hash, size
    FROM candidates
    GROUP BY commune, hash, size
    HAVING count(DISTINCT (device, inode)) > 1
)
SELECT c.commune, c.hash, c.size, c.scan_id, c.file_id, c.path, c.name, c.mtime,
       c.device, c.inode,
       -- The copy kept is the oldest one (then shortest path): the others are redundant.
       first_value((c.device, c.inode)) OVER (
           PARTITION BY c.commune, c.hash, c.size ORDER BY c.mtime, length(c.path), c.path
       ) <> (c.device, c.inode) AS redundant
FROM candidates c
JOIN groups g USING (commune, hash, size);

CREATE OR REPLACE VIEW duplicates AS
SELECT commune, hash, size,
       count(DISTINCT (device, inode)) AS copies,
       count(*) AS entries,
       (count(DISTINCT (device, inode)) - 1) * size AS wasted_bytes,
       min(path) AS example_path
FROM duplicate_files
GROUP BY commune, hash, size;

-- Déchets found in a scan's own entries: pattern rules (name_glob, path_glob, name_regex,
-- extension) and empty rules (empty_file, empty_dir). They depend only on that scan and on
-- the rules, so catalogue.store.refresh_dechet_hits stores them in `dechet_hits` once per
-- scan and rules version; these views evaluate them live for the latest scans whose hits
-- are not stored under the current rules (fingerprint inlined by catalogue.store).
CREATE OR REPLACE VIEW dechet_live_scans AS
SELECT scan_id FROM latest_scans
WHERE scan_id NOT IN (SELECT scan_id FROM dechet_hit_scans WHERE fingerprint = '{{dechet_fingerprint}}');

-- <dechet-own-hits> (the fingerprint covers this statement: a change here recomputes the hits)
-- Each entry's best (lowest rank) pattern or empty rule, for the scans of dechet_live_scans.
CREATE OR REPLACE VIEW dechet_own_hits AS
-- Not materialized: each use reads only its own columns of `files`. Materialized, the
-- entries' paths and names were copied first (1M files: 109 MB at once, 1.1 s against 0.3 s).
WITH entries AS NOT MATERIALIZED (
    SELECT commune, scan_id, file_id, path, name, kind, size, mtime, extension, error, parent, depth
    FROM files
    WHERE scan_id IN (SELECT scan_id FROM dechet_live_scans)
), pattern_hits AS (
    -- The CASE below is generated from dechet_rules (catalogue/dechets.py), patterns inlined.
    SELECT h.commune, h.scan_id, h.file_id, h.path, h.name, h.kind, h.size, h.mtime, h.rule_id, r.rank
    FROM (SELECT f.commune, f.scan_id, f.file_id, f.path, f.name, f.kind, f.size, f.mtime,
                 {{pattern_rules}} AS rule_id
          FROM (SELECT commune, scan_id, file_id, path, name, kind, size, mtime, extension,
                       '/' || path AS spath
                FROM entries) f) h
    JOIN (SELECT DISTINCT rule_id, rank FROM dechet_rules) r USING (rule_id)
), nonempty_dirs AS (
    -- Every ancestor of a folder holding something other than folders (computed per
    -- distinct parent, not per file).
    SELECT DISTINCT scan_id, array_to_string(string_split(parent, '/')[1:k], '/') AS path
    FROM (SELECT DISTINCT scan_id, parent, depth FROM entries WHERE kind <> 'directory' AND depth > 1),
         unnest(range(1, depth)) AS t(k)
), empty_hits AS (
    SELECT f.commune, f.scan_id, f.file_id, f.path, f.name, f.kind, f.size, f.mtime, r.rule_id, r.rank
    FROM entries f
    JOIN dechet_rules r ON r.match_type = 'empty_file'
    WHERE f.kind = 'file' AND f.size = 0 AND f.error IS NULL
    UNION ALL
    SELECT f.commune, f.scan_id, f.file_id, f.path, f.name, f.kind, f.size, f.mtime, r.rule_id, r.rank
    FROM entries f
    -- An explicit anti join: as NOT EXISTS, DuckDB moved the prefix computation into a
    -- join condition, evaluated per pair (a tree 1,000 levels deep ran out of memory).
    ANTI JOIN nonempty_dirs n ON n.scan_id = f.scan_id AND n.path = f.path
    JOIN dechet_rules r ON r.match_type = 'empty_dir'
    WHERE f.kind = 'directory' AND f.error IS NULL
)
-- An entry's columns are the same in each of its hits.
SELECT commune, scan_id, file_id, any_value(path) AS path, any_value(name) AS name,
       any_value(kind) AS kind, any_value(size) AS size, any_value(mtime) AS mtime,
       arg_min(rule_id, rank) AS rule_id, min(rank) AS rank
FROM (SELECT * FROM pattern_hits UNION ALL SELECT * FROM empty_hits)
GROUP BY commune, scan_id, file_id;
-- </dechet-own-hits>

-- Déchets: every entry matched by a rule of catalogue/rules/dechets.csv; when several
-- rules match, the one with the lowest rank wins so that volumes are never counted twice.
-- Each kind of hit carries the columns the view shows: joining the winners back to
-- files_current made DuckDB hash all 10M entries, paths included (most of the view's time).
CREATE OR REPLACE VIEW dechets AS
WITH own_hits AS (
    -- Stored where they are current (latest scan, current rules), live elsewhere.
    SELECT commune, scan_id, file_id, path, name, kind, size, mtime, rule_id, rank
    FROM dechet_hits
    WHERE scan_id IN (SELECT scan_id FROM latest_scans)
      AND scan_id IN (SELECT scan_id FROM dechet_hit_scans WHERE fingerprint = '{{dechet_fingerprint}}')
    UNION ALL
    SELECT * FROM dechet_own_hits
), copies AS NOT MATERIALIZED (
    -- Redundant copies stay live: they depend on the other scans of the commune.
    SELECT commune, scan_id, file_id, path, name, kind, size, mtime, hash, device, inode FROM files_current
    WHERE kind = 'file' AND hash IS NOT NULL AND size > 0 AND error IS NULL
), kept AS (
    -- The copy `duplicate_files` keeps (oldest, then shortest path), by one aggregate per
    -- group rather than its window's sort of every copy (10M entries: 1M copies).
    SELECT commune, hash, size, arg_min((device, inode), (mtime, length(path), path)) AS kept
    FROM copies
    GROUP BY commune, hash, size
    HAVING min(device) <> max(device) OR min(inode) <> max(inode)
), copy_rule AS (
    -- Every redundant copy meets the same copy rules: the lowest ranked is the only one
    -- that can win.
    SELECT arg_min(rule_id, rank) AS rule_id, min(rank) AS rank
    FROM dechet_rules WHERE match_type = 'redundant_copy'
), copy_hits AS (
    SELECT c.commune, c.scan_id, c.file_id, c.path, c.name, c.kind, c.size, c.mtime, r.rule_id, r.rank
    FROM copies c
    JOIN kept k USING (commune, hash, size)
    JOIN copy_rule r ON r.rule_id IS NOT NULL
    WHERE (c.device, c.inode) <> k.kept
), best AS (
    -- An entry is at most once in own_hits and once in copy_hits: the lower rank wins, by
    -- one join instead of grouping a million hits (their paths included) by entry.
    SELECT commune, scan_id, file_id, coalesce(o.path, c.path) AS path, coalesce(o.name, c.name) AS name,
           coalesce(o.kind, c.kind) AS kind, coalesce(o.size, c.size) AS size, coalesce(o.mtime, c.mtime) AS mtime,
           CASE WHEN c.rank IS NULL OR o.rank < c.rank THEN o.rule_id ELSE c.rule_id END AS rule_id
    FROM own_hits o
    FULL OUTER JOIN copy_hits c USING (commune, scan_id, file_id)
)
SELECT b.commune, b.scan_id, b.file_id, b.path, b.name, b.kind,
       CASE WHEN b.kind = 'file' THEN b.size ELSE 0 END AS size,
       b.mtime, b.rule_id, r.libelle, r.categorie, r.confiance
FROM best b
JOIN (SELECT DISTINCT rule_id, libelle, categorie, confiance FROM dechet_rules) r USING (rule_id);

-- Datasets (jeux de données): by default each folder at depth 2 under the scan root
-- (e.g. Service/Activité); files higher up belong to their own folder. The id is
-- stable across rescans of the same root so that grid answers survive a new scan.
-- The one definition of a scanned dataset's id (grids match answers on it).
CREATE OR REPLACE MACRO fs_dataset_id(commune, root, dataset_path) AS
    'FS-' || upper(substr(md5(commune || '|' || root || '|' || dataset_path), 1, 12));

-- The one definition of a dataset's « Emplacement » shown to users (grid, roadmap, reports,
-- annexes): the dataset's folder under its scan root, or the application it comes from.
CREATE OR REPLACE MACRO dataset_location(source, root, dataset_path) AS
    CASE WHEN source IN ('database', 'mail') THEN 'Application ' || dataset_path || ' (' || root || ')'
         WHEN dataset_path = '' THEN root
         ELSE rtrim(root, '/') || '/' || dataset_path END;

CREATE OR REPLACE VIEW dataset_files AS
WITH f AS (
    SELECT f.*,
           array_to_string(string_split(f.path, '/')[1:least(f.depth - 1, f.dataset_depth)], '/')
               AS dataset_path
    FROM files_current f
    WHERE f.kind = 'file'
)
SELECT fs_dataset_id(commune, root, dataset_path) AS dataset_id, *
FROM f;

CREATE OR REPLACE VIEW datasets AS
-- Summed per parent folder first: the dataset path is derived once per folder.
WITH per_parent AS (
    SELECT commune, scan_id, source, root, dataset_depth, parent, depth,
           count(*) AS files, sum(size) AS bytes, min(mtime) AS first_mtime, max(mtime) AS last_mtime,
           count(*) FILTER (WHERE error IS NOT NULL) AS errors,
           count(*) FILTER (WHERE signed) AS signed_files, sum(size) FILTER (WHERE signed) AS signed_bytes,
           min(sig_not_after) AS first_cert_expiry
    FROM files_current
    WHERE kind = 'file'
    GROUP BY commune, scan_id, source, root, dataset_depth, parent, depth
), p AS (
    SELECT *, array_to_string(string_split(parent, '/')[1:least(depth - 1, dataset_depth)], '/') AS dataset_path
    FROM per_parent
)
SELECT fs_dataset_id(commune, root, dataset_path) AS dataset_id,
       commune, scan_id, source, root, dataset_path AS path,
       CAST(sum(files) AS BIGINT) AS files,
       sum(bytes) AS bytes,
       min(first_mtime) AS first_mtime,
       max(last_mtime) AS last_mtime,
       CAST(sum(errors) AS BIGINT) AS errors,
       dataset_location(source, root, dataset_path) AS emplacement,
       CAST(sum(signed_files) AS BIGINT) AS signed_files,
       CAST(coalesce(sum(signed_bytes), 0) AS HUGEINT) AS signed_bytes,
       CASE WHEN coalesce(sum(bytes), 0) = 0 THEN 0.0
            ELSE CAST(coalesce(sum(signed_bytes), 0) AS DOUBLE) / sum(bytes) END AS signed_share,
       min(first_cert_expiry) AS first_cert_expiry
FROM p
GROUP BY commune, scan_id, source, root, dataset_path
UNION ALL
-- An application (business database or mailbox) is one dataset named by the
-- application; `files` counts its tables, or its messages.
SELECT 'APP-' || upper(substr(md5(s.commune || '|' || s.source || '|' || s.application), 1, 12)) AS dataset_id,
       s.commune, s.scan_id, s.source, s.root, s.application AS path,
       t.objects AS files, t.bytes, t.first_date AS first_mtime, t.last_date AS last_mtime, t.errors,
       dataset_location(s.source, s.root, s.application) AS emplacement,
       CAST(0 AS BIGINT) AS signed_files, CAST(0 AS HUGEINT) AS signed_bytes, 0.0 AS signed_share,
       CAST(NULL AS TIMESTAMP) AS first_cert_expiry
FROM latest_scans l
JOIN scans s USING (scan_id)
JOIN (
    SELECT scan_id, count(*) AS objects, sum(coalesce(bytes, binary_bytes, 0)) AS bytes,
           min(first_date) AS first_date, max(last_date) AS last_date,
           count(*) FILTER (WHERE error IS NOT NULL) AS errors
    FROM db_tables GROUP BY scan_id
    UNION ALL
    SELECT scan_id, sum(messages), sum(bytes), min(first_date), max(last_date),
           count(*) FILTER (WHERE error IS NOT NULL) + sum(unreadable)
    FROM mail_folders GROUP BY scan_id
) t USING (scan_id)
WHERE s.source IN ('database', 'mail');

-- One row per signed file or detached signature of the latest scans. A detached
-- signature (paired, or named like one: .p7s, .sig, .tsr, .tst) gives the path of the
-- document it signs (NULL when missing); a document signed by a detached signature gives
-- that signature's path (the first by path if several), and, when it carries no signature
-- of its own, the signature's kind, count, time and certificate.
CREATE OR REPLACE VIEW signatures AS
WITH f AS (
    SELECT * FROM files_current WHERE kind = 'file' AND (sig_kind IS NOT NULL OR signed)
), by_document AS (
    SELECT s.scan_id, s.signature_of AS file_id, min(s.path) AS signature_path
    FROM files_current s
    WHERE s.signature_of IS NOT NULL
    GROUP BY s.scan_id, s.signature_of
), own AS (
    -- For a document without a signature of its own: its first detached signature's row.
    SELECT b.scan_id, b.file_id, s.sig_kind, s.sig_count, s.sig_signed_at, s.sig_signer, s.sig_issuer,
           s.sig_not_after, s.sig_error
    FROM by_document b
    JOIN files_current s ON s.scan_id = b.scan_id AND s.path = b.signature_path
)
SELECT f.commune, f.scan_id, f.file_id, f.path, f.name, f.size,
       coalesce(f.sig_kind, o.sig_kind) AS kind,
       CASE WHEN f.sig_kind IS NOT NULL THEN f.sig_count ELSE o.sig_count END AS count,
       CASE WHEN f.sig_kind IS NOT NULL THEN f.sig_signed_at ELSE o.sig_signed_at END AS signed_at,
       CASE WHEN f.sig_kind IS NOT NULL THEN f.sig_signer ELSE o.sig_signer END AS signer,
       CASE WHEN f.sig_kind IS NOT NULL THEN f.sig_issuer ELSE o.sig_issuer END AS issuer,
       CASE WHEN f.sig_kind IS NOT NULL THEN f.sig_not_after ELSE o.sig_not_after END AS not_after,
       f.sig_error AS error,
       f.signature_of IS NOT NULL
           OR (f.sig_kind IS NOT NULL AND lower(coalesce(f.extension, '')) IN ('p7s', 'sig', 'tsr', 'tst'))
           AS detached,
       d.path AS document_path,
       b.signature_path AS document_signed_by
FROM f
LEFT JOIN files_current d ON d.scan_id = f.scan_id AND d.file_id = f.signature_of
LEFT JOIN by_document b ON b.scan_id = f.scan_id AND b.file_id = f.file_id
LEFT JOIN own o ON o.scan_id = f.scan_id AND o.file_id = f.file_id;

-- Current qualification of each dataset: the latest imported version. Earlier
-- versions stay in `qualifications` (history), with their import in `grid_imports`.
CREATE OR REPLACE VIEW qualifications_current AS
SELECT q.*, i.imported_at, i.file_name
FROM qualifications q
JOIN grid_imports i USING (import_id)
QUALIFY row_number() OVER (PARTITION BY q.commune, q.dataset_id ORDER BY q.import_id DESC) = 1;
