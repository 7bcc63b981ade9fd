"""The simulated Galaxy and its GalaxyRepository service.

`defs` holds the vocabulary (native data types, security classifications, object and
attribute definitions), `templates` the templates objects derive from, `snapshot` one
deploy in compact form, `model` the deployed Galaxy with its redeploys and reference
resolution, `query` the DiscoverHierarchy/BrowseChildren filters and paging, `encoding` the
hand-made protobuf encoding of pages, and `service` the gRPC handlers. The names the rest
of the simulator uses are re-exported here.
"""

from .defs import (
    CATEGORY_AREA,
    CONFIGURE,
    DATA_TYPE_NAMES,
    FREE_ACCESS,
    MX_BOOLEAN,
    MX_DOUBLE,
    MX_ELAPSED,
    MX_FLOAT,
    MX_INTEGER,
    MX_STRING,
    MX_TIME,
    OPERATE,
    SECURED_WRITE,
    TUNE,
    VERIFIED_WRITE,
    VIEW_ONLY,
    AttributeDef,
    GalaxyObjectDef,
)
from .model import (
    DEFAULT_OBJECTS,
    INDEX_OUT_OF_RANGE,
    INVALID_INDEX,
    INVALID_REFERENCE,
    GalaxyModel,
    Resolved,
    ResolveError,
)
from .service import GalaxyService
from .snapshot import Snapshot
from .templates import TEST_MACHINE_ATTRIBUTES

__all__ = [
    "CATEGORY_AREA", "CONFIGURE", "DATA_TYPE_NAMES", "DEFAULT_OBJECTS", "FREE_ACCESS",
    "INDEX_OUT_OF_RANGE", "INVALID_INDEX", "INVALID_REFERENCE", "MX_BOOLEAN", "MX_DOUBLE",
    "MX_ELAPSED", "MX_FLOAT", "MX_INTEGER", "MX_STRING", "MX_TIME", "OPERATE",
    "SECURED_WRITE", "TEST_MACHINE_ATTRIBUTES", "TUNE", "VERIFIED_WRITE", "VIEW_ONLY",
    "AttributeDef", "GalaxyModel", "GalaxyObjectDef", "GalaxyService", "ResolveError",
    "Resolved", "Snapshot",
]
