"""The ``vaeanomaly`` command line (installed as ``vaeanomaly.cli``)."""
