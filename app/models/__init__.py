"""All ORM classes, imported here so Alembic and the app see one metadata."""

from app.models import audit as audit  # registers the audit log
from app.models import cooperation as cooperation  # registers cooperation requests
from app.models import curation as curation  # registers the merge history table
from app.models import event as event  # registers the event tables on Base.metadata
from app.models import index_state as index_state  # change counter and encoding cache
from app.models import invitation as invitation  # one-time account links
from app.models import login_attempt as login_attempt  # login limits of all processes
from app.models import ranking as ranking  # refitted ranking weights
from app.models import schedule_run as schedule_run  # background schedule computations
from app.models import user as user  # registers the account tables on Base.metadata
from app.models import web_import as web_import  # uploads and imports of the staff pages
from app.models.base import Base
from app.models.organization import Competence, KnownRelationship, Organization
from app.models.taxonomy import NaceCode

__all__ = ["Base", "Competence", "KnownRelationship", "NaceCode", "Organization"]
