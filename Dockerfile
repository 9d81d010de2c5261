# The gateway as a container (docs/package.md):
#   docker build -t connected-clients-gateway .
#   docker run -p 8080:8080 -v gateway-var:/srv/gateway/var connected-clients-gateway
# SQLite in the var/ volume by default; GATEWAY_DATABASE_URL=postgresql://... for PostgreSQL (compose.yaml).

# Build stage: the wheel, exactly what `pip install .` installs.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md LICENSE ./
COPY gateway ./gateway
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_WORKERS=2
# Runtime dependencies at the versions CI tests (constraints.txt), with PostgreSQL's driver.
COPY --from=build /dist /tmp/dist
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt "$(ls /tmp/dist/*.whl)[postgres]" \
    && rm -rf /tmp/dist /tmp/constraints.txt
# A non-root user; the database (SQLite), the demo credentials and TLS files live in var/, a volume.
RUN useradd --system --uid 10001 --create-home --home-dir /srv/gateway gateway \
    && mkdir /srv/gateway/var && chown gateway:gateway /srv/gateway/var
WORKDIR /srv/gateway
USER gateway
VOLUME ["/srv/gateway/var"]
EXPOSE 8080
# Ready: the database answers and its schema is current (slim images have no curl; Python does the GET).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
# Migrate, load the demo population once, print the demo account, serve on every interface.
CMD ["gateway", "serve", "--bind", "0.0.0.0:8080"]
