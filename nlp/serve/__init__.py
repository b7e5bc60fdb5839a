"""Service stage: the HTTP API moderation bots call (FastAPI + uvicorn).

May import every stage below it; nothing imports it but the CLI.
"""

from nlp.serve.app import Settings, create_app

__all__ = ["Settings", "create_app"]
