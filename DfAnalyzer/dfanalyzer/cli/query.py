"""`dfanalyzer query "SELECT ..."`: read-only SQL against the running service."""
import decimal
import json
import sys

from dfanalyzer.cli.client import ServiceClient, add_url_option


def register(subcommands):
    parser = subcommands.add_parser(
        "query", help="run a read-only SQL query and print the result",
        description='Runs one SELECT or WITH statement on the service. Dataflow tags with "-" and attributes '
                    'named like SQL keywords go in double quotes: '
                    'dfanalyzer query \'SELECT "set", loss FROM "keras-alexnet-df".otrainingmodel\'')
    parser.add_argument("sql", help="one SELECT or WITH statement")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many rows (default 1000)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--json", action="store_true", help="print JSON {columns, rows}")
    add_url_option(parser)
    parser.set_defaults(run=run)


def run(args):
    client = ServiceClient(args.url)
    body = {"sql": args.sql, "limit": args.limit}
    if args.csv:
        sys.stdout.write(client.request("POST", "/api/v1/query", json=body, params={"format": "csv"}).text)
        return 0
    result = client.post_json("/api/v1/query", body)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(format_table(result["columns"], result["rows"]))
    footer = f"({len(result['rows'])} row{'s' if len(result['rows']) != 1 else ''}"
    print(footer + (", truncated: raise --limit)" if result.get("truncated") else ")"))
    return 0


def _cell(value):
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def number_text(value, significant=None):
    """A float as people write it: 437794657, 0.0001, 0.5; an exponent only from 1e15 up.
    `significant` rounds fractions to that many significant digits first."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if significant and not value.is_integer():
        value = float(f"{value:.{significant}g}")
    if abs(value) >= 1e15:
        return repr(value)
    if value.is_integer():
        return str(int(value))
    return format(decimal.Decimal(repr(value)), "f")


def format_table(columns, rows):
    """Rows as an aligned text table; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(str(c))] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows for i in range(len(columns))]

    def line(values):
        return " | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    separator = "-+-".join("-" * w for w in widths)
    return "\n".join([line([str(c) for c in columns]), separator] + [line(row) for row in cells])
