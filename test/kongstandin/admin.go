package kongstandin

// Admin API and status API (reference sections 1.2, 5 and 7).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"An unexpected error occurred"}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// adminHandler serves the admin API, or with status=true the status API
// (which only has /status and /status/ready).
func (s *Server) adminHandler(status bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if !status && !s.holdAdminCall(r) {
			// The client gave up, or the stand-in is stopping: no answer,
			// and the connection closes.
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Server", "kong/"+KongVersion)
		if !status {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("X-Kong-Admin-Latency", "0")
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		s.routeAdmin(rec, r, status)
		if !status {
			fmt.Fprintf(s.adminLog, "%s - - [%s] \"%s %s %s\" %d %d\n", r.RemoteAddr, start.Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.URL.RequestURI(), r.Proto, rec.status, rec.bytes)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *statusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

var entityEndpoints = map[string]bool{
	"services": true, "routes": true, "upstreams": true, "targets": true, "plugins": true,
	"certificates": true, "snis": true, "ca_certificates": true, "consumers": true,
}

func (s *Server) routeAdmin(w http.ResponseWriter, r *http.Request, statusOnly bool) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "" {
		path = "/"
	}
	notAllowed := func() { writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method not allowed"}) }
	switch {
	case path == "/status":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed()
			return
		}
		writeJSON(w, http.StatusOK, s.statusBody())
		return
	case path == "/status/ready" && statusOnly:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed()
			return
		}
		if s.rt.Load().hash == zeroHash {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "no configuration available (empty configuration present)"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"message": "ready"})
		return
	case statusOnly:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
		return
	case path == "/":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			notAllowed()
			return
		}
		writeJSON(w, http.StatusOK, s.rootBody())
		return
	case path == "/config":
		switch r.Method {
		case http.MethodPost:
			s.postConfig(w, r)
		case http.MethodGet:
			s.getConfig(w)
		default:
			notAllowed()
		}
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if entityEndpoints[parts[0]] && len(parts) <= 2 {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": fmt.Sprintf("cannot %s '%s' entities when not using a database", strings.ToLower(r.Method), parts[0])})
			return
		}
		s.getEntities(w, parts)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
}

func (s *Server) statusBody() map[string]any {
	return map[string]any{
		"memory": map[string]any{
			"workers_lua_vms":  []any{map[string]any{"http_allocated_gc": "0 MiB", "pid": os.Getpid()}},
			"lua_shared_dicts": map[string]any{},
		},
		"server": map[string]any{
			"connections_accepted": s.connsAccepted.Load(), "connections_active": s.connsActive.Load(),
			"connections_handled": s.connsHandled.Load(), "connections_reading": 0,
			"connections_waiting": 0, "connections_writing": 0, "total_requests": s.totalRequests.Load(),
		},
		"configuration_hash": s.rt.Load().hash,
	}
}

func listenersJSON(ls []Listener) []any {
	out := []any{}
	for _, l := range ls {
		m := map[string]any{"listener": l.Listener, "ip": l.IP, "port": l.Port, "ssl": l.SSL, "http2": l.HTTP2,
			"proxy_protocol": l.ProxyProtocol, "deferred": l.Deferred, "reuseport": l.ReusePort, "bind": l.Bind}
		if l.UDP {
			m["udp"] = true
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) rootBody() map[string]any {
	c := s.cfg
	avail := map[string]any{}
	for name := range enabledPlugins(c.Plugins) {
		avail[name] = map[string]any{"version": KongVersion, "priority": pluginDefFor(name).priority}
	}
	enabledSet := map[string]bool{}
	for _, p := range s.rt.Load().plugins {
		enabledSet[p.name] = true
	}
	enabled := []string{}
	for n := range enabledSet {
		enabled = append(enabled, n)
	}
	sort.Strings(enabled)
	loaded := enabledPlugins(c.Plugins)
	portMaps := append([]string{}, c.PortMaps...)
	return map[string]any{
		"version":     KongVersion,
		"edition":     "community",
		"hostname":    s.hostname,
		"node_id":     s.nodeID,
		"tagline":     "Welcome to kong",
		"lua_version": "LuaJIT 2.1.0-20231117",
		"timers":      map[string]any{"running": 0, "pending": 0},
		"pids":        map[string]any{"master": os.Getpid(), "workers": []int{os.Getpid()}},
		"plugins":     map[string]any{"available_on_server": avail, "enabled_in_cluster": enabled},
		"configuration": map[string]any{
			"database": c.Database, "router_flavor": c.RouterFlavor, "role": "traditional",
			"proxy_listen": c.ProxyListen, "stream_listen": c.StreamListen, "admin_listen": c.AdminListen,
			"status_listen": c.StatusListen, "cluster_listen": []string{"off"},
			"proxy_listeners": listenersJSON(c.ProxyListeners), "stream_listeners": listenersJSON(c.StreamListeners),
			"admin_listeners": listenersJSON(c.AdminListeners), "status_listeners": listenersJSON(c.StatusListeners),
			"port_maps": portMaps, "plugins": c.Plugins, "loaded_plugins": loaded,
			"admin_ssl_cert": c.AdminSSLCert, "admin_ssl_cert_key": "******",
			"nginx_admin_ssl_client_certificate": c.AdminClientCA, "nginx_admin_ssl_verify_client": c.AdminVerifyClient,
			"nginx_worker_processes": c.WorkerProcesses, "log_level": c.LogLevel,
			"proxy_access_log": c.ProxyAccessLog, "proxy_error_log": c.ProxyErrorLog,
			"admin_access_log": c.AdminAccessLog, "admin_error_log": c.AdminErrorLog,
		},
	}
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

// postConfig implements POST /config (reference 1.2-1.3): parse, validate,
// build, swap atomically.
func (s *Server) postConfig(w http.ResponseWriter, r *http.Request) {
	s.configPosts.Add(1)
	if s.busy(w) || s.unavailable(w) {
		return
	}
	if !s.loadMu.TryLock() {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Currently loading previous configuration"})
		return
	}
	defer s.loadMu.Unlock()
	flatten := truthy(r.URL.Query().Get("flatten_errors"))
	limited := r.Body
	if s.cfg.AdminMaxBodySize > 0 {
		limited = http.MaxBytesReader(w, r.Body, s.cfg.AdminMaxBodySize)
	}
	body, err := io.ReadAll(limited)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, "<html><body><h1>413 Request Entity Too Large</h1></body></html>\n")
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "failed reading request body"})
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "expected a declarative configuration"})
		return
	}
	doc, status, msg := parseConfigBody(r, body, s.cfg.AdminBodyBufferSize)
	if status != 0 {
		writeJSON(w, status, map[string]any{"message": msg})
		return
	}
	d := loadDeclarative(doc, enabledPlugins(s.cfg.Plugins))
	if !d.hasErrors() {
		s.applyPolicy(d)
	}
	if d.hasErrors() {
		writeJSON(w, http.StatusBadRequest, d.errorBody(flatten))
		return
	}
	rt, err := buildRuntime(d)
	if err != nil {
		s.errLog.Printf("building configuration failed: %v", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "An unexpected error occurred"})
		return
	}
	old := s.rt.Swap(rt)
	old.closeIdle()
	writeJSON(w, http.StatusCreated, rt.flat)
}

