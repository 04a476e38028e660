#!/usr/bin/env bash
# The production topology of compose.yaml on one machine without Docker: one Redis (loopback only, its
# append-only file in a private temporary folder) and N netcall nodes sharing it, each with its own media
# plane: nginx-rtmp when nginx and its RTMP module are installed, else the embedded node-media-server.
# Ctrl-C or SIGTERM stops everything it started and removes that folder.
#
#   NETCALL_SECRET=… NETCALL_MEDIA_SECRET=… deploy/run-local.sh [flags]     (or --env-file deploy/.env)
#
# It runs the server package's compiled CLI, as the image does, rebuilt from this checkout first so a stale
# server/dist never runs (`npm ci` must have run once); --no-build runs server/dist as it is.
# Redis has no password: another user of this machine could reach its loopback port. On a shared machine,
# use the Docker topology instead.
set -euo pipefail

usage() {
  cat <<'EOF'
deploy/run-local.sh [flags]    Redis and N netcall nodes on this machine; Ctrl-C stops them all

  --nodes N            how many nodes (default 2)                              env NETCALL_LOCAL_NODES
  --port P             first node's signalling port; node i gets P+i-1 (8081)  env NETCALL_LOCAL_PORT
  --rtmp-port R        first node's RTMP port, likewise (1935)                 env NETCALL_LOCAL_RTMP_PORT
  --media-http-port H  first node's HTTP-FLV port, likewise (8000; only for the embedded plane)
                                                                               env NETCALL_LOCAL_MEDIA_HTTP_PORT
  --redis-port P       Redis's loopback port (6380, so a system Redis on 6379 is left alone)
                                                                               env NETCALL_LOCAL_REDIS_PORT
  --media M            auto, nginx or embedded (auto: nginx when it has the RTMP module)
                                                                               env NETCALL_LOCAL_MEDIA
  --host ADDR          the nodes' listen address (default 0.0.0.0)
  --public-host HOST   host in issued URLs (default: env NETCALL_PUBLIC_HOST, else the server's default,
                       this machine's LAN address)
  --env-file F         read NAME=value lines from F (e.g. deploy/.env, for the secrets); the environment wins
  --log-level L        the nodes' log level (default info)
  --no-build           run server/dist as it is instead of rebuilding it first
  --dry-run            print what it would start, and start nothing
  -h, --help           this text

Secrets: NETCALL_SECRET and NETCALL_MEDIA_SECRET (required), NETCALL_METRICS_TOKEN (optional), from the
environment or --env-file, never from flags: every local user can read a command line.
EOF
}

fail() {
  echo "run-local: $*" >&2
  exit 1
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$root/server/dist/server/cli.js"

nodes='' port='' rtmp_port='' media_http_port='' redis_port='' media='' host='' public_host=''
env_file='' log_level='info' build=1 dry_run=0
while (($# > 0)); do
  case "$1" in
    --nodes | --port | --rtmp-port | --media-http-port | --redis-port | --media | --host | --public-host | \
      --env-file | --log-level)
      (($# >= 2)) || fail "$1 needs a value"
      case "$1" in
        --nodes) nodes=$2 ;;
        --port) port=$2 ;;
        --rtmp-port) rtmp_port=$2 ;;
        --media-http-port) media_http_port=$2 ;;
        --redis-port) redis_port=$2 ;;
        --media) media=$2 ;;
        --host) host=$2 ;;
        --public-host) public_host=$2 ;;
        --env-file) env_file=$2 ;;
        --log-level) log_level=$2 ;;
      esac
      shift 2
      ;;
    --no-build)
      build=0
      shift
      ;;
    --dry-run)
      dry_run=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) fail "unknown flag $1 (--help lists them)" ;;
  esac
done

# Read as data, never run as shell (unlike `source`), with compose's precedence: what the environment already
# has wins over the file.
if [[ -n $env_file ]]; then
  [[ -r $env_file ]] || fail "--env-file $env_file: not readable"
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
      fail "--env-file $env_file: not NAME=value: $line"
    name=${BASH_REMATCH[2]} value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\'(.*)\'$ || $value =~ ^\"(.*)\"$ ]]; then value=${BASH_REMATCH[1]}; fi
    [[ -n ${!name+set} ]] || export "$name=$value"
  done <"$env_file"
fi

nodes=${nodes:-${NETCALL_LOCAL_NODES:-2}}
port=${port:-${NETCALL_LOCAL_PORT:-8081}}
rtmp_port=${rtmp_port:-${NETCALL_LOCAL_RTMP_PORT:-1935}}
media_http_port=${media_http_port:-${NETCALL_LOCAL_MEDIA_HTTP_PORT:-8000}}
redis_port=${redis_port:-${NETCALL_LOCAL_REDIS_PORT:-6380}}
media=${media:-${NETCALL_LOCAL_MEDIA:-auto}}
host=${host:-0.0.0.0}
public_host=${public_host:-${NETCALL_PUBLIC_HOST:-}}

