#!/usr/bin/env bash
# Side-by-side benchmark: vhgate (SQLite and PostgreSQL) against nginx serving a static copy of
# the same person response, over the same mutual TLS (same certificates, client certificate
# required), driven by the same load generator (oha) at the same concurrency and duration.
#
#   benches/side-by-side.sh            # from the repository root (or anywhere inside it)
#
# Environment (defaults in brackets):
#   DURATION [10]      seconds per measured run; every run is preceded by WARMUP [2] seconds
#   CONNECTIONS [32]   concurrent connections of every run
#   BACKENDS ["sqlite postgres"]
#   VHGATE_BENCH_POSTGRES_URL [postgres://postgres@127.0.0.1:5432/test]  an admin connection;
#                      a fresh database is created on that server per run and dropped after
#   GATEWAY_PORT [9443], NGINX_PORT [9444]   loopback ports
#   RESULT [unset]     also write the Markdown table to this file
#
# Needs: cargo, nginx (Debian nginx-light), oha >= 1.5 (client certificates), psql, curl, jq.
# Missing nginx, jq, curl or psql are installed with apt-get, oha with `cargo install oha
# --locked`, when running as root.
#
# After every vhgate run it checks that each request that got a 2xx/4xx answer has its durable
# disclosure-log entry (the signed checkpoint's tree size before and after the run, plus a count
# of the log table at the end) and fails (exit 1) if not.
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN=${VHGATE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
GATEWAY_PORT=${GATEWAY_PORT:-9443}
NGINX_PORT=${NGINX_PORT:-9444}
RATE_SHARE=0.8   # scenario (g): this share of the measured maximum
P99_GOAL_MS=10

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/vhgate

say() { printf '==> %s\n' "$*" >&2; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------
need_apt() { # command package
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then die "$1 missing: install $2"; fi
    say "installing $2 (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_apt nginx nginx-light
need_apt jq jq
need_apt curl curl
need_apt psql postgresql-client
if ! command -v oha >/dev/null 2>&1; then
    say "installing oha (cargo install oha --locked)"
    cargo install oha --locked
fi
oha --help | grep -q -- '--cert <CERT>' ||
    die "this oha cannot present a client certificate (needs --cert/--key, oha >= 1.5)"

# --- scratch and clean-up -----------------------------------------------------------------
TMP=$(mktemp -d /tmp/vhgate-side-by-side.XXXXXX)
chmod 755 "$TMP"   # nginx workers (user nobody) read the static response below it
GATEWAY_PID=
NGINX_PID=
CHILD_PID=   # the load generator or benchmark running now
PG_DATABASES=()
psql_admin() { psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qAt "$@"; }
stop_pid() { # pid: TERM, wait up to 15 s, then KILL
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$CHILD_PID"
    stop_pid "$GATEWAY_PID"
    stop_pid "$NGINX_PID"
    for db in "${PG_DATABASES[@]}"; do
        psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Runs "$@" in the background and waits for it: a trapped INT/TERM interrupts `wait` at once
# (a foreground child would delay the trap until it ends, and oha ends normally on Ctrl-C).
interruptible() {
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID"
    CHILD_PID=
}

new_pg_database() { # sets PG_URL to a new database on the admin server (dropped on exit)
    local name="vhgate_bench_$$_${RANDOM}${RANDOM}"
    psql_admin -c "CREATE DATABASE $name" >/dev/null
    PG_DATABASES+=("$name")
    local base=${PG_ADMIN%%\?*}
    PG_URL="${base%/*}/$name"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build ----------------------------------------------------------------------------------
say "cargo build --release"
cargo build --release --quiet
[ -x "$BIN" ] || die "no binary at $BIN"

# --- load generator ---------------------------------------------------------------------------
CERTS=$TMP/certs   # one dev PKI for every server of the run
ROWS=()            # Markdown table rows, in order
FAILURES=()

# run_oha OUT URL CERT KEY [oha args...]: a warm-up run, then the measured run (JSON to OUT).
# Both wait for requests still in flight at the deadline (-w), so every request sent is
# counted. Sets ANSWERED to the number of 2xx/4xx answers of both runs.
run_oha() {
    local out=$1 url=$2 cert=$3 key=$4
    shift 4
    local common=(--no-tui --output-format json -c "$CONNECTIONS" -w
        --cacert "$CERTS/ca.pem" --cert "$cert" --key "$key" "$@" "$url")
    interruptible oha -z "${WARMUP}s" "${common[@]}" -o "$out.warmup" >/dev/null
    interruptible oha -z "${DURATION}s" "${common[@]}" -o "$out" >/dev/null
    ANSWERED=$(jq -s '[.[].statusCodeDistribution | to_entries[] | select(.key | test("^[24]")) | .value] | add // 0' \
        "$out.warmup" "$out")
}
rps() { jq -r '.summary.requestsPerSec // 0' "$1"; }
p50() { jq -r '(.latencyPercentiles.p50 // 0) * 1000' "$1"; }
p99() { jq -r '(.latencyPercentiles.p99 // 0) * 1000' "$1"; }
fmt() { LC_ALL=C printf "%.${2:-0}f" "$1"; }
calc() { awk "BEGIN { print ($*) }"; }
ratio() { # value reference
    if [ -n "$2" ] && [ "$(calc "$2 > 0")" = 1 ]; then
        LC_ALL=C printf "%.3g×" "$(calc "$1 / $2")"
    else echo "–"; fi
}
statuses() { jq -c '.statusCodeDistribution' "$1"; }
errors() { jq -r '.errorDistribution | to_entries | map("\(.value)× \(.key)") | join("; ")' "$1"; }
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"); }

# --- vhgate --------------------------------------------------------------------------------
start_gateway() { # backend [database url]
    local backend=$1 url=${2:-}
    local manifest=$TMP/$backend.json
    local args=(bench-serve --dir "$TMP/gw-$backend" --certs "$CERTS"
        --listen "127.0.0.1:$GATEWAY_PORT" --manifest "$manifest")
    [ -n "$url" ] && args+=(--database "$url")
    say "starting vhgate ($backend) on 127.0.0.1:$GATEWAY_PORT"
    RUST_LOG=${RUST_LOG:-info,sqlx=warn,vhgate::access=off} "$BIN" "${args[@]}" >"$TMP/$backend.log" 2>&1 &
    GATEWAY_PID=$!
    for _ in $(seq 600); do
        [ -f "$manifest" ] && return 0
        kill -0 "$GATEWAY_PID" 2>/dev/null || { cat "$TMP/$backend.log" >&2; die "vhgate ($backend) did not start"; }
        sleep 0.2
    done
    die "vhgate ($backend) did not describe itself within 120 s"
}
m() { jq -r "$1" "$MANIFEST"; }
# curl_as REQUEST [curl args...]: the request's partner certificate, for the gateway
curl_as() {
    local r=$1
    shift
    curl -sS --cacert "$CERTS/ca.pem" --cert "$(m ".requests.$r.cert")" --key "$(m ".requests.$r.key")" "$@"
}
log_size() { # the signed checkpoint's tree size (0 before the first entry)
    local note
    note=$(curl_as read -f "$(m .base_url)/v1/log/checkpoint" 2>/dev/null) || { echo 0; return; }
    sed -n 2p <<<"$note"
}
fresh_token() { # request: a new token of the request's partner/role/purpose (valid 900 s)
    "$BIN" dev token --certs "$CERTS" --partner "$(m ".requests.$1.partner")" \
        --role "$(m ".requests.$1.role")" --purpose "$(m ".requests.$1.purpose")"
}

# gateway_run LABEL REQUEST OUT [oha args...]: runs oha against the gateway with the request's
# certificate, token, method and body; checks statuses and the disclosure log.
gateway_run() {
    local label=$1 r=$2 out=$3
    shift 3
    local token method body args before after
    token=$(fresh_token "$r")
    method=$(m ".requests.$r.method")
    body=$(m ".requests.$r.body // empty")
    args=(-m "$method" -H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-T application/json -d "$body")
    before=$(log_size)
    run_oha "$out" "$(m .base_url)$(m ".requests.$r.path")" \
        "$(m ".requests.$r.cert")" "$(m ".requests.$r.key")" "${args[@]}" "$@"
    kill -0 "$GATEWAY_PID" 2>/dev/null || die "vhgate stopped during $label (see its log above)"
    # The writer commits before it answers; the checkpoint is signed in the same batch.
    after=$(log_size)
    local expect got errs check
    expect=$(m ".requests.$r.expect_status")
    got=$(statuses "$out")
    errs=$(errors "$out")
    if [ "$(jq -r --arg s "$expect" 'keys == [$s]' <<<"$got")" != true ]; then
        FAILURES+=("$label: expected only status $expect, got $got${errs:+; errors: $errs}")
    fi
    local logged=$((after - before))
    if [ "$logged" -lt "$ANSWERED" ]; then
        check="**MISSING $((ANSWERED - logged))**"
        FAILURES+=("$label: $ANSWERED requests answered 2xx/4xx, only $logged disclosure-log entries")
    elif [ "$logged" -gt "$ANSWERED" ]; then
        check="ok (+$((logged - ANSWERED)) unanswered)"
    else
        check="ok ($logged)"
    fi
    if [ -n "$errs" ]; then say "$label: client errors: $errs"; fi
    say "$label: $(fmt "$(rps "$out")") rps, statuses $got, log $logged entries for $ANSWERED answers"
    LAST_CHECK=$check
}

# --- nginx -------------------------------------------------------------------------------------
start_nginx() {
    mkdir -p "$TMP/nginx" "$TMP/www"
    chmod 755 "$TMP/www"
    cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    keepalive_requests 1000000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        server_name localhost;
        ssl_certificate $CERTS/gateway.pem;
        ssl_certificate_key $CERTS/gateway.key;
        ssl_client_certificate $CERTS/ca.pem;
        ssl_crl $CERTS/crl.pem;
        ssl_verify_client on;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $TMP/www;
        default_type application/json;
        location / { try_files /person.json =404; }
    }
}
EOF
    say "starting nginx on 127.0.0.1:$NGINX_PORT"
    nginx -t -q -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log"
    nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" -g 'daemon off;' &
    NGINX_PID=$!
    for _ in $(seq 100); do
        curl -sf -o /dev/null --cacert "$CERTS/ca.pem" --cert "$(m .requests.read.cert)" \
            --key "$(m .requests.read.key)" "https://localhost:$NGINX_PORT/" && return 0
        sleep 0.1
    done
    die "nginx did not answer (see $TMP/nginx/error.log)"
}

# --- the run ---------------------------------------------------------------------------------
NGINX_KA_RPS=
NGINX_NOKA_RPS=
declare -A READ_RPS
first=1
for backend in $BACKENDS; do
    case $backend in
        sqlite) start_gateway sqlite ;;
        postgres) new_pg_database && start_gateway postgres "$PG_URL" ;;
        *) die "unknown backend $backend" ;;
    esac
    MANIFEST=$TMP/$backend.json
    name=$([ "$backend" = sqlite ] && echo "vhgate SQLite" || echo "vhgate PostgreSQL")

    if [ "$first" = 1 ]; then
        first=0
        # nginx serves what the gateway answers to the full-disclosure read, byte for byte.
        mkdir -p "$TMP/www"
        curl_as read -f -o "$TMP/www/person.json" -H "Authorization: Bearer $(m .requests.read.token)" \
            "$(m .base_url)$(m .requests.read.path)"
        chmod 644 "$TMP/www/person.json"
        say "person response: $(wc -c <"$TMP/www/person.json") bytes"
        start_nginx
        url="https://localhost:$NGINX_PORT$(m .requests.read.path)"
        ngx_args=(-H "Authorization: Bearer $(m .requests.read.token)")
        run_oha "$TMP/nginx-ka.json" "$url" "$(m .requests.read.cert)" "$(m .requests.read.key)" "${ngx_args[@]}"
        run_oha "$TMP/nginx-noka.json" "$url" "$(m .requests.read.cert)" "$(m .requests.read.key)" "${ngx_args[@]}" --disable-keepalive
        for f in nginx-ka nginx-noka; do
            jq -e '(.statusCodeDistribution | keys) == ["200"]' "$TMP/$f.json" >/dev/null ||
                FAILURES+=("nginx ($f): statuses $(statuses "$TMP/$f.json"), errors: $(errors "$TMP/$f.json")")
        done
        stop_pid "$NGINX_PID"
        NGINX_PID=
        NGINX_KA_RPS=$(rps "$TMP/nginx-ka.json")
        NGINX_NOKA_RPS=$(rps "$TMP/nginx-noka.json")
        say "nginx: $(fmt "$NGINX_KA_RPS") rps keep-alive, $(fmt "$NGINX_NOKA_RPS") rps new connection per request"
        row "(a) static person response, keep-alive" nginx "$(fmt "$NGINX_KA_RPS")" \
            "$(fmt "$(p50 "$TMP/nginx-ka.json")" 2)" "$(fmt "$(p99 "$TMP/nginx-ka.json")" 2)" "1×" "–"
        row "(d) static person response, new connection per request" nginx "$(fmt "$NGINX_NOKA_RPS")" \
            "$(fmt "$(p50 "$TMP/nginx-noka.json")" 2)" "$(fmt "$(p99 "$TMP/nginx-noka.json")" 2)" "1×" "–"
    fi

    for spec in \
        "read|(a) full disclosure (GET person), keep-alive|$NGINX_KA_RPS|" \
        "lookup_hit|(b) hit/no-hit lookup: hit|$NGINX_KA_RPS|" \
        "lookup_miss|(b) hit/no-hit lookup: no hit|$NGINX_KA_RPS|" \
        "refusal|(c) refusal (403, not at the table)|$NGINX_KA_RPS|" \
        "read|(d) full disclosure, new connection per request|$NGINX_NOKA_RPS|--disable-keepalive"; do
        IFS='|' read -r r label ref extra <<<"$spec"
        out=$TMP/$backend-${label%%)*}-$r.json
        out=${out//(/}
        # shellcheck disable=SC2086 # $extra is one optional flag
        gateway_run "$name $label" "$r" "$out" $extra
        row "$label" "$name" "$(fmt "$(rps "$out")")" "$(fmt "$(p50 "$out")" 2)" "$(fmt "$(p99 "$out")" 2)" \
            "$(ratio "$(rps "$out")" "$ref")" "$LAST_CHECK"
        if [ "${label:0:3}" = "(a)" ]; then READ_RPS[$backend]=$(rps "$out"); fi
    done

    # (g) the full-disclosure read at a fixed rate below the measured maximum.
    rate=$(calc "${READ_RPS[$backend]} * $RATE_SHARE")
    out=$TMP/$backend-g.json
    gateway_run "$name (g) fixed rate" read "$out" -q "$(fmt "$rate")" --latency-correction
    p99g=$(p99 "$out")
    verdict=$([ "$(calc "$p99g <= $P99_GOAL_MS")" = 1 ] && echo "meets" || echo "**misses**")
    row "(g) full disclosure at $(fmt "$rate") rps (80% of max), p99 $verdict ≤ ${P99_GOAL_MS} ms" "$name" \
        "$(fmt "$(rps "$out")")" "$(fmt "$(p50 "$out")" 2)" "$(fmt "$p99g" 2)" "$(ratio "$(rps "$out")" "$NGINX_KA_RPS")" "$LAST_CHECK"

    # The log table itself, against the checkpoint (every entry of the run is in the database).
    final=$(log_size)
    stop_pid "$GATEWAY_PID"
    GATEWAY_PID=
    case $backend in
        postgres) db_count=$(psql "$PG_URL" -qAt -c "SELECT count(*) FROM disclosure_log") ;;
        sqlite) db_count=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM disclosure_log").fetchone()[0])' \
            "$TMP/gw-sqlite/data/vhgate-demo.db" 2>/dev/null || echo "") ;;
    esac
    if [ -n "$db_count" ] && [ "$db_count" != "$final" ]; then
        FAILURES+=("$name: the last checkpoint covers $final entries, the log table holds $db_count")
    fi
    say "$name: $final log entries in all${db_count:+, $db_count rows in disclosure_log}"
