#!/bin/sh
# A planted issue for shellcheck: the unquoted "$1" splits and globs (SC2086).
rm -f $1
