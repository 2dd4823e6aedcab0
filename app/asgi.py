"""ASGI entry point: `uvicorn app.asgi:app`."""

from threadpoolctl import threadpool_limits

from app.main import create_app

# requests already run in parallel (threads, worker processes): BLAS threads inside each
# matrix product only contend for the same cores (3x slower matches on 2 busy cores)
threadpool_limits(1, user_api="blas")

app = create_app()
