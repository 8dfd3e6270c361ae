"""`dfanalyzer export EXECUTION_OR_DATAFLOW --format provn -o FILE`: a W3C PROV document."""
import os
import sys
import tempfile
from urllib.parse import quote

import requests

from dfanalyzer.cli.client import ServiceClient, ServiceError, add_url_option
from dfanalyzer.export import registry

KINDS = ("execution", "dataflow")


def register(subcommands):
    parser = subcommands.add_parser(
        "export", help="write the W3C PROV document of an execution or a whole dataflow",
        description="Writes the provenance of an execution (or of a dataflow with all its executions) as a "
                    "W3C PROV document, read from the running service.")
    parser.add_argument("name", metavar="EXECUTION_OR_DATAFLOW",
                        help="an execution tag, else a dataflow tag (an execution wins when both exist)")
    parser.add_argument("--format", "-f", default="provn",
                        help=f"one of: {', '.join(registry.known())} (default provn)")
    parser.add_argument("-o", "--output", help="file to write (default: print to standard output)")
    parser.add_argument("--kind", choices=KINDS, help="say whether NAME is an execution or a dataflow")
    parser.add_argument("--dataflow", help="the dataflow of the execution, when several dataflows use its tag")
    add_url_option(parser)
    parser.set_defaults(run=run)


def run(args):
    document_format = registry.get(args.format)
    client = ServiceClient(args.url)
    params = {"format": document_format.name}
    if args.dataflow:
        params["dataflow"] = args.dataflow
    kind, response = fetch_first(client, args.name, args.kind, {
        "execution": (f"/api/v1/executions/{quote(args.name, safe='')}/prov", params),
        "dataflow": (f"/api/v1/dataflows/{quote(args.name, safe='')}/prov", {"format": document_format.name}),
    })
    if not args.output:
        sys.stdout.write(response.content.decode("utf-8"))
        return 0
    write_atomically(args.output, response.content)
    print(f"wrote the PROV document ({document_format.name}) of {kind} {args.name!r} to {args.output}")
    return 0


def fetch_first(client, name, kind, candidates):
    """(kind, response) of the first of `candidates` {kind: (path, params)} that exists: the named
    kind only when `kind` is given, else an execution, then a dataflow."""
    kinds = [kind] if kind else list(candidates)
    missing = []
    for candidate in kinds:
        path, params = candidates[candidate]
        try:
            response = requests.get(client.url + path, params=params, timeout=client.timeout)
        except requests.ConnectionError:
            raise ServiceError(f"cannot reach DfAnalyzer at {client.url}; start it with `dfanalyzer start` "
                               "or point --url / DFA_URL at it") from None
        if response.status_code == 200:
            return candidate, response
        detail = _detail(response)
        if response.status_code == 404 and not kind:
            missing.append(detail)
            continue
        raise ServiceError(detail)
    raise ServiceError(f"no execution or dataflow named {name!r}; `dfanalyzer runs` lists the executions "
                       "and their dataflows")


def _detail(response):
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text
    if isinstance(detail, dict):
        detail = detail.get("error", detail)
    return str(detail)


def write_atomically(path, content):
    """Writes `content` (bytes) to `path` through a temporary file, so a failure leaves no half file."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".dfanalyzer-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
