"""`python -m vitalens`: the same command line as `vitalens`."""

from vitalens.cli import main

main()
