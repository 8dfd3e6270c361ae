"""`dfanalyzer copy`: all provenance and trained models from one store to another, e.g. from the
embedded database of a data directory to a MonetDB server, or back."""
import os
import sys

from dfanalyzer.store import open_store
from dfanalyzer.store.copier import StoreCopier
from dfanalyzer.store.server import public_url


def register(subcommands):
    copy = subcommands.add_parser(
        "copy", help="copy all provenance and models to another store (embedded <-> MonetDB server)",
        description="Copies the catalog, every dataflow's tables and the trained model files. Stop the "
                    "services of an embedded data directory first. Example: dfanalyzer copy --data-dir "
                    "~/.dfanalyzer/data --to-monetdb-url monetdb://monetdb:monetdb@db-host:50000/dfa "
                    "--to-data-dir /srv/dfanalyzer")
    copy.add_argument("--data-dir", required=True, help="source data directory (its embedded database and models)")
    copy.add_argument("--monetdb-url", help="source MonetDB server, instead of the data directory's embedded database")
    copy.add_argument("--models-dir", help="source model files (default: <data dir>/models)")
    copy.add_argument("--to-data-dir", required=True,
                      help="target data directory: its embedded database (unless --to-monetdb-url) and models")
    copy.add_argument("--to-monetdb-url", help="target MonetDB server")
    copy.add_argument("--to-models-dir", help="target model files (default: <to data dir>/models); with a server, "
                                              "the folder its services share (--models-dir of `dfanalyzer start`)")
    copy.add_argument("--merge", action="store_true",
                      help="add to a target that already holds provenance (dataflows it does not have yet)")
    copy.set_defaults(run=run_copy)


def run_copy(args):
    source_name = public_url(args.monetdb_url) if args.monetdb_url else f"embedded MonetDB in {args.data_dir}"
    target_name = public_url(args.to_monetdb_url) if args.to_monetdb_url else f"embedded MonetDB in {args.to_data_dir}"
    if (args.monetdb_url or os.path.abspath(args.data_dir)) == (args.to_monetdb_url or os.path.abspath(args.to_data_dir)):
        print("dfanalyzer copy: the source and the target are the same store", file=sys.stderr)
        return 1
    if not args.monetdb_url and not args.to_monetdb_url:
        # One process can open one embedded database only (monetdbe).
        print("dfanalyzer copy: both stores are embedded; to copy a data directory, stop its service and copy "
              "the folder (or copy through a MonetDB server: --to-monetdb-url, then back)", file=sys.stderr)
        return 1
    source = open_store(data_dir=args.data_dir, monetdb_url=args.monetdb_url)
    try:
        target = open_store(data_dir=args.to_data_dir, monetdb_url=args.to_monetdb_url)
        try:
            print(f"Copying {source_name} -> {target_name}")
            copier = StoreCopier(source, target, args.models_dir or os.path.join(os.path.abspath(args.data_dir), "models"),
                                 args.to_models_dir or os.path.join(os.path.abspath(args.to_data_dir), "models"),
                                 progress=lambda line: print("  " + line, flush=True))
            copied = copier.copy(merge=args.merge)
        finally:
            target.close()
    finally:
        source.close()
    rows = sum(count for name, count in copied.items() if name != "model files")
    print(f"Copied {rows} rows in {len(copied) - 1} tables and {copied['model files']} model files")
    return 0
