# A read-only publication of the catalog: the database is built into the image and served
# immutable, with the same datasette.yaml and metadata.yaml as `refdb serve`.
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -c requirements.lock . \
 && refdb build --catalog catalog --output /app/refdb.db \
 && datasette inspect /app/refdb.db --inspect-file /app/refdb.inspect.json
EXPOSE 8001
CMD ["datasette", "serve", "-i", "/app/refdb.db", "-c", "/app/datasette.yaml", "-m", "/app/metadata.yaml", "--host", "0.0.0.0", "--port", "8001", "--inspect-file", "/app/refdb.inspect.json"]
