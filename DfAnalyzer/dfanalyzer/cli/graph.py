"""`dfanalyzer graph EXECUTION_OR_DATAFLOW --kind spec|prov -o FILE.png|svg|pdf`: a graph image."""
from urllib.parse import quote

from dfanalyzer.cli.client import ServiceClient, add_url_option
from dfanalyzer.cli.export import KINDS, fetch_first, write_atomically
from dfanalyzer.graph import registry
from dfanalyzer.graph.folding import DEFAULT_KEEP, DEFAULT_LIMIT


def register(subcommands):
    parser = subcommands.add_parser(
        "graph", help="draw the provenance graph of an execution or the specification graph of a dataflow",
        description="Draws, in the W3C PROV conventions, the provenance graph of an execution (--kind prov, "
                    "the default for an execution) or the specification graph of a dataflow (--kind spec, the "
                    "default for a dataflow). Long runs are folded: the first and last --keep records are drawn "
                    "and the rest summarised in one node.")
    parser.add_argument("name", metavar="EXECUTION_OR_DATAFLOW",
                        help="an execution tag, else a dataflow tag (an execution wins when both exist)")
    parser.add_argument("--kind", choices=registry.KINDS, help="prov or spec (see above)")
    parser.add_argument("-o", "--output", required=True,
                        help=f"image file; its extension picks the format: {', '.join(registry.known())}")
    parser.add_argument("--fold", type=int, default=DEFAULT_LIMIT,
                        help=f"runs longer than this are folded (default {DEFAULT_LIMIT})")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP,
                        help=f"records drawn at each end of a folded run (default {DEFAULT_KEEP})")
    parser.add_argument("--dataflow", help="the dataflow of the execution, when several dataflows use its tag")
    parser.add_argument("--subject", choices=KINDS, help="say whether NAME is an execution or a dataflow")
    add_url_option(parser)
    parser.set_defaults(run=run)


def run(args):
    image_format = registry.for_path(args.output)
    client = ServiceClient(args.url)
    params = {"fold": args.fold, "keep": args.keep}
    if args.kind:
        params["kind"] = args.kind
    execution_params = dict(params, **({"dataflow": args.dataflow} if args.dataflow else {}))
    name = quote(args.name, safe="")
    subject, response = fetch_first(client, args.name, args.subject, {
        "execution": (f"/api/v1/executions/{name}/graph.{image_format.name}", execution_params),
        "dataflow": (f"/api/v1/dataflows/{name}/graph.{image_format.name}", params),
    })
    write_atomically(args.output, response.content)
    kind = args.kind or ("prov" if subject == "execution" else "spec")
    what = "provenance graph" if kind == "prov" else "specification graph"
    print(f"wrote the {what} of {subject} {args.name!r} to {args.output}")
    return 0
