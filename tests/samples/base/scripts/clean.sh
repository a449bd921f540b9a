#!/bin/sh
# Clean for shellcheck.
rm -f -- "$1"
