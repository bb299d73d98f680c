"""The audit grid (grille d'audit): column spec, Excel export, validated import."""
