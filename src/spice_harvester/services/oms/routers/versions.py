"""Version control: history, diff, merge, rollback, revert, rebase, common ancestor, commit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.domain.errors import Forbidden, SpiceError
from spice_harvester.domain.versioning.merge import MergeOptions, Resolution, Strategy
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.services.oms.deps import Actor, AppSettings, Audit, CommandId, Runner, Store
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/version", tags=["version control"])
Ref = Annotated[str, Query(min_length=1, max_length=200)]


class ResolutionBody(BaseModel):
    path: str
    choice: Literal["source", "target", "value"]
    value: Any = None


class MergeBody(BaseModel):
    source_branch: str = Field(max_length=200)
    target_branch: str = Field(max_length=100)
    strategy: Strategy = Strategy.FAIL
    resolutions: list[ResolutionBody] = []
    message: str | None = Field(None, max_length=10_000)
    author: str | None = Field(None, max_length=255)
    fast_forward: bool = True
    dry_run: bool = False


class RollbackBody(BaseModel):
    target: str = Field(max_length=200)


class RevertBody(BaseModel):
    commit_id: str = Field(max_length=200)
    branch: str = Field("main", max_length=100)
    message: str | None = Field(None, max_length=10_000)


class CommitBody(BaseModel):
    message: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(None, max_length=255)
    branch: str = Field("main", max_length=100)


@router.get("/{db}/history")
def history(
    db: str,
    store: Store,
    branch: Ref = "main",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    commits, total = store.log(db, branch, limit=limit, offset=offset, branch=branch)
    return listed("commits", [commit.as_dict() for commit in commits], total, limit, offset)


@router.get("/{db}/diff")
def diff(db: str, store: Store, from_ref: Ref, to_ref: Ref) -> JSONResponse:
    result = store.diff(db, from_ref, to_ref)
    return ok(
        {
            "from_commit": result.from_commit,
            "to_commit": result.to_commit,
            "merge_base": result.merge_base,
            "summary": result.summary,
            "changes": [change.as_dict() for change in result.changes],
        },
        f"{len(result.changes)} document(s) differ",
    )


@router.get("/{db}/common-ancestor")
def common_ancestor(db: str, store: Store, branch1: Ref, branch2: Ref) -> JSONResponse:
    return ok(store.merge_base(db, branch1, branch2).as_dict())


@router.post("/{db}/merge")
def merge(
    db: str, body: MergeBody, store: Store, runner: Runner, actor: Actor, command_id: CommandId
) -> JSONResponse:
    options = MergeOptions(
        body.strategy,
        tuple(Resolution(r.path, r.choice, r.value) for r in body.resolutions),
        body.fast_forward,
        body.dry_run,
    )
    author = body.author or actor
    if body.dry_run:
        return _merge_preview(db, body, store, author, options)

    def run(_: str) -> WriteOutcome:
        result = store.merge(
            db,
            body.source_branch,
            body.target_branch,
            author=author,
            message=body.message,
            options=options,
        )
        return WriteOutcome(
            result.commit.commit_id,
            body.target_branch,
            0,
            {
                "merge": result.status,
                "merge_base": result.merge_base,
                "changed": result.changed,
                "resolved": result.resolved,
                "commit": result.commit.as_dict(),
            },
        )

    record = runner.run(
        kind="Merge",
        db_name=db,
        actor=author,
        payload=body.model_dump(),
        command_id=command_id,
        action=run,
    )
    status = (record.result or {}).get("merge", "merged")
    return accepted(
        record, f"{body.source_branch} into {body.target_branch}: {status}", http_status=200
    )


def _merge_preview(
    db: str, body: MergeBody, store: Store, author: str, options: MergeOptions
) -> JSONResponse:
    """What the merge would do, or its conflicts (409), with nothing written and no command."""
    result = store.merge(db, body.source_branch, body.target_branch, author=author, options=options)
    data = {
        "merge": result.status,
        "merge_base": result.merge_base,
        "changed": result.changed,
        "resolved": result.resolved,
        "dry_run": True,
    }
    return ok(data, f"{body.source_branch} into {body.target_branch}: {result.status}")


@router.post("/{db}/rollback", status_code=202)
def rollback(
    db: str,
    body: RollbackBody,
    request: Request,
    store: Store,
    runner: Runner,
    audit: Audit,
    settings: AppSettings,
    actor: Actor,
    command_id: CommandId,
    branch: Ref = "main",
) -> JSONResponse:
    """Moves a branch head back: off unless ENABLE_OMS_ROLLBACK, never on protected branches,
    and every attempt is audited, refused or not."""
    client = request.client.host if request.client else None

    def record_attempt(outcome: str, details: dict[str, Any]) -> None:
        audit.append(
            service="oms",
            actor=actor,
            action="rollback",
            outcome=outcome,
            target=f"{db}/{branch}",
            client=client,
            details={"target": body.target, **details},
        )

    try:
        if not settings.enable_oms_rollback:
            raise Forbidden(
                "rollback is disabled: set ENABLE_OMS_ROLLBACK=true to allow it",
                field="ENABLE_OMS_ROLLBACK",
            )
        if branch in settings.protected_branches or branch == "main":
            raise Forbidden(f"branch '{branch}' is protected: rollback refused", field="branch")

        def run(_: str) -> WriteOutcome:
            before = store.get_branch(db, branch)
            after = store.reset_branch(db, branch, body.target, actor=actor)
            return WriteOutcome(
                after.head, branch, after.seq, {"from": before.head, "to": after.head}
            )

        record = runner.run(
            kind="Rollback",
            db_name=db,
            actor=actor,
            payload={"branch": branch, **body.model_dump()},
            command_id=command_id,
            action=run,
        )
    except SpiceError as exc:
        record_attempt("refused", {"code": exc.code, "reason": exc.message})
        raise
    record_attempt("done", record.result or {})
    return accepted(record, f"branch '{branch}' rolled back to {body.target}")


@router.post("/{db}/revert", status_code=202)
def revert(
    db: str, body: RevertBody, store: Store, runner: Runner, actor: Actor, command_id: CommandId
) -> JSONResponse:
    def run(_: str) -> WriteOutcome:
        commit = store.revert(db, body.branch, body.commit_id, author=actor, message=body.message)
        return WriteOutcome(commit.commit_id, body.branch, 0, {"commit": commit.as_dict()})

    record = runner.run(
        kind="Revert",
        db_name=db,
        actor=actor,
        payload=body.model_dump(),
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"reverted {body.commit_id} on {body.branch}")


@router.post("/{db}/rebase", status_code=202)
def rebase(
    db: str,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    branch: Ref,
    onto: Ref = "main",
) -> JSONResponse:
    def run(_: str) -> WriteOutcome:
        status, head, count = store.rebase(db, branch, onto, actor=actor)
        return WriteOutcome(head.commit_id, branch, 0, {"rebase": status, "replayed": count})

    record = runner.run(
        kind="Rebase",
        db_name=db,
        actor=actor,
        payload={"branch": branch, "onto": onto},
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"{branch} rebased onto {onto}")


@router.post("/{db}/commit", status_code=202)
def commit(
    db: str, body: CommitBody, store: Store, runner: Runner, actor: Actor, command_id: CommandId
) -> JSONResponse:
    """An explicit commit with a message and no changes (a marker in the history)."""
    author = body.author or actor

    def run(cid: str) -> WriteOutcome:
        result = store.commit(
            db,
            CommitRequest(body.branch, author, body.message, (), command_id=cid, allow_empty=True),
        )
        return WriteOutcome(
            result.commit.commit_id, body.branch, 0, {"commit": result.commit.as_dict()}
        )

    record = runner.run(
        kind="Commit",
        db_name=db,
        actor=author,
        payload=body.model_dump(),
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"committed on {body.branch}")
