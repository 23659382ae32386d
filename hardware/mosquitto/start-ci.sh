#!/usr/bin/env bash
# Start a Mosquitto for the embody tests and bench: loopback only, password file + ACL,
# daemonised. Idempotent: if our broker already answers on the port, it does nothing.
#
#   bash hardware/mosquitto/start-ci.sh          # port 18830, state in /tmp/embody-mosquitto
#   EMBODY_MOSQUITTO_PORT=18840 EMBODY_MOSQUITTO_DIR=/tmp/x bash hardware/mosquitto/start-ci.sh
#
# Writes $DIR/credentials.json ({port, bridge:{username,password}, robotPassword, ...}) for
# the tests; every robot user shares one generated password.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${EMBODY_MOSQUITTO_PORT:-18830}"
DIR="${EMBODY_MOSQUITTO_DIR:-/tmp/embody-mosquitto}"
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
if [ ! -x "$MOSQUITTO" ]; then
  echo "start-ci.sh: mosquitto is not installed (apt-get install -y mosquitto)" >&2
  exit 1
fi
command -v mosquitto_passwd >/dev/null || { echo "start-ci.sh: mosquitto_passwd not found" >&2; exit 1; }

mkdir -p "$DIR"
if [ -f "$DIR/mosquitto.pid" ] && kill -0 "$(cat "$DIR/mosquitto.pid")" 2>/dev/null && [ -f "$DIR/credentials.json" ]; then
  echo "start-ci.sh: mosquitto already running (pid $(cat "$DIR/mosquitto.pid")) on 127.0.0.1:$PORT"
  exit 0
fi

BRIDGE_PW="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
ROBOT_PW="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
OPERATOR_PW="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
# Robot users: the ids the tests and the bench use.
{
  echo "bridge:$BRIDGE_PW"
  echo "operator:$OPERATOR_PW"
  for i in $(seq 0 15); do echo "r$i:$ROBOT_PW"; done
  for i in $(seq -w 0 299); do echo "bench-$i:$ROBOT_PW"; done
} > "$DIR/passwd"
chmod 600 "$DIR/passwd"
mosquitto_passwd -U "$DIR/passwd"   # hash the plain-text file in place
cp "$HERE/acl" "$DIR/acl"

write_conf() { # $1 = port, $2 = conf file, $3 = persistence dir
  mkdir -p "$3"
  cat > "$2" <<CONF
per_listener_settings false
allow_anonymous false
password_file $DIR/passwd
acl_file $DIR/acl
persistence true
persistence_location $3/
autosave_interval 1
autosave_on_changes false
max_packet_size 1048576
# Nagle off on the broker's sockets too: a 100-byte command must not wait for an ACK.
set_tcp_nodelay true
listener $1 127.0.0.1
CONF
}
write_conf "$PORT" "$DIR/mosquitto.conf" "$DIR/data"
# A second config on PORT+1 for the test that kills and restarts its own broker.
write_conf "$((PORT + 1))" "$DIR/mosquitto-restart.conf" "$DIR/data-restart"
echo "pid_file $DIR/mosquitto.pid" >> "$DIR/mosquitto.conf"
echo "log_dest file $DIR/mosquitto.log" >> "$DIR/mosquitto.conf"

cat > "$DIR/credentials.json" <<JSON
{ "port": $PORT, "restartPort": $((PORT + 1)), "mosquitto": "$MOSQUITTO",
  "restartConf": "$DIR/mosquitto-restart.conf",
  "bridge": { "username": "bridge", "password": "$BRIDGE_PW" },
  "operator": { "username": "operator", "password": "$OPERATOR_PW" },
  "robotPassword": "$ROBOT_PW" }
JSON
chmod 600 "$DIR/credentials.json"

# Started as root, mosquitto drops to the "mosquitto" user: let that user own its files.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
  chown -R mosquitto "$DIR/data" "$DIR/data-restart" "$DIR/passwd" "$DIR/acl"
  chown mosquitto "$DIR"
fi
rm -f "$DIR/mosquitto.pid"
"$MOSQUITTO" -c "$DIR/mosquitto.conf" -d
for _ in $(seq 1 50); do
  if [ -f "$DIR/mosquitto.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "start-ci.sh: mosquitto running (pid $(cat "$DIR/mosquitto.pid")) on 127.0.0.1:$PORT, state in $DIR"
    exit 0
  fi
  sleep 0.1
done
echo "start-ci.sh: mosquitto did not come up on port $PORT; see $DIR/mosquitto.log" >&2
cat "$DIR/mosquitto.log" >&2 || true
exit 1
