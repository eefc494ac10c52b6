"""Handlers: tags on any taggable resource."""

from typing import Any

from ..store.domain import Domain


def tag_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.tag_resource(params["resourceArn"], params["tags"])


def untag_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.untag_resource(params["resourceArn"], params["tagKeys"])


def list_tags_for_resource(domain: Domain, params: dict[str, Any]) -> dict[str, Any]:
    return domain.tagging.list_tags(params["resourceArn"])


HANDLERS = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
