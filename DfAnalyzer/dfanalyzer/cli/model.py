"""`dfanalyzer model list|get`: the trained models kept by the service."""
import hashlib
import os

from dfanalyzer.cli.client import ServiceClient, ServiceError, add_url_option
from dfanalyzer.cli.query import format_table


def register(subcommands):
    parser = subcommands.add_parser("model", help="list or download trained models stored by keras_prov")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list stored models (newest first)")
    listing.add_argument("--dataflow", help="only this dataflow")
    listing.add_argument("--exec", help="only this execution tag")
    add_url_option(listing)
    listing.set_defaults(run=run_list)
    get = actions.add_parser("get", help="download a stored model")
    get.add_argument("model_id", nargs="?", type=int, help="id from `dfanalyzer model list`")
    get.add_argument("--exec", help="instead of an id: the latest model of this execution")
    get.add_argument("--format", default="keras", help="with --exec: keras (default) or weights.h5")
    get.add_argument("-o", "--output", default=".", help="file or folder to write to (default: current folder)")
    add_url_option(get)
    get.set_defaults(run=run_get)


def run_list(args):
    models = ServiceClient(args.url).get_json("/api/v1/models", **_filters(args))["models"]
    columns = ["id", "dataflow", "exec", "task", "format", "size_bytes", "sha256", "path"]
    rows = [[m[c][:12] + "..." if c == "sha256" and m[c] else m[c] for c in columns] for m in models]
    print(format_table(columns, rows))
    print(f"({len(models)} model{'s' if len(models) != 1 else ''})")
    return 0


def run_get(args):
    client = ServiceClient(args.url)
    model_id = args.model_id
    if model_id is None:
        if not args.exec:
            raise ServiceError("name the model: `dfanalyzer model get ID` or `dfanalyzer model get --exec TAG`")
        models = [m for m in client.get_json("/api/v1/models", exec=args.exec)["models"] if m["format"] == args.format]
        if not models:
            raise ServiceError(f"execution {args.exec!r} has no stored model in format {args.format!r}; "
                               "see `dfanalyzer model list`")
        model_id = models[0]["id"]
    described = client.get_json(f"/api/v1/models/{model_id}")
    target = args.output
    if os.path.isdir(target):
        target = os.path.join(target, described["file_name"])
    response = client.request("GET", f"/api/v1/models/{model_id}/file", stream=True)
    digest = hashlib.sha256()
    partial = target + ".part"
    with open(partial, "wb") as out:
        for block in response.iter_content(1 << 20):
            digest.update(block)
            out.write(block)
    if described.get("sha256") and digest.hexdigest() != described["sha256"]:
        os.remove(partial)
        raise ServiceError(f"downloaded bytes of model {model_id} have sha256 {digest.hexdigest()}, not the stored "
                           f"{described['sha256']}; try again")
    os.replace(partial, target)
    print(f"model {model_id} ({described['format']}, {described['size_bytes']} bytes, sha256 {digest.hexdigest()}) "
          f"-> {target}")
    return 0


def _filters(args):
    return {key: value for key, value in (("dataflow", args.dataflow), ("exec", args.exec)) if value}
