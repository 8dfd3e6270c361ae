"""What route functions receive from the application: the store and the ingestor."""
from fastapi import Request


def get_store(request: Request):
    return request.app.state.store


def get_ingestor(request: Request):
    return request.app.state.ingestor


def get_settings(request: Request):
    return request.app.state.settings
