"""The `dfanalyzer` command: one module per subcommand, each with `register(subcommands)`."""
