#!/usr/bin/env bash
# Local services for Airlock's tests and dev runs (see scripts/services/README.md):
#   clamd     ClamAV daemon with the project's own test signatures (127.0.0.1:3310 + unix socket)
#   rgw       one-node Ceph memstore cluster + RADOS Gateway, S3 on 127.0.0.1:7480
#   chromium  /usr/bin/chromium for Playwright
#
# Usage: scripts/services.sh [start|stop|restart|status] [clamd] [rgw] [chromium]
#        (default command: start; default services: all)
# Idempotent: starting what already runs does nothing. Debian 12, run as root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TPL="$HERE/services"
STATE="$(realpath -m "${AIRLOCK_SERVICES_DIR:-/tmp/airlock-services}")"
CLAMD_PORT="${AIRLOCK_CLAMD_PORT:-3310}"
RGW_PORT="${AIRLOCK_RGW_PORT:-7480}"
MON_PORT="${AIRLOCK_CEPH_MON_PORT:-6789}"
MEMSTORE_BYTES="${AIRLOCK_CEPH_MEMSTORE_BYTES:-1073741824}"
S3_UID="airlock-test"
S3_ACCESS_KEY="airlock-test"
S3_SECRET_KEY="airlock-test-secret"

CLAM_DIR="$STATE/clamav"
CEPH_DIR="$STATE/ceph"
CEPH_CONF="$CEPH_DIR/ceph.conf"

# ---------------------------------------------------------------- helpers
now_ms() { local t="${EPOCHREALTIME//[!0-9]/}"; echo $((10#$t / 1000)); }
T_START="$(now_ms)"
log() {
  local ms=$(($(now_ms) - T_START))
  printf '[services %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*" >&2
}
die() {
  log "ERROR: $*"
  exit 1
}
# Print the tail of a log file to stderr (used before dying).
show_log() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 20 "$f" >&2 || true
  done
  printf -- '-----\n' >&2
}

# pid_alive PIDFILE COMM: true when PIDFILE names a live process whose command is COMM.
pid_alive() {
  local pid comm stat
  [[ -f $1 ]] || return 1
  read -r pid <"$1" 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r comm <"/proc/$pid/comm" 2>/dev/null || return 1
  [[ $comm == "$2" ]] || return 1
  read -r stat <"/proc/$pid/stat" 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ ${stat:0:1} != [ZX] ]] # not a zombie / dead
}
pid_of() { local pid; read -r pid <"$1" 2>/dev/null && echo "$pid"; }

# stop_pidfile LABEL PIDFILE COMM: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pidfile() {
  local label=$1 file=$2 comm=$3 pid i
  if ! pid_alive "$file" "$comm"; then
    rm -f "$file"
    return 0
  fi
  pid="$(pid_of "$file")"
  log "$label: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    [[ -d /proc/$pid ]] || break
    sleep 0.1
  done
  if [[ -d /proc/$pid ]]; then
    log "$label: still alive after 15 s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$file"
}

# render TEMPLATE DEST: replace @VARS@; returns 0 when DEST changed.
render() {
  local tpl=$1 dest=$2 text
  text="$(<"$tpl")"
  text="${text//@CLAM_DIR@/$CLAM_DIR}"
  text="${text//@CEPH_DIR@/$CEPH_DIR}"
  text="${text//@CLAMD_PORT@/$CLAMD_PORT}"
  text="${text//@RGW_PORT@/$RGW_PORT}"
  text="${text//@MON_PORT@/$MON_PORT}"
  text="${text//@MEMSTORE_BYTES@/$MEMSTORE_BYTES}"
  text="${text//@FSID@/${FSID:-}}"
  if [[ -f $dest ]] && [[ "$(<"$dest")" == "$text" ]]; then return 1; fi
  printf '%s\n' "$text" >"$dest.tmp"
  mv -f "$dest.tmp" "$dest"
}

