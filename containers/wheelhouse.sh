#!/usr/bin/env bash
# Fill a wheelhouse for offline image builds: the wheels that pip inside a Linux x86_64,
# CPython 3.11 image needs for the given requirement files, with every dependency.
#
#   containers/wheelhouse.sh OUT_DIR REQUIREMENTS_FILE...
#   e.g. containers/wheelhouse.sh wheelhouse containers/base/torch-cpu/requirements.txt methods/*/requirements.txt
#
# Run it where pip reaches an index (or local wheel folders through pip's own config:
# find-links, extra-index-url); carry OUT_DIR to the air-gapped machine and build there with
# `segarena containers build --wheelhouse OUT_DIR`. Wheels already in OUT_DIR are not fetched again.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 OUT_DIR REQUIREMENTS_FILE..." >&2
    exit 2
fi
out=$1
shift
mkdir -p "$out"
python=${SEGARENA_WHEELHOUSE_PYTHON:-python3}
args=()
for requirements in "$@"; do
    args+=(-r "$requirements")
done
# Pure-Python packages published only as source carry `# build-wheel` on their line: build their
# wheels here first (no dependencies), so the resolution below finds them in OUT_DIR.
for requirements in "$@"; do
    { grep -E '^[^#]+#[[:space:]]*build-wheel' "$requirements" || true; } | sed -E 's/[[:space:]]*#.*$//' | while read -r requirement; do
        name=${requirement%%[=<>!~ ]*}
        if ls "$out"/"${name//-/_}"-*.whl >/dev/null 2>&1; then continue; fi
        echo "wheelhouse.sh: building a wheel of $requirement (source only on the index)"
        "$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$requirement" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    done
done
# One resolution over all files, so the wheelhouse holds one consistent set.
"$python" -m pip download --quiet --dest "$out" --find-links "$out" --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 --platform any \
    "${args[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
echo "wheelhouse.sh: $(find "$out" -name '*.whl' | wc -l) wheels ($(du -sh "$out" | cut -f1)) in $out"
