#!/usr/bin/env bash
# The README's first command, from a bare Debian machine with git and npm:
#
#   bash tools/demo.sh
#
# installs what is missing (tools/install.sh: Deno from npm, MariaDB, openssl, Maven and a JDK
# from Debian), then runs `deno task demo`: the local stack comes up (its downloads are cached),
# Debezium captures customers and addresses, `cdc stream` writes their _cdc tables, and the demo
# changes the source and prints the rows that result. The stack stays up; the demo says how to
# look further and how to tear it down. CDC_STACK_PORT_OFFSET shifts the stack's ports.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
# npm's global bin may not be on PATH (a custom npm prefix): install.sh said so
command -v deno >/dev/null || PATH="$(npm prefix -g)/bin:$PATH"
exec deno task demo