# tcp_open PORT: something accepts connections on 127.0.0.1:PORT.
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- packages
declare -A PKGS=(
  [clamd]="clamav-daemon clamdscan clamav-testfiles"
  [rgw]="ceph-mon ceph-osd radosgw"
  [chromium]="chromium"
)
declare -A CMDS=(
  [clamd]="clamd clamdscan"
  [rgw]="ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool"
  [chromium]="chromium"
)

# ensure_packages SERVICE...: apt-get install what is missing (one apt-get update at most).
ensure_packages() {
  local want=() missing=() s p line t0
  for s in "$@"; do
    # shellcheck disable=SC2206
    want+=(${PKGS[$s]})
  done
  ((${#want[@]})) || return 0
  declare -A ok=()
  while read -r p line; do
    [[ $line == installed ]] && ok[$p]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null || true)
  for p in "${want[@]}"; do [[ -n ${ok[$p]:-} ]] || missing+=("$p"); done
  if ((${#missing[@]})); then
    t0="$(now_ms)"
    log "packages: installing ${missing[*]} (apt-get update + install, may take a few minutes)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -qq >&2 || die "apt-get update failed"
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed"
    log "packages: installed in $((($(now_ms) - t0) / 1000)) s"
  fi
  for s in "$@"; do
    for p in ${CMDS[$s]}; do
      command -v "$p" >/dev/null 2>&1 || die "$s: command '$p' not found after installing ${PKGS[$s]}"
    done
  done
}

# ---------------------------------------------------------------- clamd
CLAMD_CONF="$CLAM_DIR/clamd.conf"
CLAMD_PID="$CLAM_DIR/run/clamd.pid"
CLAMD_LOG="$CLAM_DIR/log/clamd.log"

# clamd_cmd CMD: send a z-command over TCP, print the reply (NUL-terminated) without the NUL.
clamd_cmd() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$CLAMD_PORT" || exit 1
    printf 'z%s\0' "$1" >&3
    IFS= read -r -d '' -t 5 reply <&3 || [[ -n ${reply:-} ]] || exit 1
    printf '%s' "$reply"
  ) 2>/dev/null
}
clamd_pong() { [[ "$(clamd_cmd PING)" == PONG ]]; }

install_clamav_db() { # returns 0 when the installed DB changed
  local f changed=1
  for f in "$TPL"/clamav-db/*.hdb "$TPL"/clamav-db/*.ndb; do
    [[ -f $f ]] || continue
    if ! cmp -s "$f" "$CLAM_DIR/db/${f##*/}"; then
      cp -f "$f" "$CLAM_DIR/db/${f##*/}"
      changed=0
    fi
  done
  for f in "$CLAM_DIR"/db/*; do # drop signatures that were removed from the repo
    [[ -f $f && ! -f "$TPL/clamav-db/${f##*/}" ]] || continue
    rm -f "$f"
    changed=0
  done
  return $changed
}

start_clamd() {
  local t0 db_changed=0 conf_changed=0 i
  t0="$(now_ms)"
  mkdir -p "$CLAM_DIR"/{db,run,log,tmp}
  install_clamav_db && db_changed=1
  render "$TPL/clamd.conf.in" "$CLAMD_CONF" && conf_changed=1

  if pid_alive "$CLAMD_PID" clamd; then
    if ((conf_changed)); then
      log "clamd: config changed, restarting"
      stop_pidfile clamd "$CLAMD_PID" clamd
    elif clamd_pong; then
      if ((db_changed)); then
        [[ "$(clamd_cmd RELOAD)" == RELOADING ]] || die "clamd: RELOAD failed"
        sleep 0.3
        log "clamd: signatures changed, reloaded"
      fi
      log "clamd: already running (pid $(pid_of "$CLAMD_PID"), 127.0.0.1:$CLAMD_PORT)"
      return 0
    else
      log "clamd: pid $(pid_of "$CLAMD_PID") does not answer PING, restarting"
      stop_pidfile clamd "$CLAMD_PID" clamd
    fi
  fi
  rm -f "$CLAMD_PID" "$CLAM_DIR/run/clamd.sock"
  if tcp_open "$CLAMD_PORT"; then
    die "clamd: 127.0.0.1:$CLAMD_PORT is already taken by a process this script did not start" \
      "(pid file $CLAMD_PID); stop it or set AIRLOCK_CLAMD_PORT"
  fi

  log "clamd: starting (db $CLAM_DIR/db, 127.0.0.1:$CLAMD_PORT, $CLAM_DIR/run/clamd.sock)"
  # Foreground no: clamd forks itself and writes the pid file. Never leave our stdio to the daemon.
  if ! clamd -c "$CLAMD_CONF" </dev/null >>"$CLAM_DIR/log/clamd.stdout" 2>&1; then
    show_log "$CLAM_DIR/log/clamd.stdout" "$CLAMD_LOG"
    die "clamd: failed to start"
  fi
  for ((i = 0; i < 300; i++)); do
    clamd_pong && break
    sleep 0.1
  done
  if ! clamd_pong; then
    show_log "$CLAM_DIR/log/clamd.stdout" "$CLAMD_LOG"
    die "clamd: no PONG on 127.0.0.1:$CLAMD_PORT after 30 s"
  fi
  log "clamd: up (pid $(pid_of "$CLAMD_PID")) in $(($(now_ms) - t0)) ms"
}

stop_clamd() { stop_pidfile clamd "$CLAMD_PID" clamd; }

status_clamd() {
  if pid_alive "$CLAMD_PID" clamd && clamd_pong; then
    echo "clamd     up    pid $(pid_of "$CLAMD_PID"), tcp 127.0.0.1:$CLAMD_PORT, unix $CLAM_DIR/run/clamd.sock, $(clamd_cmd VERSION)"
  elif clamd_pong; then
    echo "clamd     up?   127.0.0.1:$CLAMD_PORT answers PONG but was not started by this script ($CLAMD_PID)"
    return 1
  else
    echo "clamd     down"
    return 1
  fi
}

# ---------------------------------------------------------------- ceph + rgw
MON_PID="$CEPH_DIR/run/mon.a.pid"
RGW_PID="$CEPH_DIR/run/client.rgw.pid"
ceph_cli() { timeout 60 ceph -c "$CEPH_CONF" --connect-timeout 30 "$@"; }
rgw_admin() { timeout 60 radosgw-admin -c "$CEPH_CONF" "$@"; }
osd_pidfiles() { compgen -G "$CEPH_DIR/run/osd.*.pid" || true; }
osd_alive() {
  local f
  for f in $(osd_pidfiles); do pid_alive "$f" ceph-osd && return 0; done
  return 1
}
rgw_http_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$RGW_PORT/"; }
# A SigV4-signed ListBuckets with the test credentials: proves rgw is up AND the user exists.
rgw_s3_ok() {
  # (curl does not add x-amz-content-sha256 by itself; without it rgw answers SignatureDoesNotMatch)
  curl -sf -o /dev/null -m 3 --aws-sigv4 "aws:amz:us-east-1:s3" -u "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$RGW_PORT/"
}
ceph_logs() { show_log "$CEPH_DIR"/log/*.stdout "$CEPH_DIR"/log/mon.a.log "$CEPH_DIR"/log/osd.*.log "$CEPH_DIR"/log/client.rgw.log; }
ceph_fail() {
  ceph_logs
  die "$*"
}

stop_ceph() {
  local f
  stop_pidfile rgw "$RGW_PID" radosgw
  for f in $(osd_pidfiles); do stop_pidfile "osd" "$f" ceph-osd; done
  stop_pidfile mon "$MON_PID" ceph-mon
}

# Daemons fork themselves (and write their pid files); stdio goes to a log, never to our caller.
ceph_daemon() { # LABEL CMD...
  local label=$1
  shift
  if ! "$@" --setuser root --setgroup root </dev/null >>"$CEPH_DIR/log/$label.stdout" 2>&1; then
    ceph_fail "$label: '$*' failed"
  fi
}

wait_pidfile() { # LABEL PIDFILE COMM
  local i
  for ((i = 0; i < 100; i++)); do
    pid_alive "$2" "$3" && return 0
    sleep 0.1
  done
  ceph_fail "$1: no live process for $2 after 10 s"
}

new_ceph_cluster() {
  local t0 osd_uuid osd_id
  t0="$(now_ms)"
  stop_ceph
  for port in "$MON_PORT" "$RGW_PORT"; do
    if tcp_open "$port"; then
      die "rgw: 127.0.0.1:$port is already taken by a process this script did not start;" \
        "stop it (or set AIRLOCK_RGW_PORT / AIRLOCK_CEPH_MON_PORT)"
    fi
  done
  log "ceph: creating a new memstore cluster in $CEPH_DIR"
  rm -rf "$CEPH_DIR"
  mkdir -p "$CEPH_DIR"/{run,log,mon,osd,rgw,crash}
  : >"$CEPH_DIR/keyring"
  FSID="$(cat /proc/sys/kernel/random/uuid)"
  render "$TPL/ceph.conf.in" "$CEPH_CONF" || true

  # --addv with an explicit v1 address: plain --add picks msgr v2 for any port other than 6789.
  monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$CEPH_DIR/monmap" \
    >>"$CEPH_DIR/log/monmaptool.stdout" 2>&1 || ceph_fail "monmaptool failed"
  ceph_daemon mon-mkfs ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap"
  ceph_daemon mon ceph-mon -c "$CEPH_CONF" -i a
  wait_pidfile mon "$MON_PID" ceph-mon
  log "ceph: mon up ($(($(now_ms) - t0)) ms)"

  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  osd_id="$(ceph_cli osd new "$osd_uuid" 2>>"$CEPH_DIR/log/ceph-cli.stdout")" ||
    ceph_fail "ceph osd new failed"
  [[ $osd_id =~ ^[0-9]+$ ]] || ceph_fail "ceph osd new printed '$osd_id'"
  mkdir -p "$CEPH_DIR/osd/ceph-$osd_id"
  ceph_daemon osd-mkfs ceph-osd -c "$CEPH_CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid"
  ceph_daemon osd ceph-osd -c "$CEPH_CONF" -i "$osd_id"
  wait_pidfile osd "$CEPH_DIR/run/osd.$osd_id.pid" ceph-osd
  log "ceph: osd.$osd_id up ($(($(now_ms) - t0)) ms)"
}

start_rgw() {
  local t0 i out
  t0="$(now_ms)"
  if rgw_s3_ok; then
    if ! pid_alive "$RGW_PID" radosgw; then
      log "rgw: 127.0.0.1:$RGW_PORT already accepts the test credentials (not started by this script): using it"
      return 0
    elif pid_alive "$MON_PID" ceph-mon && osd_alive; then
      log "rgw: already up (127.0.0.1:$RGW_PORT, user $S3_UID)"
      return 0
    fi
    log "rgw: answers, but its mon/osd are gone: recreating the cluster"
  fi
  if ! pid_alive "$MON_PID" ceph-mon || ! osd_alive; then
    new_ceph_cluster
  elif ! pid_alive "$RGW_PID" radosgw && rgw_http_up; then
    die "rgw: 127.0.0.1:$RGW_PORT answers but not from the radosgw this script started; stop it first"
  fi
  if ! pid_alive "$RGW_PID" radosgw; then
    log "rgw: starting radosgw on 127.0.0.1:$RGW_PORT"
    rm -f "$RGW_PID"
    ceph_daemon rgw radosgw -c "$CEPH_CONF" -n client.rgw
  fi
  for ((i = 0; i < 600; i++)); do
    rgw_http_up && break
    if ((i > 20)) && ! pid_alive "$RGW_PID" radosgw; then ceph_fail "rgw: radosgw exited"; fi
    sleep 0.1
  done
  rgw_http_up || ceph_fail "rgw: 127.0.0.1:$RGW_PORT does not answer after 60 s"
  log "rgw: answering on 127.0.0.1:$RGW_PORT ($(($(now_ms) - t0)) ms)"

  if ! out="$(rgw_admin user create --uid="$S3_UID" --display-name="Airlock tests" \
    --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" 2>&1)"; then
    [[ $out == *exist* ]] || {
      printf '%s\n' "$out" >&2
      ceph_fail "rgw: radosgw-admin user create failed"
    }
  fi
  for ((i = 0; i < 50; i++)); do
    rgw_s3_ok && break
    sleep 0.1
  done
  rgw_s3_ok || ceph_fail "rgw: a signed S3 request with $S3_ACCESS_KEY is refused"
  log "rgw: up, S3 user $S3_UID ready ($(($(now_ms) - t0)) ms)"
}

status_rgw() {
  local rc=0 f file comm label entries=("$MON_PID:ceph-mon:mon")
  for f in $(osd_pidfiles); do entries+=("$f:ceph-osd:osd"); done
  ((${#entries[@]} > 1)) || entries+=("$CEPH_DIR/run/osd.0.pid:ceph-osd:osd")
  entries+=("$RGW_PID:radosgw:rgw")
  for f in "${entries[@]}"; do
    IFS=: read -r file comm label <<<"$f"
    if pid_alive "$file" "$comm"; then
      printf '%-9s up    pid %s\n' "$label" "$(pid_of "$file")"
    else
      printf '%-9s down\n' "$label"
      rc=1
    fi
  done
  if rgw_s3_ok; then
    echo "s3        up    http://127.0.0.1:$RGW_PORT  access key $S3_ACCESS_KEY / secret $S3_SECRET_KEY"
  else
    echo "s3        down  (no signed answer on 127.0.0.1:$RGW_PORT)"
    rc=1
  fi
  return $rc
}

# ---------------------------------------------------------------- chromium
start_chromium() {
  [[ -x /usr/bin/chromium ]] || die "chromium: /usr/bin/chromium missing after install"
  log "chromium: /usr/bin/chromium present"
}
status_chromium() {
  if [[ -x /usr/bin/chromium ]]; then echo "chromium  ok    /usr/bin/chromium"; else
    echo "chromium  missing"
    return 1
  fi
}

# ---------------------------------------------------------------- main
usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

cmd=start
case "${1:-}" in
start | stop | restart | status)
  cmd=$1
  shift
  ;;
-h | --help | help) usage 0 ;;
esac
services=()
for a in "$@"; do
  case "$a" in
  clamd | clamav) services+=(clamd) ;;
  rgw | ceph | s3) services+=(rgw) ;;
  chromium) services+=(chromium) ;;
  all) services+=(clamd rgw chromium) ;;
  *) usage ;;
  esac
done
((${#services[@]})) || services=(clamd rgw chromium)
has() { local s; for s in "${services[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

do_stop() {
  has rgw && stop_ceph
  has clamd && stop_clamd
  return 0
}
do_start() {
  local s
  ensure_packages "${services[@]}"
  mkdir -p "$STATE"
  for s in clamd rgw chromium; do has "$s" && "start_$s"; done
  log "done: ${services[*]} (state in $STATE)"
}

case "$cmd" in
start) do_start ;;
stop)
  do_stop
  log "stopped: ${services[*]}"
  ;;
restart)
  do_stop
  do_start
  ;;
status)
  rc=0
  for s in clamd rgw chromium; do
    if has "$s"; then "status_$s" || rc=3; fi
  done
  exit $rc
  ;;
esac
