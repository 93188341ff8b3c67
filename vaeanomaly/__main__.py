"""Run the command line as ``python -m vaeanomaly``."""

from vaeanomaly.cli.main import main

main()
