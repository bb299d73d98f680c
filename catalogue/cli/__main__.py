"""`python -m catalogue.cli`."""

from catalogue.cli import main

main()
