"""`dfanalyzer start` options for where data lives beyond the data directory (MonetDB server,
its read-only user, a models folder shared by the services of one database)."""


def add_storage_options(parser):
    parser.add_argument("--monetdb-url", help="use a MonetDB server: monetdb://user:pass@host:50000/db "
                                              "(default: $DFA_MONETDB_URL, else embedded MonetDB in the data dir)")
    parser.add_argument("--monetdb-reader-url",
                        help="read-only MonetDB user that runs user SQL: monetdb://user:pass@host:50000/db "
                             "(default: $DFA_MONETDB_READER_URL, else 'dfanalyzer_reader', created by the service)")
    parser.add_argument("--models-dir", help="folder of trained model files (default: $DFA_MODELS_DIR or "
                                             "<data dir>/models); give every service of one database the same "
                                             "shared folder")


def storage_settings(args):
    """Keyword arguments of Settings.from_sources from the parsed options (absent ones are None)."""
    return {"monetdb_url": getattr(args, "monetdb_url", None),
            "monetdb_reader_url": getattr(args, "monetdb_reader_url", None),
            "models_dir": getattr(args, "models_dir", None)}

