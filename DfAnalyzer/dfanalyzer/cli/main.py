"""Entry point of the `dfanalyzer` command."""
import argparse
import logging
import sys

from dfanalyzer.cli import export, graph, query, runs, service
from dfanalyzer.cli.client import ServiceError, close_opened_here
from dfanalyzer.errors import DfaError

COMMANDS = [service, query, export, graph, runs]
COMMANDS.append(__import__("dfanalyzer.cli.model", fromlist=["register"]))  # `dfanalyzer model` (keras_prov)
COMMANDS.append(__import__("dfanalyzer.cli.copy", fromlist=["register"]))  # `dfanalyzer copy` (embedded <-> server)
COMMANDS.append(__import__("dfanalyzer.cli.steer", fromlist=["register"]))  # `dfanalyzer steer` (running trainings)


def build_parser():
    parser = argparse.ArgumentParser(prog="dfanalyzer", description="DfAnalyzer: provenance of deep-learning runs on MonetDB")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subcommands)
    return parser


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        code = args.run(args)
    except (ServiceError, DfaError) as error:
        print(f"dfanalyzer {args.command}: {error}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        close_opened_here()
    sys.exit(code or 0)
