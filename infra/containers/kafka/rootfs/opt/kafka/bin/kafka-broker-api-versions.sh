#!/bin/bash
# The compose file's health check: Kafka's own BrokerApiVersionsCommand, as the distribution's
# script of the same name runs it (a small heap, the tools' quiet logging).
set -euo pipefail
exec java -Xmx256M -Xms32M -XX:+UseSerialGC -Djava.awt.headless=true \
  -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
  -cp '/opt/kafka/libs/*' kafka.admin.BrokerApiVersionsCommand "$@"
