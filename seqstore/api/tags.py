"""Handlers: tags on any taggable resource."""

from typing import Any

from ..protocol.operations import Operation
from ..store.context import StoreContext


def tag_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.tag_resource(params["resourceArn"], params["tags"])


def untag_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.untag_resource(params["resourceArn"], params["tagKeys"])


def list_tags_for_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.list_tags(params["resourceArn"])


RESOURCE = "{resourceArn}"  # the path carries the ARN itself

# The tag calls have no quota.
OPERATIONS = (
    Operation("TagResource", tag_resource, read_only=False, resource=RESOURCE),
    Operation("UntagResource", untag_resource, read_only=False, resource=RESOURCE),
    Operation("ListTagsForResource", list_tags_for_resource, read_only=True, resource=RESOURCE),
)
