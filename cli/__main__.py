"""Run the command line as ``python -m vaeanomaly.cli``."""

from vaeanomaly.cli.main import main

main()
