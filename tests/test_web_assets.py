"""Without its front-end libraries the web app says which files are missing and how to install them."""
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dfanalyzer.web import assets, mount_web


def test_pages_name_missing_vendor_files_and_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "vendor")
    app = FastAPI()
    mount_web(app)
    answer = TestClient(app).get("/")
    assert answer.status_code == 503
    assert "echarts.min.js" in answer.text and "make setup" in answer.text
    assert "src=\"/static/vendor/" not in answer.text   # the error page loads nothing missing


def test_installed_vendor_files_are_served():
    assert assets.missing_vendor_files() == []
    app = FastAPI()
    mount_web(app)
    client = TestClient(app)
    assert client.get("/static/vendor/echarts.min.js").status_code == 200
    assert client.get("/static/vendor/codemirror/sql-hint.js").status_code == 200
