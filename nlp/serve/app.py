"""The moderation service: FastAPI over the one Pipeline, the conflict monitor and topic assignment.

``create_app(settings)`` builds the app; ``qunshao serve`` runs it with uvicorn. The model is loaded
once; concurrent requests are micro-batched (:mod:`nlp.serve.batcher`); feedback, alerts and every
group's monitor state are committed to SQLite (:mod:`nlp.serve.store`) before a request is answered.
What the pipeline learns of each group (its running centroid, recent threads, members' copies across
groups) is saved there too, every ``state_seconds`` and at shutdown, and restored on start: a
restarted bot judges off-topic against the group it knew, not a blank one (a crash loses at most
those seconds of learning, never an acknowledged write).
Bad input is a 4xx with a message that says what is wrong, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from nlp.io import Message, RecordError
from nlp.serve.batcher import MicroBatcher
from nlp.serve.schemas import (
    FeedbackIn,
    FeedbackOut,
    GroupMessagesResponse,
    MessageIn,
    ModerateRequest,
    ModerateResponse,
    ModerationResult,
    ModerationsRequest,
    ModerationsResponse,
    TopicAssignment,
    VerdictOut,
)
from nlp.serve.store import Store

log = logging.getLogger("qunshao.serve")
OPENAI_CATEGORIES = ("harassment", "harassment/threatening", "hate", "sexual", "self-harm", "violence", "illicit")


@dataclass
class Settings:
    model: str | Path | None = None  # model directory; None = the shipped default
    db: str | Path = "qunshao-serve.db"
    token: str | None = None
    max_body_bytes: int = 1_000_000
    max_messages: int = 256
    max_wait_ms: float = 5.0
    dry_run: bool = False
    vector_cache: str | Path | None = None  # on-disk vector cache directory, shared with batch jobs
    groups: str | Path | None = None  # group purposes and house rules (YAML/JSON, as ``qunshao score --groups``)
    state_seconds: float = 30.0  # how often the pipeline's learnt group state is saved (0: every request)
    explain: str = "auto"  # how reasons find the words they quote (nlp.classify.reasons.EXPLAIN_CHOICES)


PIPELINE_STATE = "pipeline"  # the name of the pickled Pipeline.state() in the store's blobs
PIPELINE_STATE_VERSION = 1


class Service:
    """Everything the endpoints share, loaded once."""

    def __init__(self, settings: Settings, pipeline=None) -> None:
        from nlp.classify import load_group_profiles
        from nlp.classify.model_files import DEFAULT_MODEL_DIR
        from nlp.conflict import ConflictMonitor
        from nlp.pipeline import Pipeline

        self.settings = settings
        self.model_dir = Path(settings.model or DEFAULT_MODEL_DIR)
        self.pipeline = pipeline or Pipeline(
            self.model_dir, vector_cache=settings.vector_cache, explain=settings.explain
        )
        self.store = Store(settings.db)
        self._state_lock = threading.Lock()
        self._state_saved = time.monotonic()
        self._restore_pipeline(load_group_profiles(settings.groups) if settings.groups else {})
        self.monitor = ConflictMonitor(pipeline=self.pipeline)
        saved = self.store.load_state("monitor")
        if saved:
            self.monitor.restore(saved)
        self._topics = None
        self.group_lock = threading.Lock()
        self.registry = CollectorRegistry()
        self.requests = Counter("qunshao_requests", "Requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram(
            "qunshao_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "qunshao_batch_messages",
            "Messages per model call",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.labels = Counter("qunshao_labels", "Labels given", ["label"], registry=self.registry)
        self.batcher = MicroBatcher(
            self.pipeline.score, settings.max_messages, settings.max_wait_ms / 1000, self.batch_size.observe
        )

    @property
    def topics(self):
        """Topic assignment for live groups, built on first use (it needs the sentence encoder)."""
        if self._topics is None:
            from nlp.embed import Encoder
            from nlp.topics import TopicModel

            self._topics = TopicModel(encoder=self.pipeline.classifier.encoder or Encoder())
        return self._topics

    def _restore_pipeline(self, from_file: dict) -> None:
        """The saved group state, if any and if learnt in this model's vector space, with the
        configured groups on top (the profiles the pipeline was given, then ``--groups``): an
        edited purpose applies at once, the learnt centroid carries on. A state that cannot be used
        is logged and left; groups learn afresh."""
        from nlp.classify.profile import reconfigure

        configured = dict(self.pipeline.profiles) | from_file
        blob = self.store.load_blob(PIPELINE_STATE)
        if blob is not None:
            try:
                saved = pickle.loads(blob)  # written by this service into its own database
                if saved.get("version") != PIPELINE_STATE_VERSION:
                    raise ValueError(f"saved by another qunshao version ({saved.get('version')})")
                self.pipeline.restore(saved["state"])
                log.info("restored the learnt state of %d group(s)", len(self.pipeline.profiles))
            except (pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError) as exc:
                log.warning("group state in %s not restored, groups learn afresh: %s", self.settings.db, exc)
        self.pipeline.profiles = reconfigure(self.pipeline.profiles, configured)

    def save_pipeline_state(self, force: bool = False) -> None:
        """Save what the pipeline has learnt, when ``state_seconds`` have passed since the last save
        (or now, with ``force``). Each save copies every group's state: hence not per request."""
        with self._state_lock:
            if not force and time.monotonic() - self._state_saved < self.settings.state_seconds:
                return
            self._state_saved = time.monotonic()
            blob = pickle.dumps(
                {"version": PIPELINE_STATE_VERSION, "state": self.pipeline.state()}, protocol=pickle.HIGHEST_PROTOCOL
            )
            self.store.save_blob(PIPELINE_STATE, blob)

    async def score(self, messages: list[Message]):
        verdicts = await self.batcher.submit(messages)
        if time.monotonic() - self._state_saved >= self.settings.state_seconds:  # checked here: no thread hop
            await asyncio.to_thread(self.save_pipeline_state)
        for verdict in verdicts:
            for label in verdict.labels:
                self.labels.labels(label).inc()
        if self.settings.dry_run:
            for m, v in zip(messages, verdicts, strict=True):
                if v.suggestion != "pass":
                    log.info("dry-run: would %s message %s (%s)", v.suggestion, m.id, ", ".join(v.labels))
        return verdicts


