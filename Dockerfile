# Axis node image. Production-like runs: docker compose up (compose.yaml: RabbitMQ, PostgreSQL).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    AXIS_DATA_DIR=/var/lib/axis AXIS_HOST=0.0.0.0 AXIS_PORT=8080

# libmagic1: attachment types by their bytes (Art. 4.3); xmlsec1: signature interop checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 xmlsec1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/axis --create-home axis

# The wheel carries the XSDs, WSDL and default configuration (axis/_data): nothing of the
# source tree is needed at run time, so it is built in /tmp and removed. Own settings:
# AXIS_CONFIG=/etc/axis/axis.toml (mounted), trust.anchors_dir pointing at your anchors.
WORKDIR /tmp/axis-src
COPY pyproject.toml README.md ./
COPY axis ./axis
COPY adapters ./adapters
RUN pip install . && cd / && rm -rf /tmp/axis-src

WORKDIR /var/lib/axis

USER axis
VOLUME ["/var/lib/axis"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status == 200 else 1)"
# The whole node in one process. Production runs two kinds from this image
# (compose.yaml, docs/deployment.md): `axis serve --no-background --workers N` (HTTP) and
# `axis worker` (delivery, push, scheduled jobs; no port, so no HEALTHCHECK there).
CMD ["axis", "serve"]
