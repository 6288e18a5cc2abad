# Drawbridge Makefile. `make run` and `make test` do all set-up themselves on a
# fresh machine: Go tools and the Kubernetes binaries are built from source
# through the Go module proxy and cached under bin/.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
# Gateway API v1.7 needs Go 1.27: the go command fetches this toolchain from
# the Go module proxy once (about 76 MB) and uses it for every module here.
export GOTOOLCHAIN := go1.27.3

KUBE_VERSION ?= v1.36.3
BIN := $(CURDIR)/bin
# The lab's data plane: real (Kong built from source by `make kong`) or
# standin (the Go stand-in, only when asked for).
KONG_VERSION := 3.9.3
KONG_DIR := $(BIN)/kong/$(KONG_VERSION)
LAB_KONG ?= real
DATA_PLANE = $(if $(filter standin,$(LAB_KONG)),the Go Kong stand-in,Kong $(KONG_VERSION) (open source, built from source))
KUBE_ASSETS := $(BIN)/k8s/$(KUBE_VERSION)
CONTROLLER_GEN := $(BIN)/controller-gen-v0.20.1
HELM_VERSION := v4.3.2
HELM := $(BIN)/helm
# The Prometheus the lab e2e suite scrapes the operator and Kong with.
PROMETHEUS_VERSION := v0.316.0
PROMETHEUS := $(BIN)/prometheus
IMG ?= drawbridge:dev
VERSION ?= 0.1.0
# The image a bundle installs when IMG is not given on the command line.
BUNDLE_IMG_DEFAULT = ghcr.io/drawbridge-dev/drawbridge:v$(VERSION)
BUNDLE_IMG = $(if $(filter command line environment,$(origin IMG)),$(IMG),$(BUNDLE_IMG_DEFAULT))
BUNDLE_CHANNELS ?= candidate-v0
# false leaves the PrometheusRule and the dashboard ConfigMap out of the
# bundle (for catalogs whose clusters lack the Prometheus Operator's CRDs).
BUNDLE_MONITORING ?= true
KUSTOMIZE = go run ./hack/kustomize
GATEWAY_API_DIR = $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Everyday

LAB_DIR ?= $(CURDIR)/.lab/run

.PHONY: run
run: lab-binaries kube-binaries kong ## Boot the lab (cluster + node + operator pod + samples) and print a working curl (Ctrl-C stops it).
	$(BIN)/lab up --name run --dir $(LAB_DIR) --assets $(KUBE_ASSETS) --bin $(BIN) --kong $(LAB_KONG) \
		--gateway-api-crds $(GATEWAY_API_DIR)/config/crd/experimental --config config

.PHONY: lab-down
lab-down: ## Remove whatever a lab left behind: processes, network namespaces, mount targets.
	@test -x $(BIN)/lab || go build -o $(BIN)/lab ./hack/lab
	$(BIN)/lab down --name run --dir $(LAB_DIR)
	$(BIN)/lab down --name e2e --dir $(CURDIR)/.lab/e2e
	$(BIN)/lab down --name faults --dir $(CURDIR)/.lab/faults
	$(BIN)/lab down --name helm --dir $(CURDIR)/.lab/helm

.PHONY: lab-exec
lab-exec: ## Run CMD inside the lab's node network namespace, e.g. make lab-exec CMD="curl -s 172.18.255.1".
	$(BIN)/lab exec --name run --dir $(LAB_DIR) -- $(CMD)

.PHONY: run-cluster
run-cluster: build ## Run the operator from this machine against the current kubeconfig's cluster (Kong admin APIs via port-forward).
	$(BIN)/drawbridge manager --operator-namespace $${POD_NAMESPACE:-drawbridge-system} --admin-api-dialer=portforward \
		--metrics-bind-address=127.0.0.1:18080 --metrics-secure=false --health-probe-bind-address=127.0.0.1:18081

