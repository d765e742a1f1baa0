#!/bin/sh
# The role the services run as (docker-compose): it logs in and owns nothing. The migrations, run as the owner
# (POSTGRES_USER), grant it ordinary DML on each service's tables and only INSERT and SELECT on the audit
# trails (runtime/migrate.py grant_service_role): it cannot update, delete or truncate an audit row, drop or
# alter the table, disable its trigger, or set session_replication_role (superuser only).
set -eu
: "${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD, the password of the services' role kinerja_app}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE kinerja_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'app_password';
SQL
for database in kinerja_directory kinerja_attendance kinerja_activities kinerja_approvals kinerja_scoring \
                kinerja_payroll kinerja_identity; do
  # only the owner creates objects; the services' role uses what the migrations grant it
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$database" \
       -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT CONNECT ON DATABASE $database TO kinerja_app;"
done
