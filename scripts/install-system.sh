#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages tars needs on Linux: a virtual X server and its tools,
# the programs the practice tasks drive, clipboard tools for typing non-ASCII text, scrot
# (pyautogui.screenshot on X11, the reference in benchmarks), the libraries Qt needs under X,
# the programs of the held-out suite (assets/heldout: galculator, l3afpad, yad, Tk), and what
# OSWorld's small tasks call on their VM (gsettings with a session D-Bus, xdg-mime, wmctrl, jq,
# socat, bc, sar, Debian's python3 for the task user).
# Installs only what is missing, so a second run is quick.
#   --osworld   also the big apps of OSWorld's local tasks: Chromium, VLC, GIMP, LibreOffice Impress
set -euo pipefail
packages=(
  xvfb xauth xdotool x11-xserver-utils x11-utils xterm zenity mousepad openbox xclip xsel scrot
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1
  libglib2.0-0 libdbus-1-3 fonts-dejavu-core python3-venv
  galculator l3afpad yad python3-tk
  wmctrl dbus dconf-service gsettings-desktop-schemas libglib2.0-bin xdg-utils bc socat jq sysstat
  python3 util-linux
)
for arg in "$@"; do
  case "$arg" in
    --osworld) packages+=(chromium vlc gimp libreoffice-impress) ;;
    *) echo "install-system: unknown option $arg (known: --osworld)" >&2; exit 2 ;;
  esac
done
if ! command -v apt-get >/dev/null; then
  echo "install-system: no apt-get here; install the equivalents of: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-system: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
