FROM python:3.11-slim
WORKDIR /srv/koopmatch
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY matching matching
COPY migrations migrations
COPY seed_data seed_data
RUN pip install --no-cache-dir torch==2.13.0 \
    && pip install --no-cache-dir -e .
ENV HF_HUB_OFFLINE=1
EXPOSE 8000
CMD ["koopmatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
