"""Handlers: tags on any taggable resource."""

from typing import Any

from ..protocol.operations import Operation
from ..store.domain import Domain


def tag_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.tag_resource(params["resourceArn"], params["tags"])


def untag_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.untag_resource(params["resourceArn"], params["tagKeys"])


def list_tags_for_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.list_tags(params["resourceArn"])


RESOURCE = "{resourceArn}"  # the path carries the ARN itself

# The tag calls have no quota.
OPERATIONS = (
    Operation("TagResource", tag_resource, read_only=False, resource=RESOURCE),
    Operation("UntagResource", untag_resource, read_only=False, resource=RESOURCE),
    Operation("ListTagsForResource", list_tags_for_resource, read_only=True, resource=RESOURCE),
)
