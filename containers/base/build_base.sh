#!/usr/bin/env bash
# Build SegArena's local base images without any container registry.
#
#   containers/base/build_base.sh python      segarena/base-python:local     Debian 12 (python 3.11, pip, venv),
#                                                                             made by mmdebstrap and `docker import`
#   containers/base/build_base.sh torch-cpu   segarena/base-torch-cpu:local  the one above + the CPU PyTorch stack
#                                                                             (torch-cpu/requirements.txt) from a wheelhouse
#   containers/base/build_base.sh torch-monai segarena/base-torch-monai:local MONAI, SimpleITK and scipy
#                                                                             (torch-monai/requirements.txt) on a torch base
#   options: --wheelhouse DIR   where the recipes find (and fill) their wheels (default: $CACHE/wheelhouse)
#            --from IMAGE       torch-monai only: the torch base to build on (default segarena/base-torch-cpu:local,
#                               built first; the official PyTorch image for `segarena containers build --base official`)
#            --tag TAG          torch-monai only: the tag to give it (default segarena/base-torch-monai:local)
#            --online           torch-monai only: pip installs from the index instead of the wheelhouse
#
# python and torch-cpu stand in for the official images named in containers/bases.yaml on machines
# that cannot pull (CI here, air-gapped servers); torch-monai is a derived base (`from: torch` there):
# no registry publishes that stack pinned, so both of its variants are built here. Each image carries
# the hash of its recipe (this script, its folder, and for torch-monai the base it is built on) as the
# label org.segarena.recipe: an image whose label matches is reused, otherwise a `docker save` tarball
# $CACHE/containers/base-SLUG-HASH.tar.gz is loaded, otherwise the image is built and saved there.
# $CACHE is $SEGARENA_CACHE or <repo>/.cache; SLUG is the tag without segarena/base-, ':' as '-'.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${SEGARENA_CACHE:-$repo/.cache}
name=${1:-}
shift || true
wheelhouse=$cache/wheelhouse
wheelhouse_given=
from=
tag=
online=
while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse) wheelhouse=$(realpath -m "$2"); wheelhouse_given=1; shift 2 ;;
        --from) from=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --online) online=1; shift ;;
        *) echo "build_base.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$name" in
    python | torch-cpu)
        if [ -n "$from$tag$online" ]; then
            echo "build_base.sh: --from, --tag and --online apply to torch-monai only" >&2
            exit 2
        fi ;;
    torch-monai)
        from=${from:-segarena/base-torch-cpu:local}
        tag=${tag:-segarena/base-torch-monai:local} ;;
    *) echo "usage: $0 python|torch-cpu|torch-monai [--wheelhouse DIR] [--from IMAGE] [--tag TAG] [--online]" >&2; exit 2 ;;
esac

docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker)
export DOCKER_BUILDKIT=0 # the classic builder: no BuildKit frontend image to pull

tag=${tag:-segarena/base-$name:local}
parent_recipe=
if [ "$name" = torch-monai ]; then
    # A local parent is built (or reused) first; its own recipe is part of this one.
    case "$from" in
        segarena/base-*:local)
            parent=${from#segarena/base-}
            parent_args=("${parent%:local}")
            [ -z "$wheelhouse_given" ] || parent_args+=(--wheelhouse "$wheelhouse")
            "$here/build_base.sh" "${parent_args[@]}"
            parent_recipe=$("$docker" image inspect "$from" --format '{{index .Config.Labels "org.segarena.recipe"}}') ;;
    esac
fi
recipe=$( (cat "$here/build_base.sh"; find "$here/$name" -type f | LC_ALL=C sort | xargs cat;
           echo "from=$from parent=$parent_recipe online=$online") | sha256sum | cut -c1-12)
slug=${tag#segarena/base-}
slug=${slug//[:\/]/-}
tarball=$cache/containers/base-$slug-$recipe.tar.gz

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

build_torch_monai() {
    mkdir -p "$work/context/wheelhouse"
    echo "wheels for an offline build (none: pip uses the index)" >"$work/context/wheelhouse/README"
    cp "$here/torch-monai/"* "$work/context/"
    local network=(--network none)
    if [ -n "$online" ]; then
        network=()
    else
        # Resolved together with the torch stack, so the wheels fit the torch already in the base.
        "$repo/containers/wheelhouse.sh" "$wheelhouse" "$here/torch-cpu/requirements.txt" "$here/torch-monai/requirements.txt"
        # Only the wheels this recipe names (the torch stack is in the base already).
        while read -r requirement; do
            project=${requirement%%==*}
            wheel=$(find "$wheelhouse" -maxdepth 1 -iname "${project//-/_}-${requirement#*==}-*.whl" | head -1)
            if [ -z "$wheel" ]; then
                echo "build_base.sh: the wheelhouse $wheelhouse holds no wheel of $requirement" >&2
                exit 1
            fi
            cp -l "$wheel" "$work/context/wheelhouse/" 2>/dev/null || cp "$wheel" "$work/context/wheelhouse/"
        done < <(grep -Ev '^[[:space:]]*(#|$)' "$here/torch-monai/requirements.txt" | sed -E 's/[[:space:]]*#.*$//')
    fi
    "$docker" build --quiet "${network[@]}" --build-arg BASE_IMAGE="$from" \
        --label "org.segarena.recipe=$recipe" -t "$tag" "$work/context" >/dev/null
}

dangling_before=$("$docker" images --quiet --no-trunc --filter dangling=true | sort)
"build_${name//-/_}"
# The multi-stage build leaves its install stage behind untagged: remove what this build left.
comm -13 <(echo "$dangling_before") <("$docker" images --quiet --no-trunc --filter dangling=true | sort) |
    xargs -r "$docker" rmi >/dev/null 2>&1 || true
echo "build_base.sh: built $tag in $(($(date +%s) - started)) s"

mkdir -p "$cache/containers"
rm -f "$cache/containers/base-$slug-"*.tar.gz
"$docker" save "$tag" | gzip -1 >"$tarball.part"
mv "$tarball.part" "$tarball"
echo "build_base.sh: saved $tag to $tarball ($(du -h "$tarball" | cut -f1)) in $(($(date +%s) - started)) s since start"
