"""Pull requests: open, list, read (with whether it merges cleanly), diff, review, merge, close."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.domain.errors import MergeConflict
from spice_harvester.domain.versioning.merge import MergeOptions, Resolution, Strategy
from spice_harvester.services.envelope import envelope
from spice_harvester.services.oms.deps import Actor, CommandId, PullRequests, Runner, Store
from spice_harvester.services.oms.routers.versions import ResolutionBody
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/database/{db}/pull-requests", tags=["pull requests"])


class OpenPullRequest(BaseModel):
    source_branch: str = Field(max_length=100)
    target_branch: str = Field("main", max_length=100)
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=20_000)


class ReviewBody(BaseModel):
    state: Literal["approved", "changes_requested", "commented"]
    body: str | None = Field(None, max_length=20_000)


class MergePullRequest(BaseModel):
    strategy: Strategy = Strategy.FAIL
    resolutions: list[ResolutionBody] = []
    message: str | None = Field(None, max_length=10_000)


def _mergeability(store: Store, db: str, pr: dict[str, Any]) -> dict[str, Any]:
    if pr["status"] != "open":
        return {"mergeable": None, "conflicts": []}
    try:
        preview = store.merge(
            db,
            pr["source_branch"],
            pr["target_branch"],
            author="preview",
            options=MergeOptions(dry_run=True),
        )
    except MergeConflict as conflict:
        return {"mergeable": False, "conflicts": conflict.conflicts}
    return {"mergeable": True, "conflicts": [], "merge": preview.status}


@router.post("", status_code=201)
def open_pull_request(
    db: str, body: OpenPullRequest, prs: PullRequests, actor: Actor, store: Store
) -> JSONResponse:
    pr = prs.open(
        db,
        source=body.source_branch,
        target=body.target_branch,
        title=body.title,
        description=body.description,
        author=actor,
    )
    return envelope(
        "created",
        f"pull request #{pr['id']} opened",
        {**pr, **_mergeability(store, db, pr)},
        http_status=201,
    )


@router.get("")
def list_pull_requests(
    db: str,
    prs: PullRequests,
    status: Annotated[Literal["open", "merged", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    found = prs.list(db, status)
    return listed("pull_requests", found[offset : offset + limit], len(found), limit, offset)


@router.get("/{pr_id}")
def read_pull_request(db: str, pr_id: int, prs: PullRequests, store: Store) -> JSONResponse:
    pr = prs.get(db, pr_id)
    return ok({**pr, **_mergeability(store, db, pr)})


@router.get("/{pr_id}/diff")
def pull_request_diff(db: str, pr_id: int, prs: PullRequests, store: Store) -> JSONResponse:
    """What the source branch changed since it left the target (what a merge would bring)."""
    pr = prs.get(db, pr_id)
    base = store.merge_base(db, pr["source_branch"], pr["target_branch"])
    result = store.diff(db, base.commit_id, pr["merge_commit"] or pr["source_branch"])
    return ok(
        {
            "merge_base": base.commit_id,
            "summary": result.summary,
            "changes": [change.as_dict() for change in result.changes],
        }
    )


@router.post("/{pr_id}/reviews", status_code=201)
def review_pull_request(
    db: str, pr_id: int, body: ReviewBody, prs: PullRequests, actor: Actor
) -> JSONResponse:
    return envelope(
        "created",
        f"review recorded on #{pr_id}",
        prs.review(db, pr_id, reviewer=actor, state=body.state, body=body.body),
        http_status=201,
    )


@router.post("/{pr_id}/merge")
def merge_pull_request(
    db: str,
    pr_id: int,
    body: MergePullRequest,
    prs: PullRequests,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
) -> JSONResponse:
    pr = prs.get(db, pr_id)
    options = MergeOptions(
        body.strategy, tuple(Resolution(r.path, r.choice, r.value) for r in body.resolutions)
    )

    def run(_: str) -> WriteOutcome:
        message = body.message or f"Merge pull request #{pr_id}: {pr['title']}"
        result = store.merge(
            db,
            pr["source_branch"],
            pr["target_branch"],
            author=actor,
            message=message,
            options=options,
        )
        finished = prs.finish(db, pr_id, status="merged", merge_commit=result.commit.commit_id)
        return WriteOutcome(
            result.commit.commit_id,
            f"pr/{pr_id}",
            finished["version"],
            {"merge": result.status, "pull_request": finished},
        )

    record = runner.run(
        kind="MergePullRequest",
        db_name=db,
        actor=actor,
        payload={"pr": pr_id, **body.model_dump()},
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"pull request #{pr_id} merged", http_status=200)


@router.post("/{pr_id}/close")
def close_pull_request(db: str, pr_id: int, prs: PullRequests) -> JSONResponse:
    return ok(prs.finish(db, pr_id, status="closed"), f"pull request #{pr_id} closed")
