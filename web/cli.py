"""``xgate web``: serve the workbench (one process: look-up references and rate limits live in it)."""

from __future__ import annotations

from typing import Annotated

import typer

from xgate.settings import get_settings


def web(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (put TLS in front beyond this machine).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web workbench on the lake, users and audit the settings name; sign in with a users-file password."""
    import uvicorn

    from web.app import create_app

    typer.echo(f"xgate web on http://{host}:{port}/ (sign in with your xgate user name and password; Ctrl-C stops)")
    uvicorn.Server(config(create_app(get_settings()), host, port)).run()


def config(app, host: str, port: int):
    """How the workbench is served. The client's address is the connection's: a forwarded-for header is
    anyone's to write, and would give one client as many addresses (and sign-in failures) as it likes."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
