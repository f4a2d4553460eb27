#!/usr/bin/env bash
# A local raftis cluster on loopback, for trying things out.
#
#   ./cluster.sh start [N] [--tls] [--secret]
#                             start N nodes (default 3), building first if needed;
#                             --tls: make a CA and node certificate in the cluster
#                             directory (tls/), peers talk mutual TLS and every node
#                             also serves TLS clients on port+20000 (client
#                             certificates optional); --secret: make a cluster
#                             secret file (secret) every node must prove it holds
#   ./cluster.sh start --shards S [N]
#                             a sharded cluster: S groups of N nodes (default 3), each
#                             its own Raft group; group g's nodes are g*N+1 … g*N+N;
#                             group 0 also keeps the slot map; the 16384 slots are
#                             split evenly between the (empty) groups
#   ./cluster.sh add-shard    sharded: start one more group of N nodes, with no slots yet
#                             (give it empty slots with RAFT.SHARDS ASSIGN on group 0)
#   ./cluster.sh rebalance    sharded: spread the slots evenly over every group (empty
#                             ones too), moving their keys (RAFT.SHARDS REBALANCE)
#   ./cluster.sh move G RANGE sharded: move slots FROM-TO, with their keys, to group G
#   ./cluster.sh stop         stop every node (SIGTERM, then SIGKILL after 10 s)
#   ./cluster.sh status       id, address, role, term, commit index of each node
#                             (sharded: each node's group, then groups, leaders, slots)
#   ./cluster.sh kill ID      kill -9 node ID
#   ./cluster.sh pause ID     SIGSTOP node ID          ./cluster.sh resume ID   SIGCONT it
#   ./cluster.sh restart ID   (re)start node ID with its data
#   ./cluster.sh wipe ID      kill node ID, delete its data and start it empty:
#                             the leader brings it up to date with a snapshot
#   ./cluster.sh add          start one more node that joins the cluster (--join):
#                             a learner first, promoted to voter once caught up
#   ./cluster.sh remove ID    remove node ID from the cluster (RAFT.NODE REMOVE); it exits
#   ./cluster.sh transfer [ID]  hand leadership to node ID (default: the most up to date)
#   ./cluster.sh logs ID      follow node ID's log
#   ./cluster.sh clean        stop everything and delete the cluster directory
#
# Environment: RAFTIS_CLUSTER_DIR (default ./.raftis-cluster), RAFTIS_BASE_PORT
# (client ports BASE+1.., default 7000; cluster ports +10000; HTTP ports +1000),
# RAFTIS_MULTI_ADDR=1 to give node i the address 127.0.0.i (one port for all)
# instead of one address with several ports. Settings from --tls/--secret
# are kept in the cluster directory, so restart/wipe/add use them too.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
DIR=${RAFTIS_CLUSTER_DIR:-$ROOT/.raftis-cluster}
BASE=${RAFTIS_BASE_PORT:-7000}
MULTI=${RAFTIS_MULTI_ADDR:-0}

