"""One module per subcommand; `_common` holds the options and error handling they share."""
