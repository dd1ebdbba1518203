# Sourced by .ci/run before the tests: makes sure a PostgreSQL server answers on 127.0.0.1:5432
# (trust auth for user postgres) and exports GRANTDESK_TEST_POSTGRES, which makes the store tests
# *require* it — without a server they fail instead of skipping. Uses the server that is already
# there when one answers; otherwise installs Debian's postgresql package and starts its cluster.
# Any failure here fails CI.

GRANTDESK_PG_SERVER="postgres://postgres@127.0.0.1:5432"

grantdesk_pg_answers() {
    if command -v psql >/dev/null 2>&1; then
        psql "$GRANTDESK_PG_SERVER/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1
    else
        # No client yet: is anything listening at all?
        (exec 3<>/dev/tcp/127.0.0.1/5432) >/dev/null 2>&1
    fi
}

grantdesk_pg_install_and_start() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "postgres: not root and no sudo: cannot install PostgreSQL" >&2; return 1; }
        sudo="sudo"
    fi
    echo "postgres: nothing answers on 127.0.0.1:5432; installing Debian's postgresql"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    [ -n "$version" ] || { echo "postgres: the package installed no server" >&2; return 1; }
    if ! $sudo pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        $sudo pg_createcluster "$version" main --port 5432 >/dev/null
    fi
    # Trust local TCP connections, as the tests (and the CI machine's own server) expect.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! $sudo grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        $sudo sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    # pg_ctlcluster waits until the server accepts connections (or fails).
    $sudo pg_ctlcluster "$version" main restart
}

if grantdesk_pg_answers; then
    echo "postgres: using the server at 127.0.0.1:5432"
else
    grantdesk_pg_install_and_start || { echo "postgres: could not install or start PostgreSQL" >&2; exit 1; }
    grantdesk_pg_answers || { echo "postgres: installed, but nothing answers at $GRANTDESK_PG_SERVER" >&2; exit 1; }
    echo "postgres: started a server at 127.0.0.1:5432"
fi
export GRANTDESK_TEST_POSTGRES="$GRANTDESK_PG_SERVER"
