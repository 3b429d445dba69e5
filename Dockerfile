# syntax=docker/dockerfile:1
# Build stage: a wheel of the connector and wheels of its runtime dependencies only.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connector ./connector
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim Python, no compilers, no dev tools, a non-root user.
FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1
RUN groupadd --system --gid 10001 vihat \
    && useradd --system --uid 10001 --gid vihat --home-dir /nonexistent --shell /usr/sbin/nologin vihat
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "vihat-kafka-connector==${VERSION}" \
    && rm -rf /wheels
COPY config/connector.example.yaml /etc/vihat/connector.yaml
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["vihat-connector"]
CMD ["run", "--config", "/etc/vihat/connector.yaml"]
