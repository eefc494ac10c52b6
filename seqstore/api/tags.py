"""Handlers: tags on any taggable resource."""

from typing import Any

from ..store.context import StoreContext


def tag_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.tag_resource(params["resourceArn"], params["tags"])


def untag_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.untag_resource(params["resourceArn"], params["tagKeys"])


def list_tags_for_resource(store: StoreContext, params: dict[str, Any]) -> dict[str, Any]:
    return store.tags.list_tags(params["resourceArn"])


HANDLERS = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
