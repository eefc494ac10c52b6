"""The S3 access policy evaluator on its own (seqstore/store/s3_policy.py; docs/s3.md,
"Access policies"): IAM's rules on parsed policies, and the refusals of what it does not
evaluate. The live S3 plane enforcing them is tests/test_s3_policy.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seqstore.errors import ValidationException
from seqstore.store.s3_policy import Decision, RequestContext, parse, principal_arn

ACCOUNT = "123456789012"
POINT = f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/{ACCOUNT}-1234567890"
PREFIX = f"{ACCOUNT}/sequenceStore/1234567890/readSet/"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**more: Any) -> dict[str, Any]:
    """An Allow of everything to the account, with `more` elements (NotAction and NotResource in
    place of Action and Resource)."""
    statement = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:*", "Resource": f"{POINT}*"}
    for name in ("Action", "Resource"):
        if f"Not{name}" in more:
            del statement[name]
    return {**statement, **more}


def deny(**more: Any) -> dict[str, Any]:
    return {**allow(**more), "Effect": "Deny"}


def decide(text: str, user: str | None = "alice", action: str = "s3:GetObject", key: str = "1111111111/r1.fq.gz",
           **keys: str) -> Decision:
    resource = f"{POINT}/object/{PREFIX}{key}" if action != "s3:ListBucket" else POINT
    context = RequestContext(principal_arn(ACCOUNT, user), action, resource, keys)
    return parse(text, POINT, ACCOUNT).evaluate(context)[0]


def test_explicit_deny_wins_over_allow_and_nothing_matching_is_no_match() -> None:
    one = f"{POINT}/object/{PREFIX}1111111111/*"
    text = policy(allow(), deny(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, Resource=one))
    assert decide(text, "alice") is Decision.ALLOW
    assert decide(text, "bob") is Decision.DENY
    assert decide(text, "bob", key="2222222222/r1.fq.gz") is Decision.ALLOW
    assert decide(policy(), "alice") is Decision.NO_MATCH  # no statements: nothing is allowed


def test_principals_star_account_root_and_one_user() -> None:
    for principal in ("*", {"AWS": "*"}, {"AWS": ACCOUNT}, {"AWS": ROOT}, {"AWS": [ACCOUNT, ROOT]}):
        assert decide(policy(allow(Principal=principal)), "anyone") is Decision.ALLOW
    only_bob = policy(allow(Principal={"AWS": [f"arn:aws:iam::{ACCOUNT}:user/bob"]}))
    assert decide(only_bob, "bob") is Decision.ALLOW
    assert decide(only_bob, "alice") is Decision.NO_MATCH
    assert decide(only_bob, None) is Decision.NO_MATCH  # --auth none: the account root, not bob


def test_actions_with_wildcards_match_case_insensitively() -> None:
    text = policy(allow(Action=["S3:getobject*"]))
    assert decide(text, action="s3:GetObjectTagging") is Decision.ALLOW
    assert decide(text, action="s3:ListBucket") is Decision.NO_MATCH
    assert decide(policy(allow(Action="*")), action="s3:ListBucket") is Decision.ALLOW
    not_list = policy(allow(NotAction="s3:ListBucket"))
    assert decide(not_list, action="s3:GetObject") is Decision.ALLOW
    assert decide(not_list, action="s3:ListBucket") is Decision.NO_MATCH


def test_resources_with_wildcards_and_not_resource() -> None:
    text = policy(allow(Resource=f"{POINT}/object/{PREFIX}11111111??/*"))
    assert decide(text, key="1111111122/r1.fq.gz") is Decision.ALLOW
    assert decide(text, key="2222222222/r1.fq.gz") is Decision.NO_MATCH
    assert decide(text, action="s3:ListBucket") is Decision.NO_MATCH
    assert decide(policy(allow(Resource=POINT)), action="s3:ListBucket") is Decision.ALLOW
    others = policy(allow(NotResource=f"{POINT}/object/{PREFIX}1111111111/*"))
    assert decide(others, key="1111111111/x") is Decision.NO_MATCH
    assert decide(others, key="2222222222/x") is Decision.ALLOW


def test_conditions_on_auth_type_age_source_ip_and_listing() -> None:
    presigned = policy(allow(Condition={"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}))
    assert decide(presigned, **{"s3:authtype": "REST-QUERY-STRING"}) is Decision.ALLOW
    assert decide(presigned, **{"s3:authtype": "REST-HEADER"}) is Decision.NO_MATCH
    assert decide(presigned) is Decision.NO_MATCH  # an unsigned request has no s3:authType

    young = policy(allow(Condition={"NumericLessThan": {"s3:signatureAge": 600000}}))
    assert decide(young, **{"s3:signatureage": "1000"}) is Decision.ALLOW
    assert decide(young, **{"s3:signatureage": "700000"}) is Decision.NO_MATCH

    local = policy(allow(Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.1/32", "10.0.0.0/8"]}}))
    assert decide(local, **{"aws:sourceip": "10.2.3.4"}) is Decision.ALLOW
    assert decide(local, **{"aws:sourceip": "::ffff:127.0.0.1"}) is Decision.ALLOW
    assert decide(local, **{"aws:sourceip": "192.168.1.1"}) is Decision.NO_MATCH
    away = policy(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert decide(away, **{"aws:sourceip": "127.0.0.1"}) is Decision.ALLOW
    assert decide(away, **{"aws:sourceip": "10.0.0.1"}) is Decision.DENY

    top = policy(allow(Condition={"StringLike": {"s3:prefix": f"{PREFIX}*"}, "Null": {"s3:delimiter": "true"}}))
    assert decide(top, action="s3:ListBucket", **{"s3:prefix": f"{PREFIX}1"}) is Decision.ALLOW
    assert decide(top, action="s3:ListBucket", **{"s3:prefix": ""}) is Decision.NO_MATCH
    assert decide(top, action="s3:ListBucket", **{"s3:prefix": PREFIX, "s3:delimiter": "/"}) is Decision.NO_MATCH


def test_missing_keys_negated_operators_and_if_exists() -> None:
    negated = policy(allow(Condition={"StringNotEquals": {"s3:authType": "REST-HEADER"}}))
    assert decide(negated) is Decision.ALLOW  # absent key: a negated operator holds
    if_exists = policy(allow(Condition={"NumericLessThanIfExists": {"s3:max-keys": "10"}}))
    assert decide(if_exists, action="s3:ListBucket") is Decision.ALLOW
    assert decide(if_exists, action="s3:ListBucket", **{"s3:max-keys": "100"}) is Decision.NO_MATCH
    secure = policy(allow(Condition={"Bool": {"aws:SecureTransport": True}}))
    assert decide(secure, **{"aws:securetransport": "false"}) is Decision.NO_MATCH
    assert decide(secure, **{"aws:securetransport": "true"}) is Decision.ALLOW
    arn = policy(allow(Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ali*"}}))
    assert decide(arn, "alice", **{"aws:principalarn": principal_arn(ACCOUNT, "alice")}) is Decision.ALLOW
    assert decide(arn, "bob", **{"aws:principalarn": principal_arn(ACCOUNT, "bob")}) is Decision.NO_MATCH


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ({**allow(), "Effect": "allow"}, "Effect"),
        ({**allow(), "NotPrincipal": {"AWS": ROOT}}, "NotPrincipal"),
        (allow(Principal={"Service": "omics.amazonaws.com"}), "'Service'"),
        (allow(Principal={"AWS": "arn:aws:iam::999999999999:root"}), "999999999999"),
        (allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/r"}), "role/r"),
        (allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/a*"}), "wildcards"),
        (allow(Action="omics:GetReadSet"), "omics:GetReadSet"),
        (allow(Action="s3:PutObject"), "s3:PutObject"),
        (allow(Resource="arn:aws:s3:::other-bucket/*"), "other-bucket"),
        (allow(Resource=f"{POINT}/object/${{aws:username}}/*"), "policy variables"),
        (allow(Condition={"StringEquals": {"s3:ExistingObjectTag/project": "x"}}), "s3:ExistingObjectTag"),
        (allow(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}), "DateLessThan"),
        (allow(Condition={"IpAddress": {"s3:authType": "REST-HEADER"}}), "IpAddress does not apply"),
        (allow(Condition={"IpAddress": {"aws:SourceIp": "not-an-ip"}}), "CIDR"),
        (allow(Condition={"ForAnyValue:StringEquals": {"s3:prefix": "a"}}), "set operators"),
        (allow(Condition={"NumericLessThan": {"s3:signatureAge": "soon"}}), "numbers"),
        ({"Effect": "Allow", "Principal": "*", "Resource": POINT}, "Action and NotAction"),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": POINT}, "Principal is required"),
        (allow(Extra=1), "'Extra'"),
    ],
)
def test_what_the_evaluator_does_not_understand_is_refused_naming_the_statement(
    statement: dict[str, Any], named: str
) -> None:
    text = policy(allow(Sid="First"), {"Sid": "Second", **statement})
    with pytest.raises(ValidationException) as refused:
        parse(text, POINT, ACCOUNT)
    message = str(refused.value)
    assert "Statement[1] (Sid 'Second')" in message and named in message, message


def test_a_policy_needs_its_version_and_statements() -> None:
    for document, named in (
        ({"Statement": [allow()]}, "Version"),
        ({"Version": "2008-10-17", "Statement": [allow()]}, "Version"),
        ({"Version": "2012-10-17"}, "Statement"),
        ({"Version": "2012-10-17", "Statement": [allow(Sid="a"), allow(Sid="a")]}, "unique"),
        ([], "object"),
    ):
        with pytest.raises(ValidationException, match=named):
            parse(json.dumps(document), POINT, ACCOUNT)
    assert len(parse(json.dumps({"Version": "2012-10-17", "Statement": allow()}), POINT, ACCOUNT).statements) == 1
