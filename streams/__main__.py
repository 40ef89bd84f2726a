"""`python -m streams`: see `streams.cli`."""

from streams.cli import main

if __name__ == "__main__":  # not when a rebuild job's process (spawned) imports it
    main()
