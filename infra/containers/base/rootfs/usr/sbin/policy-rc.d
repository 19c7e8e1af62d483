#!/bin/sh
# Packages installed in a build step must not start their services (as the official images).
exit 101