def _to_messages(items: list[MessageIn], group: str | None = None) -> list[Message]:
    out = []
    for i, item in enumerate(items):
        record = item.model_dump(exclude_none=True)
        if group is not None:
            record["group"] = group
        try:
            out.append(Message.from_record(record, i + 1))
        except RecordError as exc:
            raise HTTPException(422, f"messages[{i}]: {exc.reason}") from None
    return out


def _verdict_out(verdict) -> VerdictOut:
    return VerdictOut(**{"id": verdict.id} | verdict.to_dict())


class LimitsAndMetrics:
    """Body-size limit and request metrics as plain ASGI middleware.

    Starlette's ``@app.middleware("http")`` wraps every request in a task group and memory streams;
    on two cores that cost about as much event-loop time as the endpoint itself, so single-message
    bot traffic was bound by it."""

    def __init__(self, app, settings: Settings, service: Callable[[], Service | None]) -> None:
        self.app = app
        self.settings = settings
        self.service = service

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_with_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        limit = self.settings.max_body_bytes
        try:
            if length.isdigit() and int(length) > limit:
                if int(length) <= 8 * limit:  # read it, so the client sees the 413 instead of a reset connection
                    while (await receive()).get("more_body"):
                        pass
                detail = f"request body {int(length)} bytes is over the limit of {limit}"
                await JSONResponse({"detail": detail}, 413)(scope, receive, send_with_status)
            else:
                await self.app(scope, receive, send_with_status)
        finally:
            service = self.service()
            if service is not None:
                route = scope.get("route")
                endpoint = route.path if route is not None else scope["path"]
                service.requests.labels(endpoint, str(status[0])).inc()
                service.latency.labels(endpoint).observe(time.perf_counter() - started)


