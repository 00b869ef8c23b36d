#!/bin/sh
# One-shot: create (first run) and upgrade (every run) Temporal's two PostgreSQL schemas.
set -eu
until nc -z postgresql 5432; do echo "waiting for postgresql"; sleep 1; done
tool() { temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal -p 5432 --db "$@"; }
for db in temporal temporal_visibility; do
  # create/setup fail harmlessly when the volume already holds the database.
  tool "$db" create || true
  tool "$db" setup-schema -v 0.0 || true
done
tool temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
tool temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "schemas ready"
