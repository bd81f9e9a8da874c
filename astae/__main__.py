"""`python -m astae` runs the command line."""

from astae.cli.app import main

if __name__ == "__main__":
    main()