def create_app(settings: Settings, pipeline=None) -> FastAPI:
    service: Service | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        nonlocal service
        service = Service(settings, pipeline)
        app.state.service = service
        await service.batcher.start()
        yield
        await service.batcher.stop()  # in-flight batches finish before the process exits
        service.store.save_state("monitor", service.monitor.state())
        service.save_pipeline_state(force=True)
        service.store.close()

    app = FastAPI(
        title="qunshao 群哨 moderation service",
        version="1",
        lifespan=lifespan,
        description="Ads, negativity and off-topic chatter for Chinese group chats; conflict alerts; topics.",
    )

    def svc() -> Service:
        assert service is not None
        return service

    app.add_middleware(LimitsAndMetrics, settings=settings, service=lambda: service)

    async def authorised(request: Request) -> None:  # async: a sync dependency costs a thread hop per request
        if settings.token and request.headers.get("authorization") != f"Bearer {settings.token}":
            raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <token>)")

    def check_count(n: int) -> None:
        if n > settings.max_messages:
            raise HTTPException(413, f"{n} messages in one request; the limit is {settings.max_messages}")
        if n == 0:
            raise HTTPException(422, "no messages given")

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        s = svc()
        return {"status": "ok", "model": str(s.model_dir.name), "dry_run": settings.dry_run}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(svc().registry).decode(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/moderate", response_model=ModerateResponse, dependencies=[Depends(authorised)])
    async def moderate(body: ModerateRequest) -> ModerateResponse:
        check_count(len(body.messages))
        verdicts = await svc().score(_to_messages(body.messages))
        return ModerateResponse(results=[_verdict_out(v) for v in verdicts], dry_run=settings.dry_run)

    @app.post("/v1/moderations", response_model=ModerationsResponse, dependencies=[Depends(authorised)])
    async def moderations(body: ModerationsRequest) -> ModerationsResponse:
        texts = [body.input] if isinstance(body.input, str) else body.input
        check_count(len(texts))
        messages = _to_messages([MessageIn(text=t, id=str(i + 1)) for i, t in enumerate(texts)])
        verdicts = await svc().score(messages)
        results = []
        for v in verdicts:
            scores = {c: 0.0 for c in OPENAI_CATEGORIES} | {"harassment": v.scores.get("negativity", 0.0)}
            scores |= {label: v.scores[label] for label in v.scores}
            categories = {c: False for c in OPENAI_CATEGORIES} | {"harassment": "negativity" in v.labels}
            categories |= {label: label in v.labels for label in v.scores}
            flagged = bool({"ad", "negativity"} & set(v.labels))
            results.append(ModerationResult(flagged=flagged, categories=categories, category_scores=scores))
        return ModerationsResponse(
            id=f"modr-{uuid.uuid4().hex}", model=f"qunshao-{svc().model_dir.name}", results=results
        )

    @app.post("/v1/groups/{group}/messages", response_model=GroupMessagesResponse, dependencies=[Depends(authorised)])
    async def group_messages(group: str, body: ModerateRequest) -> GroupMessagesResponse:
        check_count(len(body.messages))
        s = svc()
        messages = _to_messages(body.messages, group)
        verdicts = await s.score(messages)

        def follow() -> tuple[list, list]:
            with s.group_lock:  # one group's stream is ordered: monitor and topics see messages in turn
                alerts = s.monitor.process(messages, verdicts)
                for alert in alerts:
                    s.store.add_alert(alert.to_dict())
                s.store.save_state("monitor", s.monitor.state())
                assigned = s.topics.assign(messages)
            return alerts, assigned

        alerts, assigned = await asyncio.to_thread(follow)
        return GroupMessagesResponse(
            results=[_verdict_out(v) for v in verdicts],
            alerts=alerts,
            topics=[
                TopicAssignment(id=m.id, topic=a.topic, topic_label=a.label, is_new=a.is_new)
                for m, a in zip(messages, assigned, strict=True)
            ],
            dry_run=settings.dry_run,
        )

    @app.get("/v1/groups/{group}/alerts", dependencies=[Depends(authorised)])
    async def group_alerts(group: str, limit: int = 50) -> dict[str, Any]:
        return {"group": group, "alerts": svc().store.alerts(group, min(max(limit, 1), 500))}

    @app.get("/v1/groups/{group}/topics", dependencies=[Depends(authorised)])
    async def group_topics(group: str) -> dict[str, Any]:
        s = svc()
        state = s.topics.groups_.get(group) if hasattr(s.topics, "groups_") else None
        return {"group": group, "topics": [t.to_dict() for t in state.topics] if state else []}

    @app.post("/v1/feedback", response_model=FeedbackOut, dependencies=[Depends(authorised)])
    async def feedback(body: FeedbackIn) -> FeedbackOut:
        return FeedbackOut(feedback_id=svc().store.add_feedback(body.model_dump()))

    return app
