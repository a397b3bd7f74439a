# Sourced by build.sh and test.sh: picks the container engine and the flags it needs on our machines.
# Sets ENGINE (docker or podman), BUILD_FLAGS and RUN_FLAGS (arrays). ENGINE=podman|docker in the environment wins.

pick_engine() {
    if [ -z "${ENGINE:-}" ]; then
        if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
            ENGINE=docker # a client without a reachable daemon does not count
        elif command -v podman >/dev/null 2>&1; then
            ENGINE=podman
        else
            echo "neither a working docker (daemon reachable) nor podman found; install one, e.g. apt-get install podman runc" >&2
            return 1
        fi
    fi
    BUILD_FLAGS=()
    RUN_FLAGS=(--network host) # the emulator and a self-hosted Twenty in tests listen on the host's 127.0.0.1
    if [ "$ENGINE" = podman ]; then
        local podman_flags=(
            # Limits the VM can grant: podman otherwise asks for more than an unprivileged VM may raise to.
            --ulimit nofile=1024:1024 --ulimit nproc=1000:1000
        )
        # crun, podman's default on Debian, fails on this VM's cgroups (v1); runc works.
        if command -v runc >/dev/null 2>&1; then
            podman_flags=(--runtime runc "${podman_flags[@]}")
        fi
        BUILD_FLAGS+=("${podman_flags[@]}")
        RUN_FLAGS+=("${podman_flags[@]}")
    fi
}
