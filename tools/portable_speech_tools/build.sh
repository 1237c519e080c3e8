#!/usr/bin/env bash
# Build the relocatable espeak-ng + sox bundle ("bin-bundle") and its .tar.xz.
#
# Why: a lent GPU machine has no espeak-ng/sox and reaches no package registry, yet
# `python -m models.training.speech_bundle train` synthesizes its speech data there with both on
# PATH. So carry bin-bundle.tar.xz (~2 MB) over, unpack it anywhere, and run with
#     PATH=/path/to/bin-bundle/wrappers:$PATH
# The wrappers start the real Debian 12 binaries through the bundle's own glibc loader
# and libs (lib/ld-linux-x86-64.so.2 --library-path lib), so nothing from the host but
# /bin/sh and a Linux x86-64 kernel is used.
#
# Usage: tools/portable_speech_tools/build.sh [OUT_DIR]   (default: ./bin-bundle)
#   writes OUT_DIR/ and OUT_DIR.tar.xz (xz -9e). An existing OUT_DIR is replaced only
#   if it looks like an earlier bundle.
# Needs (Debian 12, amd64): apt-get install espeak-ng sox gcc xz-utils
#   (espeak-ng pulls libespeak-ng1, espeak-ng-data, libsonic0; sox pulls libsox3,
#   libltdl7, libgomp1; libc6 and libc-bin (C.utf8 locale) and perl are always there).
# The stubs (pcaudio_stub.c, sox_dep_stubs.c, png.map) sit next to this script.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
OUT=${1:-./bin-bundle}
OUT=${OUT%/}
[ -n "$OUT" ] || { echo "build.sh: bad output directory" >&2; exit 2; }
CC=${CC:-gcc}
MA=x86_64-linux-gnu
SYSLIB=/usr/lib/$MA
DATA=$SYSLIB/espeak-ng-data
# libsox's compiled-in plugin directory, replaced by a same-length path that never exists,
# so sox never dlopens the host's libsox_fmt_* (wav and the effects are built in).
SOX_PLUGDIR_OLD=$SYSLIB/sox
SOX_PLUGDIR_NEW=/nonexistent/sox-plugins-none