done

# (e) log appends alone, through group commit, on both backends.
parse_bench_log() { # output -> "rps p50ms p99ms"
    sed -nE 's/.*: ([0-9.]+) entries\/s; .* p50=([0-9.]+)µs p99=([0-9.]+)µs.*/\1 \2 \3/p' <<<"$1" |
        awk '{ printf "%s %.2f %.2f", $1, $2 / 1000, $3 / 1000 }'
}
for backend in $BACKENDS; do
    args=(bench-log --seconds "$DURATION")
    if [ "$backend" = postgres ]; then
        new_pg_database
        args+=(--database "$PG_URL")
    fi
    say "bench-log ($backend)"
    interruptible env RUST_LOG=warn "$BIN" "${args[@]}" >"$TMP/bench-log-$backend.txt"
    read -r lr l50 l99 <<<"$(parse_bench_log "$(cat "$TMP/bench-log-$backend.txt")")"
    name=$([ "$backend" = sqlite ] && echo "vhgate SQLite" || echo "vhgate PostgreSQL")
    row "(e) disclosure-log appends alone (128 appenders, entries/s)" "$name" "$(fmt "$lr")" "$l50" "$l99" \
        "$(ratio "$lr" "$NGINX_KA_RPS")" "–"
done

# (f) one policy decision alone (in-process, one thread).
say "bench --decisions-only"
interruptible env RUST_LOG=warn "$BIN" bench --decisions-only >"$TMP/decisions.txt"
decision_row() { # line-prefix label
    local dr d50 d99
    read -r dr d50 d99 <<<"$(grep -F "$1" "$TMP/decisions.txt" |
        sed -nE 's/.*p50=([0-9.]+)µs p99=([0-9.]+)µs .*throughput=([0-9.]+)\/s.*/\3 \1 \2/p' |
        awk '{ printf "%s %.3f %.3f", $1, $2 / 1000, $3 / 1000 }')"
    [ -n "$dr" ] || die "no '$1' line in the output of vhgate bench --decisions-only"
    row "$2" "vhgate" "$(fmt "$dr")" "$d50" "$d99" "$(ratio "$dr" "$NGINX_KA_RPS")" "–"
}
decision_row "the same read again" "(f) policy decision alone, the same read again (one thread, decisions/s)"
decision_row "a new case each time" "(f) policy decision alone, a new case each time (one thread, decisions/s)"