// parseConfigBody extracts the declarative document from the body. A
// non-zero status is an error response.
func parseConfigBody(r *http.Request, body []byte, bufferSize int64) (map[string]any, int, string) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var text string
	switch ct {
	case "application/json", "":
		if int64(len(body)) > bufferSize {
			// nginx spilled the body to a file, which Kong does not read.
			return nil, http.StatusBadRequest, "Cannot parse JSON body"
		}
		var obj map[string]any
		if err := decodeJSON(body, &obj); err != nil {
			return nil, http.StatusBadRequest, "Cannot parse JSON body"
		}
		if _, ok := obj["_format_version"]; ok {
			return obj, 0, ""
		}
		if cfgStr, ok := obj["config"].(string); ok {
			text = cfgStr
		} else {
			// Kong falls back to the raw body as declarative text.
			text = string(body)
		}
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(bufferSize); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, http.StatusBadRequest, "failed parsing form body"
		}
		text = r.PostFormValue("config")
		if text == "" {
			return nil, http.StatusBadRequest, "expected a declarative configuration"
		}
	case "application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml":
		text = string(body)
	default:
		return nil, http.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	// Kong's unserialize tries JSON before YAML (kong/db/declarative/
	// init.lua); the operator posts its JSON as {"config": "<json>"}.
	var fromJSON map[string]any
	if err := decodeJSON([]byte(text), &fromJSON); err == nil && fromJSON != nil {
		return fromJSON, 0, ""
	}
	js, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, http.StatusBadRequest, "failed parsing declarative configuration: " + err.Error()
	}
	var obj map[string]any
	if err := decodeJSON(js, &obj); err != nil || obj == nil {
		return nil, http.StatusBadRequest, "failed parsing declarative configuration: expected an object"
	}
	return obj, 0, ""
}

// getConfig implements GET /config: {"config":"<yaml>"}. JSON is valid YAML,
// and the flattened form is what Kong exports.
func (s *Server) getConfig(w http.ResponseWriter) {
	rt := s.rt.Load()
	doc := map[string]any{"_format_version": "3.0", "_transform": false}
	for plural, byID := range rt.flat {
		ids := make([]string, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		list := make([]any, 0, len(ids))
		for _, id := range ids {
			list = append(list, byID[id])
		}
		doc[plural] = list
	}
	b, _ := json.Marshal(doc)
	writeJSON(w, http.StatusOK, map[string]any{"config": string(b)})
}

// getEntities implements read-only GET /<entities>[/<id or name>].
func (s *Server) getEntities(w http.ResponseWriter, parts []string) {
	byID := s.rt.Load().flat[parts[0]]
	if len(parts) == 2 {
		if e, ok := byID[strings.ToLower(parts[1])]; ok {
			writeJSON(w, http.StatusOK, e)
			return
		}
		for _, e := range byID {
			if m, _ := e.(map[string]any); m != nil && (m["name"] == parts[1] || m["username"] == parts[1]) {
				writeJSON(w, http.StatusOK, m)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
		return
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	data := make([]any, 0, len(ids))
	for _, id := range ids {
		data = append(data, byID[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}