.PHONY: test
test: verify helm prometheus kube-binaries lab-binaries kong ## Run every test: unit, golden, fuzz seeds, envtest (and again under the race detector with the controllers and internal/dataplane), the Helm chart (lint, template, and an install on a lab of its own), the differential suite and the lab e2e suite (fault scenarios included) on real Kong, the dashboard and alert-rule checks (test/monitoring, and a real Prometheus scraping the lab), and the conformance suite for every claimed feature.
	@rm -f $(BIN)/faults-report.txt
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) GATEWAY_API_CRDS=$(GATEWAY_API_DIR)/config/crd/experimental LAB_BIN_DIR=$(BIN) HELM=$(HELM) PROMETHEUS=$(PROMETHEUS) \
		KONG_DIR=$(KONG_DIR) LAB_KONG=$(LAB_KONG) KONGDIFF_SUMMARY=$(BIN)/kongdiff-summary.txt FAULTS_REPORT=$(BIN)/faults-report.txt \
		go test ./... -count=1 -timeout 50m 2>&1 | tee $(BIN)/test.log
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) GATEWAY_API_CRDS=$(GATEWAY_API_DIR)/config/crd/experimental \
		go test -race -count=1 ./controllers/... ./internal/dataplane/... ./test/envtest/... 2>&1 | sed 's/^ok /ok (race) /' | tee -a $(BIN)/test.log
	cd test/conformance && go test -count=1 -run '^Test(Write|Gate)' . 2>&1 | tee -a $(BIN)/test.log
	cd test/monitoring && go test -count=1 . 2>&1 | tee -a $(BIN)/test.log
	$(MAKE) conformance-ci
	@echo "test: $$(grep -c '^ok' $(BIN)/test.log) packages passed, $$(grep -c '^FAIL' $(BIN)/test.log || true) failed; conformance passed for every profile and claimed feature"

# How long `make fuzz` runs each fuzz target (their seeds run in make test).
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each, one after another; a failure stops with the crashing input under testdata/fuzz.
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./test/conformance/' | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go | sed 's/^func //'); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			go test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

.PHONY: test-e2e
test-e2e: kube-binaries lab-binaries kong prometheus ## Run only the lab e2e suite (root).
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) GATEWAY_API_CRDS=$(GATEWAY_API_DIR)/config/crd/experimental LAB_BIN_DIR=$(BIN) LAB_KONG=$(LAB_KONG) PROMETHEUS=$(PROMETHEUS) \
		go test ./test/e2e/ -count=1 -timeout 30m -v -args -ginkgo.v

.PHONY: test-faults
test-faults: kube-binaries lab-binaries kong ## Run only the fault scenarios of the lab e2e suite (Kong crash, network cut, leader kill, API server outage, ...) on a lab of their own; requests sent and failed per scenario go to bin/faults-report.txt.
	@rm -f $(BIN)/faults-report.txt
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) GATEWAY_API_CRDS=$(GATEWAY_API_DIR)/config/crd/experimental LAB_BIN_DIR=$(BIN) LAB_KONG=$(LAB_KONG) \
		E2E_LAB_NAME=faults FAULTS_REPORT=$(BIN)/faults-report.txt \
		go test ./test/e2e/ -count=1 -timeout 60m -v -args -ginkgo.v -ginkgo.label-filter=faults
	@cat $(BIN)/faults-report.txt

CONFORMANCE_PROFILES ?= GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP
CONFORMANCE_REPORT ?= $(BIN)/conformance/report.yaml
CONFORMANCE_VERSION ?= $(VERSION)
CONFORMANCE_ARGS ?=
# The profiles and extended features the report must show with nothing
# failed or skipped (empty: no check, for runs of a subset).
CONFORMANCE_EXPECTED_CLAIM ?= $(CURDIR)/test/conformance/expected-claim.yaml
# Labs are known by name; a second run under the same name would take the
# first one down, so each kind of run has its own.
CONFORMANCE_LAB ?= conformance
# The addresses GatewayStaticAddresses asks for: one the lab load balancer
# can give (from the top of its pool 172.18.255.0/24, far from the low
# addresses it hands to other Gateways, and skipped by them besides) and one
# it refuses (outside the pool, in the 192.0.2.0/24 documentation range).
# v1.7 waits for every object it deletes to be gone, 30 s by default. A
# namespace is gone only when its Kong pods are: each drains for 15 s in
# its preStop hook (`kong quit --wait=15`) before it stops, and on 2 busy
# cores the namespace sweep that follows took the last run past 30 s.
CONFORMANCE_TIMEOUTS ?= DeleteTimeout:90
CONFORMANCE_USABLE_ADDRESS ?= 172.18.255.240
CONFORMANCE_UNUSABLE_ADDRESS ?= 192.0.2.10