# --- the table ----------------------------------------------------------------------------------
table=$(
    echo "Side-by-side, $(date -u +%Y-%m-%d) on $(nproc) cores: oha $(oha --version | awk '{print $2}'), nginx $(nginx -v 2>&1 | sed 's#.*/##'), ${CONNECTIONS} connections, ${DURATION} s per run after ${WARMUP} s warm-up; mTLS with a client certificate everywhere. Load average before the run $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews the figures)."
    echo
    echo "| scenario | server | rps | p50 ms | p99 ms | vs nginx | log entries for 2xx/4xx |"
    echo "|---|---|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "vs nginx: rps divided by nginx's rps for the static person response ($(wc -c <"$TMP/www/person.json") bytes, the gateway's own answer) over keep-alive, for (d) without keep-alive; for (e) and (f), which are not HTTP requests, the same keep-alive reference."
    echo "(d): a new TCP connection and TLS 1.3 handshake per request; oha's rustls client resumes sessions and both servers accept resumption, so most are resumed handshakes (PSK + ECDHE, no certificate exchange)."
    echo "(g): oha -q RATE --latency-correction (latency counted from when each request was due)."
    echo "Log entries: the signed checkpoint's size before and after each vhgate run (warm-up included) against oha's count of 2xx/4xx answers."
)
echo
echo "$table"
[ -n "${RESULT:-}" ] && echo "$table" >"$RESULT"

if [ "${#FAILURES[@]}" -gt 0 ]; then
    printf '\nFAILED:\n' >&2
    printf '  - %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
