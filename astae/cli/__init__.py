"""The `astae` command line: thin Typer commands over `astae.core`."""