.PHONY: conformance
conformance: lab-binaries kube-binaries kong ## Run the upstream Gateway API conformance suite on a fresh lab; writes bin/conformance/report.yaml and SUMMARY.md (make conformance-report publishes).
	@mkdir -p $(dir $(CONFORMANCE_REPORT))
	cd test/conformance && go test -c -o $(BIN)/conformance.test .
	$(BIN)/lab conformance --name $(CONFORMANCE_LAB) --dir $(CURDIR)/.lab/$(CONFORMANCE_LAB) --assets $(KUBE_ASSETS) --bin $(BIN) --kong $(LAB_KONG) \
		--gateway-api-crds $(GATEWAY_API_DIR)/config/crd/experimental --config config --gateway-class drawbridge -- \
		$(BIN)/conformance.test -test.v -test.run '^TestConformance$$' -test.timeout 80m -gateway-class=drawbridge \
		-conformance-profiles=$(CONFORMANCE_PROFILES) -report-output=$(CONFORMANCE_REPORT) \
		-usable-address=$(CONFORMANCE_USABLE_ADDRESS) -unusable-address=$(CONFORMANCE_UNUSABLE_ADDRESS) \
		-timeout-config-overrides=$(CONFORMANCE_TIMEOUTS) \
		-drawbridge-version=$(CONFORMANCE_VERSION) -data-plane="$(DATA_PLANE)" $(if $(CONFORMANCE_EXPECTED_CLAIM),-expected-claim=$(CONFORMANCE_EXPECTED_CLAIM)) $(CONFORMANCE_ARGS) 2>&1 | tee $(BIN)/$(CONFORMANCE_LAB).log | grep -E '^(--- |    --- (PASS|FAIL)|ok|PASS|FAIL|lab:)' || true
	@grep -q '^--- PASS: TestConformance' $(BIN)/$(CONFORMANCE_LAB).log || { echo "conformance: failed (full log: bin/$(CONFORMANCE_LAB).log)"; exit 1; }
	@cat $(dir $(CONFORMANCE_REPORT))SUMMARY.md

