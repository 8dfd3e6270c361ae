"""Shared fixtures: the real DfAnalyzer service on a free port with a temporary data directory."""
import pytest

from service_process import ServiceProcess


@pytest.fixture
def dfa_service(tmp_path):
    """A running DfAnalyzer (function scope): `.url`, `.data_dir`, `.query(sql)`, `.kill()`, `.restart()`."""
    service = ServiceProcess(tmp_path / "dfa-data").start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def shared_dfa_service(tmp_path_factory):
    """One DfAnalyzer for a whole test module, for tests that only add data."""
    service = ServiceProcess(tmp_path_factory.mktemp("shared") / "dfa-data").start()
    yield service
    service.stop()
