#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds for the three fuzz targets (docs/fuzzing.md):
#   marketplace_json  every .claude-plugin/marketplace.json
#   plugin_json       every .claude-plugin/plugin.json
#   frontmatter       every SKILL.md, agents/*.md and commands/*.md
# found under the fixtures directory (default: ../shared/fixtures/real-marketplaces next to the
# repository), plus the small hand-made seeds committed in fuzz/seeds/<target>/.
# Files are named by their SHA-1, as libFuzzer names corpus entries, so running the script twice
# adds nothing twice. Files larger than 64 KiB are skipped (they only slow the fuzzer down).
#
# Usage: fuzz/seed-corpus.sh [fixtures directory]
set -euo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repository_root=$(dirname "$fuzz_dir")
fixtures=${1:-"$repository_root/../shared/fixtures/real-marketplaces"}
max_seed_bytes=65536

if [[ ! -d "$fixtures" ]]; then
    echo "seed-corpus.sh: fixtures directory \`$fixtures\` not found; pass it as the first argument" >&2
    exit 1
fi

# copy_seeds <target> : reads NUL-separated paths on stdin, copies each into corpus/<target>/.
copy_seeds() {
    local target=$1 destination="$fuzz_dir/corpus/$1" copied=0 path size hash
    mkdir -p "$destination"
    while IFS= read -r -d '' path; do
        size=$(stat -c %s -- "$path")
        if (( size > max_seed_bytes )); then
            continue
        fi
        hash=$(sha1sum -- "$path" | cut -d' ' -f1)
        cp -- "$path" "$destination/$hash"
        copied=$((copied + 1))
    done
    echo "$target: $copied seed files copied; $(find "$destination" -type f | wc -l) in $destination" >&2
}

# -type f skips symbolic links, so nothing outside the fixtures is read.
{
    find "$fixtures" -type f -path '*/.claude-plugin/marketplace.json' -print0
    find "$fuzz_dir/seeds/marketplace_json" -type f -print0
} | copy_seeds marketplace_json

{
    find "$fixtures" -type f -path '*/.claude-plugin/plugin.json' -print0
    find "$fuzz_dir/seeds/plugin_json" -type f -print0
} | copy_seeds plugin_json

{
    find "$fixtures" -type f \( -name SKILL.md -o -path '*/agents/*.md' -o -path '*/commands/*.md' \) -print0
    find "$fuzz_dir/seeds/frontmatter" -type f -print0
} | copy_seeds frontmatter
