#!/usr/bin/env python3
"""A minimal external-task worker for cecp (standard library only): fetch-and-lock a topic,
run a handler, complete, report a failure with retries/back-off, or a BPMN error.

    python scripts/external_worker.py --url http://127.0.0.1:5000 --key cecp_... \
        --topic carbon-calc --once

The handler here doubles ``amount`` into ``result`` (an example); in your own worker
replace `handle`. Raise `BpmnError` for a business error the model catches with an error
boundary event; any other exception is reported as a failure (retries count down).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

Transport = Callable[[str, dict[str, Any]], tuple[int, Any]]


class BpmnError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


def http_transport(base_url: str, api_key: str) -> Transport:
    def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        req = urllib.request.Request(
            base_url.rstrip("/") + "/api/v1/external-task" + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-API-Key": api_key},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    return post


def plain(variables: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get("value") for k, v in variables.items()}


def handle(task: dict[str, Any]) -> dict[str, Any]:
    data = plain(task["variables"])
    if data.get("amount") is None:
        raise BpmnError("NO_AMOUNT", "缺少 amount")
    if data.get("amount") < 0:
        raise RuntimeError("计算服务暂不可用")
    return {"result": {"value": data["amount"] * 2, "type": "Integer"}}


class Worker:
    def __init__(
        self,
        post: Transport,
        worker_id: str,
        topic: str,
        handler: Callable[[dict[str, Any]], dict[str, Any]] = handle,
        lock_ms: int = 10_000,
        retries: int = 3,
        retry_timeout_ms: int = 1000,
    ):
        self.post, self.worker_id, self.topic, self.handler = post, worker_id, topic, handler
        self.lock_ms, self.retries, self.retry_timeout_ms = lock_ms, retries, retry_timeout_ms

    def run_once(self, max_tasks: int = 10) -> list[tuple[str, str]]:
        """One poll: returns (task id, outcome) for each task handled."""
        status, tasks = self.post(
            "/fetchAndLock",
            {
                "workerId": self.worker_id,
                "maxTasks": max_tasks,
                "topics": [{"topicName": self.topic, "lockDuration": self.lock_ms}],
            },
        )
        if status != 200:
            raise RuntimeError(f"fetchAndLock: {status} {tasks}")
        done = []
        for task in tasks:
            tid = task["id"]
            try:
                variables = self.handler(task)
            except BpmnError as exc:
                self.post(
                    f"/{tid}/bpmnError",
                    {"workerId": self.worker_id, "errorCode": exc.code, "errorMessage": str(exc)},
                )
                done.append((tid, "bpmnError"))
                continue
            except Exception as exc:  # noqa: BLE001 - report it, retries count down
                left = task["retries"] - 1 if task.get("retries") is not None else self.retries
                self.post(
                    f"/{tid}/failure",
                    {
                        "workerId": self.worker_id,
                        "errorMessage": str(exc),
                        "errorDetails": type(exc).__name__,
                        "retries": max(left, 0),
                        "retryTimeout": self.retry_timeout_ms,
                    },
                )
                done.append((tid, "failure"))
                continue
            status, body = self.post(
                f"/{tid}/complete", {"workerId": self.worker_id, "variables": variables}
            )
            done.append((tid, "complete" if status == 204 else f"complete:{status}"))
        return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--worker-id", default="example-worker")
    parser.add_argument("--lock-ms", type=int, default=10_000, help="lock duration")
    parser.add_argument("--retries", type=int, default=3, help="retries after a first failure")
    parser.add_argument("--retry-timeout-ms", type=int, default=1000, help="back-off")
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    worker = Worker(http_transport(args.url, args.key), args.worker_id, args.topic,
                    lock_ms=args.lock_ms, retries=args.retries,
                    retry_timeout_ms=args.retry_timeout_ms)
    while True:
        for tid, outcome in worker.run_once():
            print(tid, outcome, flush=True)
        if args.once:
            return
        time.sleep(2)


if __name__ == "__main__":
    main()
