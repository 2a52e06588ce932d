#!/usr/bin/env bash
# Installs what the demo, the local stack and the tests need on Debian, and only what is missing:
#
#   Deno 2           from npm (npm install -g deno@2; Debian's npm if there is no npm at all)
#   MariaDB          mariadb-server, mariadb-client (the stack runs its own instance)
#   openssl          the stack's CA and TLS certificates
#   Maven            downloads Kafka, Debezium and Apicurio from Maven Central
#   JDK 17 or newer  Kafka, Kafka Connect and Debezium
#   JDK 21 or newer  Apicurio Registry 3.3, where Debian has one (bookworm does not: the stack then
#                    runs Apicurio Registry 3.0 on Java 17, see tools/stack/java.ts)
#   Prometheus       only with --with-prometheus: one test scrapes `cdc stream` with it
#
#   bash tools/install.sh [--with-prometheus]
#
# Says what it found and, for what it installs, how long that took. Debian packages need root
# (apt-get); without root it installs nothing and says what to run. Debian's packaged services
# (MariaDB's, Prometheus's) are not started.
set -euo pipefail

with_prometheus=false
for arg in "$@"; do
  case "$arg" in
    --with-prometheus) with_prometheus=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument $arg (usage: tools/install.sh [--with-prometheus])" >&2
      exit 2
      ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
T0=$SECONDS
say() { printf '[install %4ss] %s\n' "$((SECONDS - T0))" "$*"; }

is_root() { [ "$(id -u)" -eq 0 ]; }
# name the command that failed (set -E: in functions too), e.g. npm unable to reach its registry
set -E
trap 'say "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# --- what is there ---------------------------------------------------------------------

# The deno to use: the one on PATH, else the one in npm's global bin (a prefix not on PATH).
find_deno() {
  if command -v deno; then return 0; fi
  if command -v npm >/dev/null; then
    local bin
    bin="$(npm prefix -g 2>/dev/null)/bin/deno"
    if [ -x "$bin" ]; then echo "$bin"; fi
  fi
}

# "2.9.6" when $1 is a working Deno 2 or newer, nothing otherwise.
deno_version() {
  local version
  version=$("$1" --version 2>/dev/null | sed -n '1s/^deno \([0-9][^ ]*\).*/\1/p') || return 0
  if [ -n "$version" ] && [ "${version%%.*}" -ge 2 ]; then echo "$version"; fi
}

# First of the given programs found on PATH or in the sbin directories the stack searches.
find_program() {
  local name dir
  for name in "$@"; do
    if command -v "$name"; then return 0; fi
    for dir in /usr/sbin /usr/local/sbin; do
      if [ -x "$dir/$name" ]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
}

