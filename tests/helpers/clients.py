"""boto3 omics clients configured the way users configure them (environment variables only), and
reading what they answer: errors, pages, responses without their metadata."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.helpers.names import REGION

KEY = "seqstore"  # the signing key every test server is given (SEQSTORE_ACCESS_KEY_ID)
SECRET = "seqstore-secret"


def client_env(url: str) -> dict[str, str]:
    """The environment a user sets to point boto3 and the AWS CLI at seqstore."""
    return {
        "AWS_ENDPOINT_URL_OMICS": url,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }


def _client_from(env: dict[str, str], config: Config | None):  # type: ignore[no-untyped-def]
    """An omics client of a boto3 session made while `env` is set (and restored after)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return boto3.session.Session().client("omics", config=config)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_client(url: str, config: Config | None = None):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured only through environment variables (and, if given, a
    botocore Config: no client-side validation, or no retries)."""
    return _client_from(client_env(url), config)


def client_for(
    url: str, key: str = KEY, secret: str = SECRET, *, region: str = REGION, config: Config | None = None
):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured through the environment as users do, with these credentials
    (and by default no retries)."""
    env = {**client_env(url), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": region}
    return _client_from(env, config or Config(retries={"max_attempts": 1, "mode": "standard"}))


def unvalidated_client(url: str):  # type: ignore[no-untyped-def]
    """A boto3 omics client configured through the environment (as make_client) but without
    boto3's own parameter checks or retries, to reach the server's checks."""
    return make_client(url, Config(parameter_validation=False, retries={"max_attempts": 1}))


# --- what the clients answer


def error_code(excinfo: pytest.ExceptionInfo[Any]) -> str:
    """The error code a botocore ClientError carries."""
    return str(excinfo.value.response["Error"]["Code"])


def error_message(excinfo: pytest.ExceptionInfo[Any]) -> str:
    return str(excinfo.value.response["Error"]["Message"])


def error_status(excinfo: pytest.ExceptionInfo[Any]) -> int:
    return int(excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"])


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 response without its ResponseMetadata: the fields the service answered."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def all_pages(omics, operation: str, key: str, **kwargs: Any) -> list[list[Any]]:  # type: ignore[no-untyped-def]
    """Every page of a boto3 paginator, as lists of items."""
    return [page[key] for page in omics.get_paginator(operation).paginate(**kwargs)]


def ids(items: Iterable[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def s3_client(url: str, key: str = KEY, secret: str = SECRET, *, config: Config | None = None):  # type: ignore[no-untyped-def]
    """A boto3 s3 client pointed at seqstore's S3 data plane the way users do it: the one more
    variable AWS_ENDPOINT_URL_S3 (docs/s3.md), and by default no retries."""
    env = {**client_env(url), "AWS_ENDPOINT_URL_S3": url, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return boto3.session.Session().client(
            "s3", config=config or Config(retries={"max_attempts": 1, "mode": "standard"})
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
