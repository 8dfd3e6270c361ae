"""Shared fixtures: the real DfAnalyzer service on a free port with a temporary data directory.

The service fixtures run on embedded MonetDB; the test modules in BOTH_BACKENDS (and tests marked
`both_backends`) run a second time on a MonetDB server: one throw-away mserver5 for the whole
test run (see monetdb_server.py), emptied before each service starts, so tests stay independent.
Without mserver5 those server variants are skipped with a message saying how to run them (in
CI, with the CI variable set, they fail instead).
"""
import os

import pytest

from monetdb_server import HOW_TO_RUN, MonetDBServer, find_mserver5, runnable_mserver5
from service_process import ServiceProcess

# The modules that exercise the store through the service (ingestion, batches, queries, errors,
# PROV export and graphs, client delivery); the Keras and web modules reach the store only
# through them, so they run on embedded MonetDB alone to keep CI within its time budget.
BOTH_BACKENDS = {
    "test_service_ingestion.py", "test_service_batches.py", "test_service_query.py", "test_service_errors.py",
    "test_export_service.py", "test_client_api.py", "test_client_delivery.py",
}


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run the test on embedded MonetDB and on a MonetDB server")


def pytest_generate_tests(metafunc):
    if "dfa_backend" not in metafunc.fixturenames:
        return
    in_list = os.path.basename(str(metafunc.definition.fspath)) in BOTH_BACKENDS
    if in_list or metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("dfa_backend", ["embedded", "server"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def dfa_backend(request):
    """"embedded" (the default) or "server" (a MonetDB server) for the service fixtures."""
    return getattr(request, "param", "embedded")


@pytest.fixture(scope="session")
def monetdb_server(tmp_path_factory):
    """The throw-away MonetDB server of this test run. Without an mserver5 the server variants
    are skipped on a developer's machine, but fail in CI (CI set), where `../shared` has one."""
    binary = find_mserver5()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(HOW_TO_RUN)
        pytest.skip(HOW_TO_RUN)
    binary = runnable_mserver5(binary, str(tmp_path_factory.mktemp("mserver5-binary")))
    server = MonetDBServer(binary, tmp_path_factory.mktemp("mserver5-farm")).start()
    yield server
    # Thrown away: a graceful stop waited out its whole 60 s at the end of a long run (clients of
    # killed services still connected), for data nobody reads again.
    server.kill()


@pytest.fixture
def monetdb_database(monetdb_server):
    """The test run's MonetDB server, running and emptied of everything DfAnalyzer creates."""
    return _emptied(monetdb_server)


def _emptied(server):
    if server.process.poll() is not None:  # a test killed it; the next one gets a running one
        server.start()
    server.empty()
    return server


def _service(request, backend, data_dir):
    if backend == "embedded":
        return ServiceProcess(data_dir)
    server = _emptied(request.getfixturevalue("monetdb_server"))
    return ServiceProcess(data_dir, monetdb_url=server.url)


@pytest.fixture
def dfa_service(request, tmp_path, dfa_backend):
    """A running DfAnalyzer (function scope): `.url`, `.data_dir`, `.query(sql)`, `.kill()`, `.restart()`."""
    service = _service(request, dfa_backend, tmp_path / "dfa-data").start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def shared_dfa_service(request, tmp_path_factory, dfa_backend):
    """One DfAnalyzer for a whole test module, for tests that only add data."""
    service = _service(request, dfa_backend, tmp_path_factory.mktemp("shared") / "dfa-data").start()
    yield service
    service.stop()
