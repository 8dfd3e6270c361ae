"""`dfanalyzer export EXECUTION_OR_DATAFLOW --format provn -o FILE`: a W3C PROV document."""
import os
import sys
import tempfile
from urllib.parse import quote

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
    for candidate in [kind] if kind else list(candidates):
        path, params = candidates[candidate]
        try:
            return candidate, client.request("GET", path, params=params)
        except ServiceError as error:
            if kind or error.status_code != 404:
                raise
    raise ServiceError(f"no execution or dataflow named {name!r}; `dfanalyzer runs` lists the executions "
                       "and their dataflows")


def write_atomically(path, content):
    """Writes `content` (bytes) to `path` through a temporary file, so a failure leaves no half file."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".dfanalyzer-", suffix=".part")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the user's umask decides
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
