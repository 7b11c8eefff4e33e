"""The web workbench (``xgate web``): investigators', auditors', admins' and engineers' pages.

Server-rendered (FastAPI, Jinja2 with autoescape), with Pico CSS and htmx vendored under ``static/``
(nothing is fetched from outside). Every page reads through the access layer exactly as the CLI does:
the same sign-in, the same :class:`access.reader.Reader` calls, the same audit records.
"""
