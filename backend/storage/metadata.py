"""All tables, imported in one place so Alembic and tests see the whole schema."""

from backend.devices import models as _devices  # noqa: F401
from backend.enforcement import models as _enforcement  # noqa: F401
from backend.permits import models as _permits  # noqa: F401
from backend.storage.base import Base

metadata = Base.metadata
