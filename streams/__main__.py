"""`python -m streams`: see `streams.cli`."""

from streams.cli import main

main()
