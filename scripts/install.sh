#!/usr/bin/env bash
# Install or upgrade camwatch for production, from a wheel (built from this checkout when none is given):
#   sudo scripts/install.sh [dist/camwatch-X-py3-none-any.whl] [--postgres]
# - /opt/camwatch: a virtualenv with camwatch (no demo/simulator extras; --postgres adds the driver)
# - /etc/camwatch: cameras.toml (copied once from config/, set up for systemd; never overwritten) and the
#   credential files camera-password and smtp-password (mode 0600, never overwritten)
# - the systemd unit, checked with systemd-analyze verify; a running service is restarted, which runs the
#   database migrations (ExecStartPre=camwatch db upgrade). Running it again upgrades.
# Paths can be moved for a test: CAMWATCH_PREFIX, CAMWATCH_ETC, CAMWATCH_UNIT_DIR; CAMWATCH_NO_SYSTEMCTL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${CAMWATCH_PREFIX:-/opt/camwatch}
ETC=${CAMWATCH_ETC:-/etc/camwatch}
UNIT_DIR=${CAMWATCH_UNIT_DIR:-/etc/systemd/system}
# the interpreter of /opt/camwatch: the system's (the service's dynamic user must reach it; ProtectHome=yes
# hides /root and /home, so a pyenv or a user's Python cannot serve)
PYTHON=${PYTHON:-$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
wheel="" extras=""
for a in "$@"; do
  case "$a" in
    --postgres) extras="[postgres]" ;;
    *.whl) wheel=$a ;;
    *) echo "usage: $0 [WHEEL] [--postgres]" >&2; exit 2 ;;
  esac
done
say() { printf '  %s\n' "$*"; }

[ -x "$PREFIX/bin/python" ] || "$PYTHON" -m venv "$PREFIX" || {
  echo "camwatch: cannot create a virtualenv with $PYTHON (Debian: apt-get install python3-venv)" >&2; exit 1; }
home=$(sed -n 's/^home = //p' "$PREFIX/pyvenv.cfg")
case "$home" in
  /root/*|/home/*) echo "camwatch: $PREFIX runs the Python in $home, which the service cannot reach" \
                        "(ProtectHome=yes, a dynamic user): remove $PREFIX and run again with PYTHON=/usr/bin/python3" >&2
                   exit 1 ;;
esac
pip() { "$PREFIX/bin/pip" --disable-pip-version-check -q "$@" 2> >(grep -v "^WARNING: Location" >&2); }
pip install --upgrade pip
if [ -z "$wheel" ]; then
  echo "building the wheel from this checkout…"
  rm -rf build/wheel && pip wheel --no-deps -w build/wheel . >/dev/null
  wheel=$(ls build/wheel/camwatch-*.whl)
fi
wheel=$(realpath "$wheel")
echo "installing $(basename "$wheel") into $PREFIX"
pip install "${wheel}${extras}"
pip install --force-reinstall --no-deps "$wheel"   # the same version number again: this build
say "$("$PREFIX/bin/camwatch" --version 2>/dev/null || echo camwatch) in $PREFIX/bin/camwatch"

# the service runs as a dynamic user: it must read the camera list (which holds no secret: the passwords are
# the 0600 credential files below, handed to the service by systemd's LoadCredential)
install -d -m 0755 "$ETC"
chmod 0755 "$ETC"
if [ ! -e "$ETC/cameras.toml" ]; then
  sed -e 's|^state_dir = .*|state_dir = "/var/lib/camwatch"               # the unit'"'"'s StateDirectory|' \
      -e 's|^password_env = "CAMWATCH_CAMERA_PASSWORD".*|password_file = "camera-password"   # the unit'"'"'s credential; from a shell, the file beside this one|' \
      config/cameras.toml > "$ETC/cameras.toml"
  say "$ETC/cameras.toml: the district's camera list, set up for systemd (edit it, then: systemctl reload camwatch)"
else
  say "$ETC/cameras.toml kept as it is"
fi
chmod a+r "$ETC/cameras.toml"
for secret in camera-password smtp-password; do
  if [ ! -e "$ETC/$secret" ]; then
    (umask 077 && : > "$ETC/$secret")
    say "$ETC/$secret: empty, mode 0600 (write the password into it, without a newline)"
  fi
  chmod 0600 "$ETC/$secret"
done

install -m 0644 README.md "$PREFIX/README.md"   # the unit's Documentation=
install -d "$UNIT_DIR"
sed -e "s#/opt/camwatch#$PREFIX#g" -e "s#/etc/camwatch#$ETC#g" deploy/systemd/camwatch.service > "$UNIT_DIR/camwatch.service"
chmod 0644 "$UNIT_DIR/camwatch.service"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$UNIT_DIR/camwatch.service" 2>&1 | grep camwatch.service || true)
  if [ -n "$out" ]; then echo "$out" >&2; echo "systemd-analyze verify found problems in the unit" >&2; exit 1; fi
  say "$UNIT_DIR/camwatch.service: systemd-analyze verify ok"
else
  say "$UNIT_DIR/camwatch.service installed (systemd-analyze not found: not verified)"
fi
"$PREFIX/bin/camwatch" check-config -c "$ETC/cameras.toml" >/dev/null 2>&1 && say "config valid" || \
  say "check the config: $PREFIX/bin/camwatch check-config -c $ETC/cameras.toml"

if [ -z "${CAMWATCH_NO_SYSTEMCTL:-}" ] && command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl daemon-reload
  if systemctl is-active --quiet camwatch; then
    systemctl restart camwatch && say "camwatch restarted (the database was migrated by ExecStartPre)"
  fi
fi
cat <<NEXT

Next steps:
  1. the cameras:       edit $ETC/cameras.toml (rtsp_url of each sub-stream; communes, technicians)
  2. the passwords:     printf %s 'CAMERA-PASSWORD' > $ETC/camera-password   (and smtp-password with [smtp])
  3. check it:          $PREFIX/bin/camwatch check-config -c $ETC/cameras.toml
  4. start it:          systemctl enable --now camwatch   (migrations run at every start)
  5. after an edit:     systemctl reload camwatch         (re-reads the camera list, keeps its state)
  6. watch it:          journalctl -u camwatch -f ;  $PREFIX/bin/camwatch status -c $ETC/cameras.toml
NEXT
