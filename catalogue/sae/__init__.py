"""SAE handoff: SEDA transfer packages (SIPs), ReSIP metadata CSV and the data they share.

- `selection`: which dataset, which of its files (déchets and redundant copies left out),
  with the qualification that gives the retention rule and the agencies;
- `manifest`: the SEDA 2.2 / 2.3 manifest, written as a stream;
- `package`: each dataset's packages planned (checked first, split by size) and written;
- `freshness`: whether the files to pack are still those the scan saw;
- `layout`: the split by size, the packages' file names, each file's ZIP member name;
- `zipwrite`: one ZIP, files copied and digested in one pass, then the manifest;
- `resip`: the CSV that ReSIP (Vitam's sedalib) imports.

This layer sits with the roadmap, above grids and the scan pipeline (DESIGN.md §3).
"""