die() { echo "build.sh: $*" >&2; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "needs an x86-64 Debian 12 host"
for p in espeak-ng espeak-ng-data libespeak-ng1 libsonic0 sox libsox3 libltdl7 libgomp1 libc6 libc-bin; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
    || die "Debian package $p is not installed (apt-get install espeak-ng sox gcc xz-utils)"
done
command -v "$CC" >/dev/null || die "no C compiler ($CC); apt-get install gcc"
command -v xz >/dev/null || die "no xz; apt-get install xz-utils"
command -v perl >/dev/null || die "no perl"
[ ${#SOX_PLUGDIR_OLD} -eq ${#SOX_PLUGDIR_NEW} ] || die "plugin path replacement must keep the length"

is_bundle() { [ -f "$1/wrappers/sox" ] || [ -f "$1/bin/sox" ] || [ -z "$(ls -A "$1")" ]; }
if [ -e "$OUT" ] && ! is_bundle "$OUT"; then
  die "$OUT exists and is not an earlier bundle; refusing to replace it"
fi
# Build into OUT.partial, self-check it, then move it to OUT (everything is relocatable).
FINAL=$OUT
OUT=$FINAL.partial
rm -rf -- "$OUT"
umask 022
mkdir -p "$OUT"/{bin,lib/locale/C.UTF-8,wrappers,espeak-ng-data/lang/gmw,espeak-ng-data/voices}
OUT=$(cd "$OUT" && pwd -P)

# --- real binaries and libraries (as shipped by Debian; already stripped) -------------
cp /usr/bin/espeak-ng /usr/bin/sox "$OUT/bin/"
for l in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libespeak-ng.so.1 libsonic.so.0 \
         libsox.so.3 libltdl.so.7 libgomp.so.1; do
  cp -L "$SYSLIB/$l" "$OUT/lib/$l"
done
# espeak-ng calls setlocale(LC_CTYPE, "C.UTF-8"); the wrapper points LOCPATH here.
cp /usr/lib/locale/C.utf8/LC_CTYPE "$OUT/lib/locale/C.UTF-8/LC_CTYPE"

# --- patch libsox's plugin directory (same-length string, in place) ------------------
OLD=$SOX_PLUGDIR_OLD NEW=$SOX_PLUGDIR_NEW perl -0777 -e '
  my ($f) = @ARGV; open(my $h, "<:raw", $f) or die "$f: $!"; local $/; my $d = <$h>; close $h;
  my ($o, $n) = ("$ENV{OLD}\0", "$ENV{NEW}\0");
  my $c = () = $d =~ /\Q$o\E/g; $c == 1 or die "expected 1 \"$ENV{OLD}\" in $f, found $c\n";
  my $len = length $d; $d =~ s/\Q$o\E/$n/; length($d) == $len or die "length changed\n";
  open($h, ">:raw", $f) or die "$f: $!"; print $h $d; close $h or die "$f: $!";
' "$OUT/lib/libsox.so.3"
grep -qaF "$SOX_PLUGDIR_OLD" "$OUT/lib/libsox.so.3" && die "libsox.so.3 still names $SOX_PLUGDIR_OLD"
grep -qaF "$SOX_PLUGDIR_NEW" "$OUT/lib/libsox.so.3" || die "libsox.so.3 patch not found"
[ "$(stat -c %s "$OUT/lib/libsox.so.3")" = "$(stat -L -c %s "$SYSLIB/libsox.so.3")" ] \
  || die "libsox.so.3 changed size"
[ "$(cmp -l "$OUT/lib/libsox.so.3" "$SYSLIB/libsox.so.3" | wc -l)" -gt 0 ] || die "libsox.so.3 not patched"

# --- stub libraries --------------------------------------------------------------------
# libpcaudio: espeak-ng only writes files (-w), never plays audio.
# libmagic/libpng16/libgsm/libz: libsox needs them at load time; wav I/O, rate, tempo
# and gain never call them.
CFLAGS_STUB=(-O2 -fPIC -shared -s -Wl,--hash-style=both)
"$CC" "${CFLAGS_STUB[@]}" -Wl,-soname,libpcaudio.so.0 -o "$OUT/lib/libpcaudio.so.0" "$HERE/pcaudio_stub.c"
"$CC" "${CFLAGS_STUB[@]}" -DSTUB_MAGIC -Wl,-soname,libmagic.so.1 -o "$OUT/lib/libmagic.so.1" "$HERE/sox_dep_stubs.c"
"$CC" "${CFLAGS_STUB[@]}" -DSTUB_GSM -Wl,-soname,libgsm.so.1 -o "$OUT/lib/libgsm.so.1" "$HERE/sox_dep_stubs.c"
"$CC" "${CFLAGS_STUB[@]}" -DSTUB_Z -Wl,-soname,libz.so.1 -o "$OUT/lib/libz.so.1" "$HERE/sox_dep_stubs.c"
"$CC" "${CFLAGS_STUB[@]}" -DSTUB_PNG -Wl,-soname,libpng16.so.16 -Wl,--version-script="$HERE/png.map" \
  -o "$OUT/lib/libpng16.so.16" "$HERE/sox_dep_stubs.c"

# --- espeak-ng data: English only ------------------------------------------------------
for f in phontab phonindex phondata phondata-manifest intonations en_dict; do
  cp "$DATA/$f" "$OUT/espeak-ng-data/$f"
done
cp "$DATA"/lang/gmw/en* "$OUT/espeak-ng-data/lang/gmw/"
cp -r "$DATA/voices/!v" "$OUT/espeak-ng-data/voices/"

# --- wrappers ------------------------------------------------------------------------------
# wrapper NAME SETUP: a relocatable sh script that runs bin/NAME through the bundled glibc loader and libs, after
# the SETUP lines. It works wherever the bundle is unpacked (also through a symlink to it).
wrapper() {
  {
    cat <<'EOF'
#!/bin/sh
# Relocatable wrapper: runs the bundled program with the bundled glibc loader and libs.
unset CDPATH
S=$0
while [ -L "$S" ]; do
  T=$(readlink "$S"); case $T in /*) S=$T ;; *) S=${S%/*}/$T ;; esac
done
case $S in */*) S=${S%/*} ;; *) S=. ;; esac
D=$(cd "$S/.." && pwd -P) || exit 127
EOF
    printf '%s\n' "$2"
    printf 'unset LD_PRELOAD\nexec "$D/lib/ld-linux-x86-64.so.2" --library-path "$D/lib" "$D/bin/%s" "$@"\n' "$1"
  } >"$OUT/wrappers/$1"
  chmod 755 "$OUT/wrappers/$1"
}
# espeak-ng looks for "$ESPEAK_DATA_PATH/espeak-ng-data", and calls setlocale(LC_CTYPE, "C.UTF-8") itself: the
# bundle's own locale file serves it, so the host's locale files are never used.
wrapper espeak-ng 'ESPEAK_DATA_PATH="$D"; export ESPEAK_DATA_PATH
LOCPATH="$D/lib/locale"; export LOCPATH
LC_ALL=C; export LC_ALL'
wrapper sox '# wav, rate, tempo and gain are built into libsox: no libsox_fmt_* plugins are needed.'

# --- README ------------------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1"; }
cat >"$OUT/README.txt" <<EOF
Relocatable espeak-ng $(ver espeak-ng) + sox $(ver sox) (Debian 12 builds) with their own glibc $(ver libc6).
Built by tools/portable_speech_tools/build.sh.
Usage:  export PATH=/path/to/bin-bundle/wrappers:\$PATH
        espeak-ng -v en-us-nyc+m3 -p 50 -w raw.wav "text"
        sox raw.wav -r 16000 -c 1 -b 16 out.wav tempo 1.100 gain -3.0
Wrappers run bin/* through lib/ld-linux-x86-64.so.2 --library-path lib, so the host's
libc/libs are never used (needs only /bin/sh and a Linux x86-64 kernel >= 3.2).
espeak-ng-data: English only (en_dict, lang/gmw/en*, voices/!v variants); no audio
output (libpcaudio.so.0 is a stub) -> always use -w FILE.
sox: wav + effects built into libsox only; libmagic/libpng16/libgsm/libz are stubs
(no GSM codec, no spectrogram, no magic autodetect); plugin dir patched out of libsox.
Note: sox dithers by default (random per run); add -D (no dither) for bit-exact output.
EOF

# --- self-check: every library resolves inside the bundle, and the pipeline runs ---------
for b in espeak-ng sox; do
  list=$("$OUT/lib/ld-linux-x86-64.so.2" --library-path "$OUT/lib" --list "$OUT/bin/$b")
  if printf '%s\n' "$list" | grep '=>' | grep -v "=> $OUT/lib/" | grep -q .; then
    printf '%s\n' "$list" >&2; die "bin/$b resolves a library outside the bundle"
  fi
done
tmp=$(mktemp -d); trap 'rm -rf -- "$tmp"' EXIT
env -i PATH="$OUT/wrappers:/usr/bin:/bin" espeak-ng -v en-us-nyc+m3 -p 50 -w "$tmp/raw.wav" "Bundle check." \
  || die "bundled espeak-ng failed"
env -i PATH="$OUT/wrappers:/usr/bin:/bin" sox -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$tmp/out.wav" tempo 1.100 gain -3.0 \
  || die "bundled sox failed"
[ "$(stat -c %s "$tmp/out.wav")" -gt 1000 ] || die "bundled pipeline wrote no audio"

rm -rf -- "$FINAL"
mv -- "$OUT" "$FINAL"
OUT=$(cd "$FINAL" && pwd -P)

# --- tarball -------------------------------------------------------------------------------
tar_mtime=()
[ -n "${SOURCE_DATE_EPOCH:-}" ] && tar_mtime=(--mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime)
tar --sort=name --owner=0 --group=0 --numeric-owner "${tar_mtime[@]}" \
    -C "$(dirname "$OUT")" -cf - "$(basename "$OUT")" | xz -9e -T1 >"$OUT.tar.xz.part"
mv -f "$OUT.tar.xz.part" "$OUT.tar.xz"
echo "bundle: $OUT ($(du -sh "$OUT" | cut -f1)); tarball: $OUT.tar.xz ($(stat -c %s "$OUT.tar.xz") bytes)"
