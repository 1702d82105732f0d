"""Lets `python -m spice_harvester` behave exactly like the `spice` command."""

from spice_harvester.cli.main import main

main()
