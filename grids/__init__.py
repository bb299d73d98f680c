"""The audit grid (grille d'audit), one module per job:

- spec: the columns, declared once for export and import;
- export: the rows of a commune's grid (or of one of its services) from the catalogue;
- workbook: the workbook laid out (sheets, validation, highlights; cells through catalogue.csvsafe);
- paper: row heights from the text and print settings, for LibreOffice and paper;
- sniff: what a file given as a grid really is (.ods, .xls, CSV, password…), for a useful refusal;
- limits: size limits checked on the ZIP before a workbook is loaded;
- values: tolerant parsing of what people type into a cell;
- reader: open a filled grid once and check it row by row into answers and problems;
- problems: `Problem` (sheet, cell, row, column, message) and `GridValidationError`;
- importer: store the checked answers as a new version, all files or none.
"""
