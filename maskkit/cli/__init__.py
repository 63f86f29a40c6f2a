"""The `maskkit` command line: thin subcommands over the public API."""
