"""A real Jupyter kernel (ipykernel, driven by nbclient) running this interpreter, for the notebook tests.

The kernel spec lives in a temporary directory named by JUPYTER_PATH, so that a fresh clone (or
CI) needs no `ipykernel install`: the kernel is the Python that runs the tests (.venv).
"""
import base64
import json
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

import nbformat
from nbclient import NotebookClient
from nbclient.util import run_sync

KERNEL_NAME = "keras-prov-tests"
CELL_SECONDS = 300


def install_kernel_spec():
    """Writes the kernel spec of this interpreter into a temporary Jupyter path and points
    JUPYTER_PATH at it (kernels started afterwards by this process find it)."""
    root = tempfile.mkdtemp(prefix="jupyter-path-")
    spec_dir = os.path.join(root, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as handle:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "keras-prov tests", "language": "python"}, handle)
    os.environ["JUPYTER_PATH"] = root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    return KERNEL_NAME


class Kernel:
    """One kernel executing cells one at a time, as a user does in Jupyter.

    Args:
        cwd: the kernel's working directory.
        env: variables set in the kernel's environment (on top of this process's).

    Example:
        with Kernel(tmp_path, {"DFA_URL": url}) as kernel:
            outputs = kernel.run("import keras_prov\\nkeras_prov.runs()")
    """

    def __init__(self, cwd, env=None):
        self.notebook = nbformat.v4.new_notebook()
        self.client = NotebookClient(self.notebook, kernel_name=KERNEL_NAME, timeout=CELL_SECONDS, startup_timeout=300,
                                     resources={"metadata": {"path": str(cwd)}}, allow_errors=False)
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
        self.seconds = []  # (seconds, first line) of every cell run: where a slow test spends its time

    def __enter__(self):
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel(env=self.env)
        self.client.start_new_kernel_client()
        return self

    def run(self, source):
        """Executes one cell; returns its outputs (raises CellExecutionError on an exception)."""
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        started = time.monotonic()
        self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        self.seconds.append((round(time.monotonic() - started, 1), source.strip().splitlines()[0][:60]))
        return cell.outputs

    def restart(self):
        """Restarts the kernel at once (the old one is killed), as Kernel > Restart does."""
        run_sync(self.client.km.restart_kernel)(now=True)
        run_sync(self.client.kc.wait_for_ready)(timeout=300)  # the client is nbclient's async one

    def __exit__(self, *exc_info):
        print("cell seconds:", self.seconds)
        try:
            self.client.kc.stop_channels()
        finally:
            run_sync(self.client.km.shutdown_kernel)(now=False)
        return False


def text_of(outputs):
    """The stdout text of a cell's outputs."""
    return "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream"
                   and output.get("name") == "stdout")


def json_lines(outputs, prefix="@"):
    """The values the cell printed as `@` + JSON lines (how test cells report to the test)."""
    return [json.loads(line[len(prefix):]) for line in text_of(outputs).splitlines() if line.startswith(prefix)]


def rich(outputs, mime):
    """The `mime` data of the cell's display and result outputs."""
    return [output["data"][mime] for output in outputs
            if output.get("output_type") in ("display_data", "execute_result") and mime in output.get("data", {})]


def well_formed_svg(text):
    root = ElementTree.fromstring(text.encode() if "encoding=" in text[:100] else text)
    assert root.tag.endswith("svg"), root.tag
    return root


def png_of_html(html):
    """The PNG bytes of the first `data:image/png;base64,` image of an HTML fragment."""
    marker = 'src="data:image/png;base64,'
    start = html.index(marker) + len(marker)
    data = base64.b64decode(html[start:html.index('"', start)])
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), data[:8]
    return data


VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def well_formed_html(text):
    """Asserts that every element of an HTML fragment is closed, in order; returns the tags seen."""
    from html.parser import HTMLParser

    seen, open_tags = [], []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen.append(tag)
            if tag not in VOID_ELEMENTS:
                open_tags.append(tag)

        def handle_startendtag(self, tag, attrs):
            seen.append(tag)

        def handle_endtag(self, tag):
            assert open_tags and open_tags[-1] == tag, f"</{tag}> closes {open_tags[-1:] or 'nothing'}"
            open_tags.pop()

    checker = Checker()
    checker.feed(text)
    checker.close()
    assert not open_tags, f"unclosed elements: {open_tags}"
    return seen
