#!/usr/bin/env bash
# Build SegArena's local base images without any container registry.
#
#   containers/base/build_base.sh python      segarena/base-python:local     Debian 12 (python 3.11, pip, venv),
#                                                                             made by mmdebstrap and `docker import`
#   containers/base/build_base.sh torch-cpu   segarena/base-torch-cpu:local  the one above + the CPU PyTorch stack
#                                                                             (torch/requirements.txt) from a wheelhouse
#   options: --wheelhouse DIR   where torch-cpu finds (and fills) its wheels (default: $CACHE/wheelhouse)
#
# They stand in for the official images named in containers/bases.yaml on machines that
# cannot pull (CI here, air-gapped servers). Each image carries the hash of its recipe (this
# script and its folder) as the label org.segarena.recipe: an image whose label matches is
# reused, otherwise a `docker save` tarball $CACHE/containers/base-NAME-HASH.tar.gz is loaded,
# otherwise the image is built and saved there. $CACHE is $SEGARENA_CACHE or <repo>/.cache.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${SEGARENA_CACHE:-$repo/.cache}
name=${1:-}
shift || true
wheelhouse=$cache/wheelhouse
while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse) wheelhouse=$(realpath -m "$2"); shift 2 ;;
        *) echo "build_base.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$name" in
    python | torch-cpu) ;;
    *) echo "usage: $0 python|torch-cpu [--wheelhouse DIR]" >&2; exit 2 ;;
esac

docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker)
export DOCKER_BUILDKIT=0 # the classic builder: no BuildKit frontend image to pull

tag=segarena/base-$name:local
recipe=$( (cat "$here/build_base.sh"; find "$here/$name" -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-12)
tarball=$cache/containers/base-$name-$recipe.tar.gz

current_recipe() {
    "$docker" image inspect "$tag" --format '{{index .Config.Labels "org.segarena.recipe"}}' 2>/dev/null || true
}

if [ "$(current_recipe)" = "$recipe" ]; then
    echo "build_base.sh: $tag is up to date (recipe $recipe)"
    exit 0
fi
if [ -f "$tarball" ]; then
    echo "build_base.sh: loading $tag from $tarball"
    gunzip -c "$tarball" | "$docker" load >/dev/null
    if [ "$(current_recipe)" = "$recipe" ]; then exit 0; fi
    echo "build_base.sh: $tarball did not hold $tag with recipe $recipe; rebuilding" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/segarena-base-XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

build_python() {
    if ! command -v mmdebstrap >/dev/null; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
            echo "build_base.sh: mmdebstrap is missing (Debian: apt-get install mmdebstrap)" >&2
            exit 1
        fi
        echo "build_base.sh: installing mmdebstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    fi
    local packages
    packages=$(grep -v '^#' "$here/python/packages.txt" | xargs | tr ' ' ,)
    echo "build_base.sh: mmdebstrap bookworm with $packages"
    mmdebstrap --quiet --variant=apt --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
        bookworm "$work/rootfs.tar"
    "$docker" import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV LANG=C.UTF-8' \
        -c 'ENV PYTHONDONTWRITEBYTECODE=1' -c 'ENV PYTHONUNBUFFERED=1' \
        -c 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' -c 'ENV PIP_DISABLE_PIP_VERSION_CHECK=1' -c 'ENV PIP_NO_CACHE_DIR=1' \
        -c "LABEL org.segarena.recipe=$recipe" \
        -c 'CMD ["python3"]' \
        "$work/rootfs.tar" "$tag" >/dev/null
}

build_torch_cpu() {
    "$here/build_base.sh" python
    "$repo/containers/wheelhouse.sh" "$wheelhouse" "$here/torch-cpu/requirements.txt"
    mkdir -p "$work/context/wheelhouse"
    cp "$here/torch-cpu/"* "$work/context/"
    cp -l "$wheelhouse"/*.whl "$work/context/wheelhouse/" 2>/dev/null || cp "$wheelhouse"/*.whl "$work/context/wheelhouse/"
    "$docker" build --quiet --network none --build-arg BASE_IMAGE=segarena/base-python:local \
        --label "org.segarena.recipe=$recipe" -t "$tag" "$work/context" >/dev/null
}

dangling_before=$("$docker" images --quiet --no-trunc --filter dangling=true | sort)
"build_${name//-/_}"
# The multi-stage build leaves its install stage behind untagged: remove what this build left.
comm -13 <(echo "$dangling_before") <("$docker" images --quiet --no-trunc --filter dangling=true | sort) |
    xargs -r "$docker" rmi >/dev/null 2>&1 || true
echo "build_base.sh: built $tag in $(($(date +%s) - started)) s"

mkdir -p "$cache/containers"
rm -f "$cache/containers/base-$name-"*.tar.gz
"$docker" save "$tag" | gzip -1 >"$tarball.part"
mv "$tarball.part" "$tarball"
echo "build_base.sh: saved $tag to $tarball ($(du -h "$tarball" | cut -f1)) in $(($(date +%s) - started)) s since start"
