"""All tables, imported in one place so Alembic and tests see the whole schema."""

from backend.accounts import models as _accounts  # noqa: F401
from backend.audit import models as _audit  # noqa: F401
from backend.billing import models as _billing  # noqa: F401
from backend.devices import models as _devices  # noqa: F401
from backend.enforcement import models as _enforcement  # noqa: F401
from backend.permits import models as _permits  # noqa: F401
from backend.review import models as _review  # noqa: F401
from backend.storage.base import Base

metadata = Base.metadata