[[ $nodes =~ ^[1-9][0-9]?$ ]] || fail "--nodes must be 1 to 99, got \"$nodes\""
check_port() {
  if ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || (($2 + $3 - 1 > 65535)); then
    fail "$1 must be a port number leaving room for $3 port(s) up to 65535, got \"$2\""
  fi
}
check_port --port "$port" "$nodes"
check_port --rtmp-port "$rtmp_port" "$nodes"
check_port --media-http-port "$media_http_port" "$nodes"
check_port --redis-port "$redis_port" 1

# What the server's own check (server/media/nginx/config.ts) looks for: the binary, then the module either
# built in or in nginx -V's --modules-path.
nginx_has_rtmp() {
  local binary info dir
  binary=$(command -v nginx || true)
  [[ -z $binary && -x /usr/sbin/nginx ]] && binary=/usr/sbin/nginx
  [[ -n $binary ]] || return 1
  info=$("$binary" -V 2>&1) || return 1
  [[ $info == *--add-module=*rtmp* ]] && return 0
  dir=$(sed -n 's/.*--modules-path=\([^ ]*\).*/\1/p' <<<"$info")
  [[ -f ${dir:-/usr/lib/nginx/modules}/ngx_rtmp_module.so ]]
}
case "$media" in
  nginx | embedded) ;;
  auto)
    if nginx_has_rtmp; then
      media=nginx
    else
      media=embedded
      echo "run-local: no nginx with the RTMP module (Debian: apt-get install nginx libnginx-mod-rtmp)," \
        "so each node runs the embedded media plane" >&2
    fi
    ;;
  *) fail "--media must be auto, nginx or embedded, got \"$media\"" ;;
esac

redis_bin=$(command -v redis-server || true)
[[ -n $redis_bin || $dry_run == 1 ]] || fail "redis-server not found (Debian: apt-get install redis-server)"
# AOF fsynced every second, no snapshots, as in compose.yaml: there a restarted Redis restores the calls in
# progress up to 1 s old (nothing changed while it was down: every request got 503). Here it keeps a local run
# writing and costing what production does; the file lives in $work and goes with it.
redis_cmd=("${redis_bin:-redis-server}" --bind 127.0.0.1 --port "$redis_port" --save ''
  --appendonly yes --appendfsync everysec --logfile '')
redis_url="redis://127.0.0.1:$redis_port"

# The node's argv: node's own flags (server/node-flags.json's), then every flag a CLI flag
# (test/process/deploy.test.ts checks both).
# Node ids are letters and digits only (the server refuses anything else: ids go into connection ids and
# stream names), so netcall1, not netcall-1; each node's log and line below are named by its id.
node_cmd() {
  local i=$1
  node_args=(node --max-semi-space-size=32 "$cli" --redis "$redis_url" --node-id "netcall$i" --host "$host"
    --port $((port + i - 1)) --rtmp-port $((rtmp_port + i - 1)) --media "$media" --log-level "$log_level")
  [[ $media == embedded ]] && node_args+=(--media-http-port $((media_http_port + i - 1)))
  [[ -n $public_host ]] && node_args+=(--public-host "$public_host")
  return 0
}

if ((dry_run)); then
  printf '%-10s' redis
  printf ' %q' "${redis_cmd[@]}"
  echo
  for ((i = 1; i <= nodes; i++)); do
    node_cmd "$i"
    printf '%-10s' "netcall$i"
    printf ' %q' "${node_args[@]}"
    echo
  done
  exit 0
fi

[[ -n ${NETCALL_SECRET:-} && -n ${NETCALL_MEDIA_SECRET:-} ]] ||
  fail "set NETCALL_SECRET and NETCALL_MEDIA_SECRET (e.g. \$(openssl rand -hex 32) each), or pass --env-file"

if ((build)); then
  [[ -d $root/node_modules/typescript ]] || fail "no dev dependencies to build the server with: run npm ci first"
  echo "run-local: building server/dist" >&2
  node "$root/server/build.js"
else
  [[ -f $cli ]] || fail "$cli is missing: run without --no-build"
fi

# A port already answering on loopback would make a ready check talk to someone else's process.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
in_use "$redis_port" && fail "port $redis_port (Redis) is in use"
for ((i = 0; i < nodes; i++)); do
  in_use $((port + i)) && fail "port $((port + i)) (netcall$((i + 1))) is in use"
  in_use $((rtmp_port + i)) && fail "port $((rtmp_port + i)) (netcall$((i + 1)) RTMP) is in use"
  if [[ $media == embedded ]] && in_use $((media_http_port + i)); then
    fail "port $((media_http_port + i)) (netcall$((i + 1)) HTTP-FLV) is in use"
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/netcall-local.XXXXXX")
redis_pid='' sleep_pid=''
node_pids=()

