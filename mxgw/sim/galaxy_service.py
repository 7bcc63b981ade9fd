"""The GalaxyRepository gRPC handlers over the simulated Galaxy."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from .._proto.galaxy_repository import v1 as gr
from .galaxy import DATA_TYPE_NAMES, GalaxyModel, GalaxyObjectDef

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000


def object_message(obj: GalaxyObjectDef, with_attributes: bool) -> gr.GalaxyObject:
    """One object as the wire carries it."""
    attributes = []
    if with_attributes:
        for a in obj.attributes:
            suffix = "[]" if a.is_array else ""
            attributes.append(gr.GalaxyAttribute(
                attribute_name=a.name, full_tag_reference=f"{obj.tag_name}.{a.name}{suffix}",
                mx_data_type=a.data_type, data_type_name=DATA_TYPE_NAMES.get(a.data_type, ""),
                is_array=a.is_array, array_dimension=a.array_length, mx_attribute_category=2,
                security_classification=a.security, is_historized=a.historized,
                is_alarm=a.alarm))
    return gr.GalaxyObject(
        gobject_id=obj.gobject_id, tag_name=obj.tag_name, contained_name=obj.contained_name,
        browse_name=obj.contained_name, hierarchical_name=obj.hierarchical_name or obj.tag_name,
        parent_gobject_id=obj.parent_gobject_id, is_area=obj.is_area,
        category_id=obj.category_id, template_chain=list(obj.template_chain),
        attributes=attributes)


class GalaxyService(gr.GalaxyRepositoryBase):
    """TestConnection, GetLastDeployTime, DiscoverHierarchy, WatchDeployEvents."""

    def __init__(self, galaxy: GalaxyModel) -> None:
        self.galaxy = galaxy
        self.deploy_time = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        self.deploy_sequence = 1

    async def test_connection(self, message: gr.TestConnectionRequest) -> gr.TestConnectionReply:
        return gr.TestConnectionReply(ok=True)

    async def get_last_deploy_time(
        self, message: gr.GetLastDeployTimeRequest
    ) -> gr.GetLastDeployTimeReply:
        return gr.GetLastDeployTimeReply(time_of_last_deploy=self.deploy_time,
                                         time_of_last_deploy_present=True)

    async def discover_hierarchy(
        self, message: gr.DiscoverHierarchyRequest
    ) -> gr.DiscoverHierarchyReply:
        objects = self.galaxy.objects()
        size = message.page_size or DEFAULT_PAGE_SIZE
        if not 0 < size <= MAX_PAGE_SIZE:
            raise GRPCError(Status.INVALID_ARGUMENT, f"page_size must be 1..{MAX_PAGE_SIZE}")
        try:
            start = int(message.page_token) if message.page_token else 0
        except ValueError:
            raise GRPCError(Status.INVALID_ARGUMENT, "stale or malformed page token") from None
        page = objects[start:start + size]
        with_attributes = message.include_attributes is not False
        next_token = str(start + size) if start + size < len(objects) else ""
        return gr.DiscoverHierarchyReply(
            objects=[object_message(o, with_attributes) for o in page],
            next_page_token=next_token, total_object_count=len(objects))

    async def watch_deploy_events(
        self, message: gr.WatchDeployEventsRequest
    ) -> AsyncIterator[gr.DeployEvent]:
        if message.last_seen_deploy_time != self.deploy_time:
            yield gr.DeployEvent(
                sequence=self.deploy_sequence, time_of_last_deploy=self.deploy_time,
                time_of_last_deploy_present=True, object_count=len(self.galaxy.objects()),
                attribute_count=sum(len(o.attributes) for o in self.galaxy.objects()))
        await asyncio.Event().wait()
