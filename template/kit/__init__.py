"""The template's kit: app factory, runtime, events, observability, adapters and sandbox.

Owned by the template: `copier update` replaces these files, so change behaviour from the
service's own modules (agent.py, routes.py, app.py) instead of editing here.
"""
