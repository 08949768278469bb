# Inlet — the two commands a fresh Debian machine needs: `make run` and `make test`.
SWIFT ?= swift
CC ?= cc
CFLAGS_PLUGIN ?= -std=c11 -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden
CONFIG ?= config/inlet.yaml
PLUGIN_DIR := .build/plugins
RELEASE_DIR := .build-release
# Debian packages the build needs (GRDB links the system SQLite; the host's HTTP service is
# libcurl; the git connector drives git).
DEBIAN_PACKAGES := libsqlite3-dev libcurl4-openssl-dev git gcc make

.PHONY: all build deps plugins run test bench clean

all: build

# Installs missing Debian packages (as root, or through sudo).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

# The daemon and every plugin; plugins land in one folder that config/inlet.yaml lists.
build: deps
	$(SWIFT) build
	@$(MAKE) --no-print-directory plugins

# The C folder connector is built with plain cc; Swift connectors are copied from the Swift build.
plugins:
	@mkdir -p $(PLUGIN_DIR)
	$(CC) $(CFLAGS_PLUGIN) -I Sources/CInletABI/include Plugins/Folder/*.c -o $(PLUGIN_DIR)/libinlet-folder.so
	cp "$$($(SWIFT) build --show-bin-path)/libInletGit.so" $(PLUGIN_DIR)/libInletGit.so
	cp "$$($(SWIFT) build --show-bin-path)/libInletGitHub.so" $(PLUGIN_DIR)/libInletGitHub.so

# Starts the daemon on the default config: it syncs the project's own folder into var/inlet.db
# at once, then every 5 minutes. Ctrl-C stops it gracefully.
run: build
	$$($(SWIFT) build --show-bin-path)/inlet run --config $(CONFIG)

test: deps
	$(SWIFT) build --build-tests
	@$(MAKE) --no-print-directory plugins
	$(SWIFT) test --skip-build

# Benchmarks in release mode, each printed beside a baseline measured in the same run.
bench: deps
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES=wrk   # the webhook benchmark's load generator
	$(SWIFT) build -c release --scratch-path $(RELEASE_DIR) --product inlet-bench
	$(SWIFT) build -c release --scratch-path $(RELEASE_DIR) --product InletGit
	@mkdir -p $(RELEASE_DIR)/plugins
	cp $(RELEASE_DIR)/release/libInletGit.so $(RELEASE_DIR)/plugins/libInletGit.so
	$(CC) $(CFLAGS_PLUGIN) -I Sources/CInletABI/include Plugins/Folder/*.c -o $(RELEASE_DIR)/plugins/libinlet-folder.so
	$(RELEASE_DIR)/release/inlet-bench --plugins $(RELEASE_DIR)/plugins

clean:
	rm -rf .build $(RELEASE_DIR) var