# Nodes first: a draining node hands its calls' media and its devices over through Redis, so Redis goes last.
stop_pid() {
  local pid=$1 grace=$2 t
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((t = 0; t < grace * 10; t++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  # Best effort from here on: one failed kill must not skip the rest.
  set +e
  # A second Ctrl-C must not cut the stopping short and leave processes behind.
  trap '' INT TERM
  trap - EXIT
  [[ -n $sleep_pid ]] && kill "$sleep_pid" 2>/dev/null
  ((${#node_pids[@]} > 0)) && echo "run-local: stopping" >&2
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${node_pids[@]}"; do stop_pid "$pid" 30; done
  [[ -n $redis_pid ]] && stop_pid "$redis_pid" 10
  rm -rf -- "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each process in a session of its own (where setsid exists): a terminal's Ctrl-C reaches only this script,
# which then stops them in order. exec keeps $! the process's own pid. Their output goes through a prefixer
# that ignores signals too, so a server shutting down never writes into a closed pipe; the copy in $work is
# where the ready line is read from.
detached() {
  if command -v setsid >/dev/null 2>&1; then exec setsid "$@"; else exec "$@"; fi
}
start() {
  local name=$1
  shift
  detached "$@" > >(
    trap '' INT TERM
    tee -- "$work/$name.log" |
      while IFS= read -r line || [[ -n $line ]]; do printf '[%s] %s\n' "$name" "$line"; done
  ) 2>&1 &
}

start redis "${redis_cmd[@]}" --dir "$work"
redis_pid=$!
redis_ping() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$redis_port"
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3
    [[ $reply == +PONG* ]]
  ) 2>/dev/null
}
for ((t = 0; ; t++)); do
  kill -0 "$redis_pid" 2>/dev/null || fail "redis-server exited before it was ready (its log is above)"
  redis_ping && break
  ((t < 100)) || fail "redis-server not ready after 10 s"
  sleep 0.1
done

# Node's fetch, since curl may not be installed; ready means /healthz says "ok" (it answers 200 degraded too).
healthy() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
    .then((res) => res.json().then((body) => process.exit(res.ok && body.status === "ok" ? 0 : 1)))
    .catch(() => process.exit(1))' "$1"
}
case "$host" in
  0.0.0.0 | ::) check_host=127.0.0.1 ;;
  *:*) check_host="[$host]" ;;
  *) check_host=$host ;;
esac

# The nodes' temporary files (nginx's private folder among them) go into $work, so nothing outlives the run.
export TMPDIR="$work"
for ((i = 1; i <= nodes; i++)); do
  node_cmd "$i"
  start "netcall$i" "${node_args[@]}"
  node_pids+=($!)
done
for ((i = 1; i <= nodes; i++)); do
  pid=${node_pids[i - 1]}
  for ((t = 0; ; t++)); do
    kill -0 "$pid" 2>/dev/null || fail "netcall$i exited before it was ready (its log is above)"
    grep -qs '^listening ' "$work/netcall$i.log" && healthy "http://$check_host:$((port + i - 1))/healthz" && break
    # nginx alone may take 20 s to give up on a port.
    ((t < 120)) || fail "netcall$i not ready after 60 s"
    sleep 0.5
  done
done

echo
echo "run-local: $nodes node(s) sharing $redis_url, media plane: $media"
urls=()
for ((i = 1; i <= nodes; i++)); do
  url=$(sed -n 's/^listening //p' "$work/netcall$i.log" | head -n 1)
  rtmp=$(sed -n 's/^media *\(rtmp:[^ ]*\).*/\1/p' "$work/netcall$i.log" | head -n 1)
  printf '  netcall%-4s %s  %s\n' "$i" "$url" "$rtmp"
  urls+=("'$url'")
done
(
  IFS=,
  echo "  client:      new Netcall({ server: [${urls[*]}], account, token })"
)
echo "  Ctrl-C stops them all."
echo

# Waits in the background, so a signal runs its trap at once rather than after a foreground sleep.
while :; do
  for ((i = 1; i <= nodes; i++)); do
    kill -0 "${node_pids[i - 1]}" 2>/dev/null || fail "netcall$i exited (its log is above); stopping the rest"
  done
  kill -0 "$redis_pid" 2>/dev/null || fail "redis-server exited (its log is above); stopping the nodes"
  sleep 1 &
  sleep_pid=$!
  wait "$sleep_pid" || true
done
