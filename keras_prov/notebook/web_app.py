"""DfAnalyzer's web app inside a notebook: an IFrame on the service, or on the kernel itself for
an embedded data directory; through Colab's own port proxy in Colab."""
import html
import ipaddress
from urllib.parse import quote, urlencode, urlsplit

from keras_prov.notebook.source import Source

DEFAULT_HEIGHT = 720


class WebApp:
    """The web app's address; shown in a notebook as an IFrame on it, as the address elsewhere.

    Attributes:
        url: the address of the page.
    """

    def __init__(self, url, height=DEFAULT_HEIGHT):
        self.url = url
        self.height = int(height)

    def _repr_html_(self):
        address = html.escape(self.url, quote=True)
        return (f'<iframe src="{address}" width="100%" height="{self.height}" frameborder="0" '
                f'title="DfAnalyzer"></iframe>')

    def __repr__(self):
        return f"DfAnalyzer web app: {self.url}"


def show(run=None, url=None, height=DEFAULT_HEIGHT, compare=None):
    """Opens DfAnalyzer's web app in the notebook: the runs page, a run's page (`run`), or the
    comparison of runs (`compare`). For an embedded data directory the kernel serves it (on a
    free loopback port, for as long as the kernel lives; fits go on recording meanwhile).

    Args:
        run: a run (tag, `keras_prov.run(...)`, recording model or its fit's result) to open.
        url: "http://host:port" or "embedded:/dir"; default: where this process records.
        height: of the IFrame, in pixels.
        compare: runs to open side by side on the compare page.

    Returns:
        a `WebApp` (an IFrame in Jupyter); in Colab the page is shown through Colab's proxy of the
        kernel's port and None is returned.

    Example:
        keras_prov.show()                 # the runs page, inline
    """
    from keras_prov.notebook.frames import execution_of

    source = Source(url)
    path, params = "/", {}
    if run is not None:
        execution, dataflow, _ = execution_of(run)
        path, params = f"/runs/{quote(execution, safe='')}", {"dataflow": dataflow}
    elif compare is not None:
        executions = [execution_of(one)[0] for one in compare]
        path, params = "/compare", {"runs": ",".join(executions)}
    query = urlencode({key: value for key, value in params.items() if value is not None})
    path += f"?{query}" if query else ""
    base = urlsplit(source.url)
    if _in_colab() and _loopback(base.hostname):
        from google.colab import output

        output.serve_kernel_port_as_iframe(base.port, path=path, height=int(height))
        return None
    app = WebApp(source.url + path, height)
    print(app)
    return app


def _in_colab():
    try:
        import google.colab  # noqa: F401 - only its presence matters
    except ImportError:
        return False
    return True


def _loopback(host):
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