die() { echo "cluster.sh: $*" >&2; exit 1; }
host_of() { if [ "$MULTI" = 1 ]; then echo "127.0.0.$1"; else echo 127.0.0.1; fi; }
port_of() { if [ "$MULTI" = 1 ]; then echo $((BASE + 1)); else echo $((BASE + $1)); fi; }
pid_of() { [ -f "$DIR/node$1/pid" ] && cat "$DIR/node$1/pid" || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
count() { [ -f "$DIR/size" ] && cat "$DIR/size" || echo 0; }
# Sharded clusters: the number of groups (0: not sharded) and nodes per group.
shards() { [ -f "$DIR/shards" ] && cut -d' ' -f1 "$DIR/shards" || echo 0; }
per_group() { cut -d' ' -f2 "$DIR/shards"; }
group_of() { echo $(( ($1 - 1) / $(per_group) )); }

tls_port_of() { echo $(($(port_of "$1") + 20000)); }
# The operator HTTP port (/metrics, /readyz, the cluster page at /): client port + 1000.
http_port_of() { echo $(($(port_of "$1") + 1000)); }

# Flags for the security settings `start` recorded in the cluster directory.
security_args() {
  if [ -f "$DIR/secret" ]; then printf '%s\n' --cluster-secret-file "$DIR/secret"; fi
  if [ -f "$DIR/tls/node.crt" ]; then
    printf '%s\n' --peer-tls-cert-file "$DIR/tls/node.crt" --peer-tls-key-file "$DIR/tls/node.key" --peer-tls-ca-file "$DIR/tls/ca.crt" \
      --tls-port "$(tls_port_of "$1")" --tls-cert-file "$DIR/tls/node.crt" --tls-key-file "$DIR/tls/node.key" \
      --tls-ca-cert-file "$DIR/tls/ca.crt" --tls-auth-clients optional
  fi
}

# A throwaway CA and one certificate for every node (valid for 127.0.0.1-127.0.0.254 and localhost).
make_certs() {
  command -v openssl >/dev/null || die "--tls needs openssl (apt-get install openssl)"
  local t="$DIR/tls" san="DNS:localhost" i
  for i in $(seq 1 254); do san+=",IP:127.0.0.$i"; done
  mkdir -p "$t"; chmod 700 "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$t/ca.key" -out "$t/ca.crt" \
    -days 365 -subj "/CN=raftis local cluster CA" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$t/node.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$t/node.key" -out "$t/node.csr" \
    -subj "/CN=raftis node" 2>/dev/null
  openssl x509 -req -in "$t/node.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -out "$t/node.crt" \
    -days 365 -extfile "$t/node.ext" 2>/dev/null
  chmod 600 "$t"/*.key
  echo "certificates in $t (CA: $t/ca.crt)"
}

make_secret() {
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/secret")
  echo "cluster secret in $DIR/secret"
}

peers() {
  local n=$1 s="" i
  for i in $(seq 1 "$n"); do s+="${s:+,}$i=$(host_of "$i"):$(port_of "$i")"; done
  echo "$s"
}

# Sharded: the members of node $1's group, and the flags that place it in its group.
group_peers() {
  local g s="" i n; g=$(group_of "$1"); n=$(per_group)
  for i in $(seq $((g * n + 1)) $((g * n + n))); do s+="${s:+,}$i=$(host_of "$i"):$(port_of "$i")"; done
  echo "$s"
}
shard_args() {
  [ "$(shards)" -gt 0 ] || return 0
  local g seeds="" i; g=$(group_of "$1")
  printf '%s\n' --group "$g"
  if [ "$g" != 0 ]; then
    for i in $(seq 1 "$(per_group)"); do seeds+="${seeds:+,}$(host_of "$i"):$(port_of "$i")"; done
    printf '%s\n' --shard-seeds "$seeds"
  fi
}

start_node() {
  local i=$1 n; n=$(count)
  alive "$i" && { echo "node $i already running (pid $(pid_of "$i"))"; return; }
  mkdir -p "$DIR/node$i"
  local members=(--peers "$(peers "$n")")
  [ "$(shards)" -gt 0 ] && members=(--peers "$(group_peers "$i")")
  local shard=()
  mapfile -t shard < <(shard_args "$i")
  # A node added with `add` joins through a running member instead of bootstrapping.
  [ -f "$DIR/node$i/joined" ] && members=(--join "$(any_member "$i")")
  rm -f "$DIR/node$i/removed"
  local sec=()
  mapfile -t sec < <(security_args "$i")
  nohup node "$ROOT/dist/cli/main.js" --id "$i" --bind "$(host_of "$i")" --port "$(port_of "$i")" --http-port "$(http_port_of "$i")" \
    --dir "$DIR/node$i/data" "${members[@]}" "${shard[@]}" "${sec[@]}" ${RAFTIS_ARGS:-} >>"$DIR/node$i/log" 2>&1 &
  echo $! >"$DIR/node$i/pid"
  local tlsnote=""
  if [ -f "$DIR/tls/node.crt" ]; then tlsnote=", TLS clients on $(host_of "$i"):$(tls_port_of "$i")"; fi
  echo "node $i: $(host_of "$i"):$(port_of "$i")$tlsnote pid $!"
}

any_member() { # an address of a running node other than $1 (sharded: of $1's group)
  local i
  for i in $(seq 1 "$(count)"); do
    if [ "$(shards)" -gt 0 ] && [ "$1" -ge 1 ] && [ "$(group_of "$i")" != "$(group_of "$1")" ]; then continue; fi
    [ "$i" != "$1" ] && alive "$i" && { echo "$(host_of "$i"):$(port_of "$i")"; return; }
  done
  die "no running node to join through"
}

wait_ready() {
  local i=$1 t
  for t in $(seq 1 100); do
    redis-cli -h "$(host_of "$i")" -p "$(port_of "$i")" PING >/dev/null 2>&1 && return 0
    alive "$i" || { echo "node $i exited; last log lines:"; tail -5 "$DIR/node$i/log"; return 1; }
    sleep 0.1
  done
  echo "node $i did not answer PING"; return 1
}

raft_field() { # node field
  redis-cli -h "$(host_of "$1")" -p "$(port_of "$1")" RAFT.INFO 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

# A new sharded cluster's map, sent to group 0 (redis-cli -c follows MOVED to its leader):
# every group, then the slots split evenly, group g getting the g-th share.
create_slot_map() {
  local S=$1 N=$2 g i members from to t out
  for g in $(seq 0 $((S - 1))); do
    members=()
    for i in $(seq $((g * N + 1)) $((g * N + N))); do members+=("$i@$(host_of "$i"):$(port_of "$i")"); done
    for t in $(seq 1 100); do
      out=$(redis-cli -c -h "$(host_of 1)" -p "$(port_of 1)" RAFT.SHARDS ADDGROUP "$g" "${members[@]}" 2>&1) || true
      [ "$out" = OK ] && break
      case "$out" in *"already exists"*) break ;; esac
      sleep 0.2
    done
    [ "$out" = OK ] || case "$out" in *"already exists"*) ;; *) die "RAFT.SHARDS ADDGROUP $g: $out" ;; esac
  done
  for g in $(seq 0 $((S - 1))); do
    from=$((16384 * g / S)); to=$((16384 * (g + 1) / S - 1))
    out=$(redis-cli -c -h "$(host_of 1)" -p "$(port_of 1)" RAFT.SHARDS ASSIGN "$g" "$from-$to" 2>&1) || true
    [ "$out" = OK ] || die "RAFT.SHARDS ASSIGN $g $from-$to: $out"
    echo "group $g: slots $from-$to"
  done
  # Every group adopts the map in its own log (its leader polls group 0 every second).
  for i in $(seq 1 $((S * N))); do
    for t in $(seq 1 100); do
      [ "$(redis-cli -h "$(host_of "$i")" -p "$(port_of "$i")" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')" = ok ] && break
      sleep 0.1
    done
  done
}

cmd=${1:-}
case "$cmd" in
  start)
    shift
    n=3; tls=0; secret=0; nshards=0
    while [ $# -gt 0 ]; do
      case "$1" in
        --tls) tls=1 ;;
        --secret) secret=1 ;;
        --shards) shift; [ "${1:-}" -ge 1 ] 2>/dev/null || die "--shards takes a group count"; nshards=$1 ;;
        *) [ "$1" -ge 1 ] 2>/dev/null || die "start takes a node count, --shards S, --tls and --secret"; n=$1 ;;
      esac
      shift
    done
    total=$n; [ "$nshards" -gt 0 ] && total=$((nshards * n))
    [ "$(count)" = 0 ] || [ "$(count)" = "$total" ] || die "a cluster of $(count) nodes exists in $DIR; run ./cluster.sh clean first"
    [ "$(count)" = 0 ] || [ "$(shards)" = "$nshards" ] || die "a cluster with other --shards exists in $DIR; run ./cluster.sh clean first"
    [ -f "$ROOT/dist/cli/main.js" ] || npm run build --silent
    mkdir -p "$DIR"; echo "$total" >"$DIR/size"
    fresh=0; [ "$nshards" -gt 0 ] && [ ! -f "$DIR/shards" ] && fresh=1
    [ "$nshards" -gt 0 ] && echo "$nshards $n" >"$DIR/shards"
    if [ "$tls" = 1 ] && [ ! -f "$DIR/tls/node.crt" ]; then make_certs; fi
    if [ "$secret" = 1 ] && [ ! -f "$DIR/secret" ]; then make_secret; fi
    for i in $(seq 1 "$total"); do start_node "$i"; done
    for i in $(seq 1 "$total"); do wait_ready "$i"; done
    if [ "$fresh" = 1 ]; then create_slot_map "$nshards" "$n"; fi
    [ "$nshards" -gt 0 ] && echo "sharded cluster: $nshards groups of $n nodes"
    echo "cluster of $total up; try: redis-cli -c -h $(host_of 1) -p $(port_of 1)"
    echo "cluster page: http://$(host_of 1):$(http_port_of 1)/ (metrics at /metrics)"
    if [ -f "$DIR/tls/node.crt" ]; then echo "over TLS: redis-cli --tls --cacert $DIR/tls/ca.crt -h $(host_of 1) -p $(tls_port_of 1)"; fi
    ;;
  stop)
    running=0
    for i in $(seq 1 "$(count)"); do
      alive "$i" || continue
      running=$((running + 1))
      p=$(pid_of "$i")
      kill -CONT "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true
    done
    for i in $(seq 1 "$(count)"); do
      for t in $(seq 1 100); do alive "$i" || break; sleep 0.1; done
      alive "$i" && kill -KILL "$(pid_of "$i")" 2>/dev/null || true
      rm -f "$DIR/node$i/pid"
    done
    if [ "$running" -gt 0 ]; then echo "stopped $running node(s)"; else echo "no node of the cluster in $DIR was running (RAFTIS_CLUSTER_DIR names another cluster's directory)"; fi
    ;;
  status)
    printf '%-4s %-22s %-8s %-10s %-6s %-8s %-8s\n' ID ADDRESS PID ROLE TERM COMMIT APPLIED
    for i in $(seq 1 "$(count)"); do
      if [ "$(shards)" -gt 0 ] && [ $(( (i - 1) % $(per_group) )) = 0 ]; then echo "group $(group_of "$i"):"; fi
      addr="$(host_of "$i"):$(port_of "$i")"
      if [ -f "$DIR/node$i/removed" ]; then printf '%-4s %-22s %-8s %-10s\n' "$i" "$addr" - removed; continue; fi
      if ! alive "$i"; then printf '%-4s %-22s %-8s %-10s\n' "$i" "$addr" - down; continue; fi
      state=$(ps -o state= -p "$(pid_of "$i")" | tr -d ' ')
      if [ "$state" = T ]; then printf '%-4s %-22s %-8s %-10s\n' "$i" "$addr" "$(pid_of "$i")" paused; continue; fi
      printf '%-4s %-22s %-8s %-10s %-6s %-8s %-8s\n' "$i" "$addr" "$(pid_of "$i")" "$(raft_field "$i" role)" \
        "$(raft_field "$i" term)" "$(raft_field "$i" commit_index)" "$(raft_field "$i" applied_index)"
    done
    if [ "$(shards)" -gt 0 ]; then
      for i in $(seq 1 "$(count)"); do
        alive "$i" || continue
        st=$(redis-cli -h "$(host_of "$i")" -p "$(port_of "$i")" RAFT.SHARDS STATUS 2>/dev/null | tr -d '\r') || continue
        [ -n "$st" ] || continue
        echo; echo "slot map (configuration $(echo "$st" | sed -n 's/^configuration://p'), as node $i sees it):"
        echo "$st" | sed -n 's/^group_\([0-9]*\):leader=\([^,]*\),members=\([^,]*\),slots=\(.*\)$/  group \1  leader \2  slots \4  members \3/p'
        break
      done
    fi
    ;;
  kill) alive "${2:?node id}" && kill -KILL "$(pid_of "$2")" && rm -f "$DIR/node$2/pid" && echo "node $2 killed" ;;
  pause) alive "${2:?node id}" && kill -STOP "$(pid_of "$2")" && echo "node $2 paused" ;;
  resume) alive "${2:?node id}" && kill -CONT "$(pid_of "$2")" && echo "node $2 resumed" ;;
  restart)
    i=${2:?node id}
    [ "$i" -ge 1 ] && [ "$i" -le "$(count)" ] || die "no node $i in a cluster of $(count)"
    if alive "$i"; then kill -TERM "$(pid_of "$i")"; for t in $(seq 1 100); do alive "$i" || break; sleep 0.1; done; fi
    start_node "$i"; wait_ready "$i"
    ;;
  wipe)
    id=${2:?node id}
    if alive "$id"; then kill -KILL "$(pid_of "$id")"; rm -f "$DIR/node$id/pid"; sleep 0.2; fi
    rm -rf "$DIR/node$id/data"
    echo "node $id: data deleted"
    "$0" restart "$id"
    ;;
  add)
    [ "$(count)" -ge 1 ] || die "no cluster in $DIR; run ./cluster.sh start first"
    [ "$(shards)" = 0 ] || die "add: not for a sharded cluster yet (adding nodes or groups to one is phase 2 of issue 21)"
    i=$(( $(count) + 1 ))
    via=$(any_member "$i")
    mkdir -p "$DIR/node$i"; touch "$DIR/node$i/joined"; echo "$i" >"$DIR/size"
    start_node "$i"; wait_ready "$i"
    echo "node $i joined through $via; it is promoted to voter once caught up (./cluster.sh status)"
    ;;
  add-shard)
    [ "$(shards)" -gt 0 ] || die "add-shard: the cluster in $DIR is not sharded (./cluster.sh start --shards S)"
    g=$(shards); n=$(per_group)
    echo "$((g + 1)) $n" >"$DIR/shards"; echo $(((g + 1) * n)) >"$DIR/size"
    members=()
    for i in $(seq $((g * n + 1)) $((g * n + n))); do start_node "$i"; members+=("$i@$(host_of "$i"):$(port_of "$i")"); done
    for i in $(seq $((g * n + 1)) $((g * n + n))); do wait_ready "$i"; done
    out=$(redis-cli -c -h "$(host_of 1)" -p "$(port_of 1)" RAFT.SHARDS ADDGROUP "$g" "${members[@]}" 2>&1) || true
    [ "$out" = OK ] || die "RAFT.SHARDS ADDGROUP $g: $out"
    echo "group $g added with no slots; give it slots with: ./cluster.sh rebalance (or ./cluster.sh move $g <from-to>)"
    ;;
  rebalance | move)
    [ "$(shards)" -gt 0 ] || die "$1: the cluster in $DIR is not sharded (./cluster.sh start --shards S)"
    if [ "$1" = rebalance ]; then args=(REBALANCE); else args=(MOVE "${2:?group id}" "${3:?slot or from-to}"); fi
    out=$(redis-cli -c -h "$(host_of 1)" -p "$(port_of 1)" RAFT.SHARDS "${args[@]}" 2>&1) || true
    [ "$out" = OK ] || die "RAFT.SHARDS ${args[*]}: $out"
    "$0" status
    ;;
  remove)
    id=${2:?node id}
    via=$(any_member "$id")
    redis-cli -c -h "${via%:*}" -p "${via##*:}" RAFT.NODE REMOVE "$id"
    touch "$DIR/node$id/removed"
    for t in $(seq 1 100); do alive "$id" || break; sleep 0.1; done
    rm -f "$DIR/node$id/pid"
    echo "node $id removed"
    ;;
  transfer)
    via=$(any_member "${2:-0}")
    redis-cli -c -h "${via%:*}" -p "${via##*:}" RAFT.TRANSFER_LEADER ${2:-}
    ;;
  logs) tail -n 50 -f "$DIR/node${2:?node id}/log" ;;
  clean) [ "$(count)" = 0 ] || "$0" stop; rm -rf "$DIR"; echo "removed $DIR" ;;
  *) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || exit 1 ;;
esac
