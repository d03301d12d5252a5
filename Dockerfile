# One image for the API and the worker (production topology: see docker-compose.yml).

# Front-end packages come from npm at build time; only their dist files reach the image.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
    && mkdir -p vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js vendor/htmx.min.js \
    && cp node_modules/htmx-ext-sse/dist/sse.min.js vendor/htmx-ext-sse.min.js

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tzdata: sub-accounts render times in their own time zone (zoneinfo).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Only what the distribution needs: no .venv, var/ or .env from the build context.
COPY pyproject.toml ./
COPY dramtrade ./dramtrade
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
COPY sandbox_carrier ./sandbox_carrier
COPY worker.py ./
COPY static ./static
COPY --from=assets /build/vendor ./static/vendor
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app dramtrade

USER dramtrade
ENV DRAMTRADE_API_HOST=0.0.0.0 \
    DRAMTRADE_API_PORT=8000 \
    DRAMTRADE_DATA_DIR=/tmp/dramtrade \
    DRAMTRADE_STATIC_DIR=/app/static
EXPOSE 8000

CMD ["dramtrade", "api"]
