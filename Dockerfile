# cellgate in a container: Debian 12 slim, the same Debian packages as a host
# install because both stages take them from deploy/install-deps.sh (the build
# stage its build list, the runtime stage its --runtime list, which
# tests/integration/deploy_static.py checks against `ldd cellgate`).
#
#   docker build -t cellgate .
#   docker compose -f deploy/compose.yaml up     # PostgreSQL, three gateways, HAProxy
#
# The image runs deploy/cellgate.cluster.yaml (the PostgreSQL outbox) as
# /etc/cellgate/cellgate.yaml; mount another configuration there to run
# another. It needs CELLGATE_UPSTREAM and CELLGATE_DATABASE_URL, the
# certificates in /etc/cellgate/certs (read-only), the database password in
# /run/secrets/cellgate-db-password, and writes only /var/lib/cellgate (its
# audit log), so the root file system can be read-only. docs/deployment.md.

FROM debian:12-slim AS build
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCG_TESTS=OFF \
	&& cmake --build build/release -j"$(nproc)" --target cellgate \
	&& DESTDIR=/out cmake --install build/release --prefix /usr/local

FROM debian:12-slim
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
# A fixed uid, so that Kubernetes' runAsNonRoot can check it (deploy/k8s/).
RUN groupadd --system --gid 10001 cellgate \
	&& useradd --system --uid 10001 --gid cellgate --home-dir /var/lib/cellgate \
		--shell /usr/sbin/nologin cellgate \
	&& install -d -o cellgate -g cellgate -m 0750 /var/lib/cellgate
# The binary in /usr/local/bin, its code tables in /usr/local/share/cellgate/mappings
# (where it looks beside itself).
COPY --from=build /out/usr/local/ /usr/local/
COPY deploy/cellgate.cluster.yaml /etc/cellgate/cellgate.yaml
# What differs between gateways (CELLGATE_PORT, CELLGATE_ADMIN_PORT,
# CELLGATE_INSTANCE) and what is secret (CELLGATE_DATABASE_URL) comes from
# the runtime; these are the container's layout.
ENV CELLGATE_ADDRESS=0.0.0.0 \
	CELLGATE_ADMIN_ADDRESS=0.0.0.0 \
	CELLGATE_PORT=8443 \
	CELLGATE_ADMIN_PORT=9090 \
	CELLGATE_CERTS=/etc/cellgate/certs \
	CELLGATE_VAR=/var/lib/cellgate
USER 10001:10001
WORKDIR /var/lib/cellgate
# 8443: mutual TLS for clients; 9090: plain HTTP /healthz, /readyz, /metrics
# for probes and scrapers only, never published to clients.
EXPOSE 8443 9090
# SIGTERM drains: listeners closed, requests in flight finished, at most 30 s,
# then 5 s for deliveries in flight (docs/operations.md#signals).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cellgate", "serve", "--config", "/etc/cellgate/cellgate.yaml"]
