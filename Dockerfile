# Spice Harvester: one image for OMS, BFF, Funnel and the projection worker.
#   docker build -t spice-harvester .
#   docker run -p 8000:8000 spice-harvester                  # OMS (the default command)
#   docker run -p 8002:8002 -e SPICE_HEALTH_URL=http://127.0.0.1:8002/health \
#       spice-harvester spice serve bff
# docker-compose.full.yml runs the whole stack with PostgreSQL, Redis and NATS.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/spice-harvester/.venv
# Dependencies first, from the lock with hashes, so a code change reuses this layer.
COPY requirements.lock ./
RUN /opt/spice-harvester/.venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/spice-harvester/.venv/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/spice-harvester/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SPICE_CONFIG_DIR=/opt/spice-harvester/config \
    SPICE_HEALTH_URL=http://127.0.0.1:8000/health
RUN groupadd --system spice \
    && useradd --system --gid spice --home-dir /opt/spice-harvester --shell /usr/sbin/nologin spice
WORKDIR /opt/spice-harvester
COPY --from=build /opt/spice-harvester/.venv ./.venv
COPY config ./config
COPY deploy/gunicorn_config.py ./deploy/gunicorn_config.py
# data/ (SQLite when no DATABASE_URL) and logs/ are the only places the services write.
RUN mkdir -p data logs && chown spice:spice data logs
USER spice
EXPOSE 8000 8002 8003
# Each service answers /health on its own port: set SPICE_HEALTH_URL for BFF and Funnel.
# A 503 (a required dependency down) fails the check like no answer at all.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['SPICE_HEALTH_URL'], timeout=4)"]
CMD ["spice", "serve", "oms"]
