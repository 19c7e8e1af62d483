#!/bin/sh
# Writes the node's configuration from the environment (the password is a secret, never in the
# image) and execs RabbitMQ in the foreground. The vhost and user are made on the node's first boot
# (default_vhost / default_user: there is never a `guest`); the change feed's exchange and queues
# are declared by the project (changefeed/declare.ts), not here.
set -eu
: "${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD}"
RABBITMQ_USER="${RABBITMQ_USER:-ledger}"
RABBITMQ_VHOST="${RABBITMQ_VHOST:-ledger}"
# The AMQP listener: a port, or address:port (the image's smoke test listens on 127.0.0.1 only).
RABBITMQ_AMQP_LISTENER="${RABBITMQ_AMQP_LISTENER:-5672}"
umask 077
if [ ! -s "$HOME/.erlang.cookie" ]; then
  head -c 32 /dev/urandom | base64 | tr -d '\n/+=' >"$HOME/.erlang.cookie"
  chmod 400 "$HOME/.erlang.cookie"
fi
echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
cat >"$RABBITMQ_CONFIG_FILE" <<CONF
listeners.tcp.default = $RABBITMQ_AMQP_LISTENER
default_vhost = $RABBITMQ_VHOST
default_user = $RABBITMQ_USER
default_pass = $RABBITMQ_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users.guest = true
# Quorum queues keep bodies on disk; the relay's queue is capped at 2 GiB (changefeed/topology.ts).
vm_memory_high_watermark.relative = 0.4
disk_free_limit.absolute = 4GB
log.console = true
log.console.level = info
log.file = false
CONF
exec /usr/lib/rabbitmq/bin/rabbitmq-server