# The published run, in the layout the Gateway API repository takes
# submissions in (conformance/reports/<API version>/<implementation>/): the
# report exactly as the suite wrote it, its README.md, and our SUMMARY.md.
# The version names the commit the run was built from, so the tree must be
# committed first.
GATEWAY_API_VERSION = $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)
REPORT_COMMIT = $(shell git rev-parse --short=12 HEAD)
REPORT_VERSION = v$(VERSION)-main.$(REPORT_COMMIT)
REPORT_DIR = $(CURDIR)/conformance/reports/$(GATEWAY_API_VERSION)/drawbridge
.PHONY: conformance-report
conformance-report: ## Run every profile on a fresh lab and rewrite the published report under conformance/reports/ (commit first: the report names HEAD).
	@git diff --quiet HEAD -- . ':(exclude)conformance' || { echo "conformance-report: commit your changes first: the report names commit $(REPORT_COMMIT)"; exit 1; }
	@rm -f $(REPORT_DIR)/*-report.yaml
	$(MAKE) conformance CONFORMANCE_LAB=conformance CONFORMANCE_REPORT=$(REPORT_DIR)/experimental-$(REPORT_VERSION)-default-report.yaml \
		CONFORMANCE_VERSION=$(REPORT_VERSION) \
		CONFORMANCE_ARGS="-submission-readme=$(REPORT_DIR)/README.md -commit-url=https://github.com/drawbridge-dev/drawbridge/commit/$$(git rev-parse HEAD)"

.PHONY: conformance-ci
conformance-ci: ## Every profile and claimed feature, as make test runs it; the report goes to bin/, so conformance/ keeps the published run.
	$(MAKE) conformance CONFORMANCE_LAB=conformance-ci CONFORMANCE_REPORT=$(BIN)/conformance-ci/report.yaml

.PHONY: conformance-http-core
conformance-http-core: ## The GATEWAY-HTTP core tests only (a quick check); the report goes to bin/.
	$(MAKE) conformance CONFORMANCE_LAB=conformance-core CONFORMANCE_PROFILES=GATEWAY-HTTP CONFORMANCE_REPORT=$(BIN)/conformance-http-core/report.yaml CONFORMANCE_EXPECTED_CLAIM= \
		CONFORMANCE_ARGS="-supported-features=Gateway,HTTPRoute,ReferenceGrant"

.PHONY: bench
bench: build lab-binaries kube-binaries kong ## Run the Go benchmarks, then the scale benchmark on real Kong and the lab; writes the report to bench/ (README.md and charts).
	@test -x /usr/bin/time || { echo "bench: installing GNU time (the CLI stage reads peak RSS from it) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; }
	go test ./... -run '^$$' -bench . -skip '^Benchmark(Fleet|Route)Memory$$' -benchmem -benchtime 3x 2>&1 | tee $(BIN)/bench-go.txt
	@# The operator's memory per Gateway: one process per variant, one iteration of 30 Gateways (see its doc comment).
	for v in created kubectl-applied; do \
		FLEETMEM_BATCH=30 go test ./test/scalebench/ -run '^$$' -bench "^BenchmarkFleetMemory$$/^$$v$$" -benchtime 1x 2>&1 | tee -a $(BIN)/bench-go.txt; \
	done
	@# The operator's memory with 5,000 routes on one Gateway, and per change (one iteration, see its doc comment).
	go test ./test/scalebench/ -run '^$$' -bench '^BenchmarkRouteMemory$$' -benchtime 1x -timeout 20m 2>&1 | tee -a $(BIN)/bench-go.txt
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) GATEWAY_API_CRDS=$(GATEWAY_API_DIR)/config/crd/experimental LAB_BIN_DIR=$(BIN) \
		KONG_DIR=$(KONG_DIR) LAB_KONG=$(LAB_KONG) SCALEBENCH_REPORT=$(CURDIR)/bench $(if $(BENCH_STAGES),SCALEBENCH_STAGES=$(BENCH_STAGES)) \
		go test ./test/scalebench/ -run '^TestScaleBench$$' -count=1 -timeout 150m -v 2>&1 | tee $(BIN)/bench.log

##@ Build

.PHONY: build
build: ## Build bin/drawbridge.
	@mkdir -p $(BIN)
	go build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/drawbridge .

.PHONY: lab-deps
lab-deps: ## Install the system tools the lab drives (iproute2, nsenter, nft) when missing.
	@if [[ ! -x /usr/sbin/ip ]] || ! command -v nsenter >/dev/null; then \
		echo "lab-deps: installing iproute2 and util-linux with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 util-linux; \
	fi
	@if [[ ! -x /usr/sbin/nft ]]; then \
		echo "lab-deps: installing nftables with apt-get (the lab enforces NetworkPolicy with nft in each pod namespace)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables; \
	fi

.PHONY: kong
kong: ## Build open-source Kong $(KONG_VERSION) from the pinned sources (hack/kong/sources.tsv) into bin/kong; cached.
	@KONG_INSTALL_DIR=$(KONG_DIR) hack/build-kong.sh

.PHONY: lab-binaries
lab-binaries: build lab-deps ## Build the programs the lab runs: lab, kong-launcher, kong-standin, dns-standin, echo-basic (gateway-api-conformance-images v0.1.0).
	@KONG_VERSION=$(KONG_VERSION) hack/build-lab-binaries.sh $(BIN)

.PHONY: docker-build
docker-build: ## Build the operator image (needs a container engine).
	docker build -t $(IMG) --build-arg VERSION=$(VERSION) .

.PHONY: kube-binaries
kube-binaries: ## Build kube-apiserver, etcd and kube-controller-manager from source into bin/k8s/.
	@KUBE_VERSION=$(KUBE_VERSION) hack/build-kube-binaries.sh

##@ Generated files

$(CONTROLLER_GEN):
	@mkdir -p $(BIN)
	@echo "tools: installing controller-gen v0.20.1"
	GOBIN=$(BIN)/tmp-gobin go install sigs.k8s.io/controller-tools/cmd/controller-gen@v0.20.1
	mv $(BIN)/tmp-gobin/controller-gen $(CONTROLLER_GEN) && rm -rf $(BIN)/tmp-gobin

$(BIN)/helm-$(HELM_VERSION):
	@mkdir -p $(BIN)
	@echo "tools: building helm $(HELM_VERSION) from the Go module proxy"
	GOBIN=$(BIN)/tmp-helm go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(BIN)/tmp-helm/helm $@ && rm -rf $(BIN)/tmp-helm

.PHONY: helm
helm: $(BIN)/helm-$(HELM_VERSION) ## Install bin/helm (Helm $(HELM_VERSION), built from source; cached).
	@ln -sfn helm-$(HELM_VERSION) $(HELM)

# Only Kubernetes service discovery is compiled in: Prometheus's plugins
# package registers each discoverer behind a build tag, and remove_all_sd
# drops all but file and HTTP discovery unless a discoverer's enable_ tag
# names it. Without the builtinassets tag the web UI is left out too (the
# HTTP API the tests use is always there).
$(BIN)/prometheus-$(PROMETHEUS_VERSION):
	@mkdir -p $(BIN)
	@echo "tools: building prometheus $(PROMETHEUS_VERSION) (Kubernetes service discovery only, no web UI) from the Go module proxy"
	GOBIN=$(BIN)/tmp-prometheus go install -trimpath -tags remove_all_sd,enable_kubernetes_sd \
		-ldflags "-X github.com/prometheus/common/version.Version=$(PROMETHEUS_VERSION:v%=%)" \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION)
	mv $(BIN)/tmp-prometheus/prometheus $@ && rm -rf $(BIN)/tmp-prometheus

.PHONY: prometheus
prometheus: $(BIN)/prometheus-$(PROMETHEUS_VERSION) ## Install bin/prometheus (Prometheus $(PROMETHEUS_VERSION), built from source with Kubernetes discovery only; cached) for the lab e2e suite.
	@ln -sfn prometheus-$(PROMETHEUS_VERSION) $(PROMETHEUS)
	@echo "prometheus: $(PROMETHEUS_VERSION) is built ($(PROMETHEUS))"

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Regenerate CRDs and RBAC from the Go markers.
	$(CONTROLLER_GEN) rbac:roleName=drawbridge-manager crd paths="./api/...;./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: verify
verify: ## Fail when generated files are stale (regenerates them, so a second run passes once they are committed).
	@hack/verify-generated.sh

.PHONY: monitoring-list
monitoring-list: ## Rewrite config/monitoring/metrics-used.json (the metrics and labels the dashboard and alert rules use) after changing them.
	cd test/monitoring && go test -count=1 -run '^TestUsedListIsFresh$$' . -update

.PHONY: bundle
bundle: ## Generate the OLM bundle (bundle/, bundle.Dockerfile) from config/ (VERSION=x.y.z IMG=registry/drawbridge:tag).
	go run ./hack/bundlegen --version $(VERSION) --image $(BUNDLE_IMG) --channels $(BUNDLE_CHANNELS) $(if $(REPLACES),--replaces $(REPLACES)) --monitoring=$(BUNDLE_MONITORING)

.PHONY: chart
chart: ## Generate the Helm chart (charts/drawbridge) from config/ (VERSION=x.y.z); make verify checks it is fresh.
	go run ./hack/chartgen --version $(VERSION) --gateway-api-crds $(GATEWAY_API_DIR)/config/crd

.PHONY: bundle-build
bundle-build: ## Build the bundle image (needs a container engine; BUNDLE_IMAGE=registry/drawbridge-bundle:tag).
	docker build -f bundle.Dockerfile -t $(BUNDLE_IMAGE) .

##@ Deploy

# Manifests are built with the kustomize Go module pinned in go.mod
# (hack/kustomize), so only kubectl itself is needed to apply them.
.PHONY: install
install: ## Install Drawbridge's CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) config/crd | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: ## Remove Drawbridge's CRDs (and every GatewayConfiguration) from the current cluster.
	$(KUSTOMIZE) config/crd | kubectl delete --ignore-not-found -f -

.PHONY: deploy
deploy: ## Deploy the operator with kustomize to the current cluster (IMG=registry/drawbridge:tag).
	$(KUSTOMIZE) --image $(IMG) config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator, its RBAC and its CRDs from the current cluster.
	$(KUSTOMIZE) config/default | kubectl delete --ignore-not-found -f -
