"""ASGI entry point: `uvicorn app.asgi:app`."""

from threadpoolctl import threadpool_limits

from app.config import get_settings
from app.gc_policy import GcPolicy
from app.main import create_app

# requests already run in parallel (threads, worker processes): BLAS threads inside each
# matrix product only contend for the same cores (3x slower matches on 2 busy cores)
threadpool_limits(1, user_api="blas")

# a server process freezes its long-lived objects for the garbage collector (app.gc_policy)
app = create_app(gc_policy=GcPolicy.from_settings(get_settings()))
