"""gunicorn settings for `make up` and the Docker image (the benchmarks use the same).

Threads, not only processes: a request mostly waits on PostgreSQL or Redis, and webhooks
arrive from platforms on kept-alive connections. `bench/ingest.py` measured this shape
(2 processes × 16 threads on 2 cores; `bench/inbox.py` runs 4 × 8, its --web-workers).
SCRM_WEB_WORKERS and SCRM_WEB_THREADS override it for bigger machines.
"""

import os

workers = int(os.environ.get("SCRM_WEB_WORKERS", "2"))
threads = int(os.environ.get("SCRM_WEB_THREADS", "16"))
worker_class = "gthread"
keepalive = 30  # platforms and the load generator reuse connections
backlog = 2048
timeout = 120
accesslog = None  # scrm.middleware logs each request with tokens masked
