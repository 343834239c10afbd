#!/bin/sh
# build.sh PAGE DOC OUTPUT NAME SECTION VERSION: a man page from a doc.
#
# PAGE holds what only a man page needs (NAME, SYNOPSIS, SEE ALSO), in
# level-2 headings, and a line "<!-- the doc -->" where DOC goes: DOC
# without its title, every heading one level up, so that the doc's
# sections become the page's.  pandoc writes the roff.
set -eu
page=$1 doc=$2 out=$3 name=$4 section=$5 version=$6
dir=$(dirname "$0")
grep -qx '<!-- the doc -->' "$page" || {
    echo "build.sh: $page has no '<!-- the doc -->' line" >&2
    exit 100
}
{
    sed '/^<!-- the doc -->$/,$d' "$page"
    sed '1{/^# /d}' "$doc"
    echo
    sed '1,/^<!-- the doc -->$/d' "$page"
} | pandoc --standalone --from markdown --to man --shift-heading-level-by=-1 \
    --lua-filter "$dir/links.lua" \
    --metadata "title=$name" --metadata "section=$section" \
    --metadata "header=stubvisor manual" --metadata "footer=stubvisor $version" \
    --output "$out"