# "MAJOR VERSION HOME" of a JDK home, nothing when it is none (as tools/stack/java.ts reads it).
describe_jdk() {
  local home=$1 version="" major
  [ -x "$home/bin/java" ] || return 0
  if [ -r "$home/release" ]; then
    version=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")
  fi
  if [ -z "$version" ]; then
    version=$("$home/bin/java" -version 2>&1 | sed -n '1s/.* version "\([^"]*\)".*/\1/p')
  fi
  [ -n "$version" ] || return 0
  major=${version%%[.+_-]*}
  if [ "$major" = 1 ]; then # 1.8.0_392 style
    major=${version#1.}
    major=${major%%[.+_-]*}
  fi
  echo "$major $version $home"
}

# Every JDK the stack would look at, oldest first: "MAJOR VERSION HOME" lines.
list_jdks() {
  local homes=() home java
  for home in "${CDC_STACK_JAVA_HOME:-}" "${CDC_STACK_REGISTRY_JAVA_HOME:-}" "${JAVA_HOME:-}" \
    /usr/lib/jvm/*; do
    if [ -n "$home" ] && [ -d "$home" ]; then homes+=("$(realpath "$home")"); fi
  done
  if java=$(command -v java); then
    homes+=("$(dirname "$(dirname "$(realpath "$java")")")")
  fi
  for home in $(printf '%s\n' "${homes[@]}" | sort -u); do
    describe_jdk "$home"
  done | sort -n -k1,1
}

# The oldest JDK whose feature release is at least $1: "MAJOR VERSION HOME", or nothing.
find_jdk() {
  list_jdks | awk -v min="$1" '!found && $1 >= min { print; found = 1 }'
}

# "JDK 17.0.15 (/usr/lib/jvm/java-17-openjdk-amd64)" of a find_jdk line.
jdk_words() {
  local major version home
  read -r major version home <<<"$1"
  echo "JDK $version ($home)"
}

# The items joined with commas.
list() {
  local out
  out=$(printf '%s, ' "$@")
  echo "${out%, }"
}

# --- how to install it -----------------------------------------------------------------

# The first of the given Debian packages that apt can install (it has a candidate version).
apt_candidate() {
  local package
  for package in "$@"; do
    if apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      echo "$package"
      return 0
    fi
  done
  return 1
}

apt_lists_empty() { ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

apt_updated=false
apt_update_once() {
  if ! $apt_updated; then
    say "apt-get update"
    apt-get update -q
    apt_updated=true
  fi
}

# Keeps Debian from starting the services it installs (the stack runs its own MariaDB), by a
# policy-rc.d that refuses every start; removed again unless it was there before.
policy=/usr/sbin/policy-rc.d
policy_created=false
remove_policy() {
  if $policy_created; then rm -f "$policy"; fi
}
trap remove_policy EXIT

apt_install() {
  apt_update_once
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# tools/install.sh: no service starts now\nexit 101\n' >"$policy"
    chmod +x "$policy"
    policy_created=true
  fi
  say "apt-get install $*"
  apt-get install -y -q --no-install-recommends "$@"
}

# Installs $1 (a name, for the messages) by running the rest, timed.
installed=()
install_step() {
  local what=$1 start=$SECONDS
  shift
  say "installing $what"
  "$@"
  say "installed $what in $((SECONDS - start))s"
  installed+=("$what")
}

install_deno() {
  if ! command -v npm >/dev/null; then
    apt_install npm
  fi
  say "npm install -g deno@2 (into $(npm prefix -g))"
  npm install -g deno@2
  # npm 11 does not run the package's postinstall, which puts the platform's binary in place
  say "node $(npm root -g)/deno/install.cjs"
  node "$(npm root -g)/deno/install.cjs"
}

# --- plan: what is missing -------------------------------------------------------------
missing=()      # what is missing, for the messages
apt_packages=() # the Debian packages that bring it
need_deno=false

deno=$(find_deno || true)
if [ -n "$deno" ] && version=$(deno_version "$deno") && [ -n "$version" ]; then
  say "found Deno $version ($deno)"
else
  [ -z "$deno" ] || say "$deno is not a working Deno 2 ($("$deno" --version 2>&1 | sed -n 1p))"
  missing+=("Deno 2")
  need_deno=true
  if ! command -v npm >/dev/null; then apt_packages+=(npm); fi
fi

server=$(find_program mariadbd mysqld || true)
client=$(find_program mariadb mysql || true)
install_db=$(find_program mariadb-install-db mysql_install_db || true)
if [ -n "$server" ] && [ -n "$client" ] && [ -n "$install_db" ]; then
  version=$("$server" --version | sed -n 's/.*Ver \([0-9.]*\).*/\1/p' || true)
  say "found MariaDB $version ($server, $client)"
else
  missing+=("MariaDB")
  apt_packages+=(mariadb-server mariadb-client)
fi

if openssl=$(command -v openssl); then
  say "found $(openssl version | cut -d' ' -f1-2) ($openssl)"
else
  missing+=("openssl")
  apt_packages+=(openssl)
fi

# Java before Maven, so that Debian's Maven does not pick a JDK itself.
jdk17=$(find_jdk 17)
jdk21=$(find_jdk 21)
jdk21_package=""
if [ -z "$jdk21" ]; then
  # which JDK 21+ Debian has here (a fresh image has no package lists yet)
  if is_root && apt_lists_empty; then apt_update_once; fi
  jdk21_package=$(apt_candidate openjdk-21-jdk-headless openjdk-25-jdk-headless || true)
fi
if [ -n "$jdk17" ]; then
  say "found $(jdk_words "$jdk17") (Java 17+: Kafka, Connect, Debezium)"
elif [ -z "$jdk21_package" ]; then # else the JDK 21 below serves Kafka too
  missing+=("JDK 17")
  apt_packages+=("$(apt_candidate openjdk-17-jdk-headless default-jdk-headless ||
    echo openjdk-17-jdk-headless)")
fi
if [ -n "$jdk21" ]; then
  say "found $(jdk_words "$jdk21") (Java 21+: Apicurio Registry 3.3)"
elif [ -n "$jdk21_package" ]; then
  missing+=("JDK 21")
  apt_packages+=("$jdk21_package")
else
  say "no JDK 21+ here and none in Debian's package lists: the stack runs Apicurio Registry 3.0" \
    "on Java 17 instead of 3.3"
fi

if mvn=$(command -v mvn); then
  version=$(mvn -B --version 2>/dev/null | sed -n '1{s/\x1b\[[0-9;]*m//g; s/ (.*//; p}' || true)
  # "Apache Maven 3.8.7", without the colours Maven gives it
  say "found ${version:-Maven, but mvn --version fails: is java on PATH?} ($mvn)"
else
  missing+=("Maven")
  apt_packages+=(maven)
fi

if $with_prometheus; then
  if prometheus=$(command -v prometheus) && command -v promtool >/dev/null; then
    version=$(prometheus --version 2>&1 | sed -n '1s/.*version \([^ ]*\).*/\1/p' || true)
    say "found Prometheus $version ($prometheus)"
  else
    missing+=("Prometheus")
    apt_packages+=(prometheus)
  fi
fi

if [ "${#missing[@]}" -eq 0 ]; then
  say "nothing to install"
  exit 0
fi
say "missing: $(list "${missing[@]}")"

# --- install ---------------------------------------------------------------------------
if ! is_root && [ "${#apt_packages[@]}" -gt 0 ]; then
  args=""
  if $with_prometheus; then args=" --with-prometheus"; fi
  say "not root: Debian packages need root, so nothing was installed. Run one of:"
  say "  sudo bash $0$args"
  say "  sudo apt-get install -y --no-install-recommends ${apt_packages[*]}   # then this again"
  exit 1
fi
if ! is_root && $need_deno && [ ! -w "$(npm root -g)" ] && [ ! -w "$(npm prefix -g)" ]; then
  say "not root and npm's global prefix $(npm prefix -g) is not writable. Run one of:"
  say "  sudo bash $0"
  say "  NPM_CONFIG_PREFIX=\$HOME/.local bash $0   # Deno lands in ~/.local/bin"
  exit 1
fi

# one step per thing, in the order planned (Java before Maven)
for package in "${apt_packages[@]}"; do
  case "$package" in
    npm) ;; # with Deno below
    mariadb-client) ;; # with mariadb-server
    mariadb-server) install_step "MariaDB" apt_install mariadb-server mariadb-client ;;
    openssl) install_step "openssl" apt_install openssl ;;
    maven) install_step "Maven" apt_install maven ;;
    prometheus) install_step "Prometheus" apt_install prometheus ;;
    *) install_step "a JDK ($package)" apt_install "$package" ;;
  esac
done
if $need_deno; then
  install_step "Deno 2" install_deno
  hash -r
  deno="$(npm prefix -g)/bin/deno"
  version=$(deno_version "$deno")
  if [ -z "$version" ]; then
    say "Deno 2 did not install: $deno does not answer --version"
    exit 1
  fi
  say "Deno $version is $deno"
  if [ "$(command -v deno)" != "$deno" ]; then
    say "PATH does not find it first: export PATH=\"$(dirname "$deno"):\$PATH\""
  fi
fi
say "done: installed $(list "${installed[@]}") in $((SECONDS - T0))s"
