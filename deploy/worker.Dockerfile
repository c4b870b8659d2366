# The load-generator image for deploy/k8s/workers.yaml: this checkout, the harness venv, `bench worker`.
#   docker build -f deploy/worker.Dockerfile -t REGISTRY/bench-worker:$(git rev-parse --short HEAD) .
# Same checkout as the master's: it refuses workers whose harness version or scenario files differ.
FROM python:3.11-slim-bookworm
WORKDIR /bench
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY harness harness
COPY scenarios scenarios
RUN pip install --no-cache-dir --no-deps -e . && useradd --uid 10001 --no-create-home bench
USER 10001
ENTRYPOINT []
CMD ["bench", "worker", "--help"]
