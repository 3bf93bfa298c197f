# squall in a container: what `squall gameday manifest` CronJobs run, and a CI gate image.
#
#   docker build -t ghcr.io/OWNER/squall:0.1.0 .
#   docker run --rm -v "$PWD:/work" ghcr.io/OWNER/squall:0.1.0 gate experiments/demo/suite.yaml
#
# The entrypoint is the `squall` command; arguments are its sub-command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SQUALL_LEDGER=/reports/ledger.jsonl

WORKDIR /src
COPY pyproject.toml README.md ./
COPY squall ./squall
# tzdata: schedules name IANA time zones (zoneinfo), and slim images carry no zone files.
RUN pip install ".[load]" tzdata \
    && rm -rf /src \
    && useradd --create-home --uid 10001 squall \
    && mkdir -p /reports /work \
    && chown squall:squall /reports /work

USER 10001
WORKDIR /work
VOLUME ["/reports"]
ENTRYPOINT ["squall"]
CMD ["--help"]
