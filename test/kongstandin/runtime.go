package kongstandin

// The runtime form of a loaded configuration: compiled routes in evaluation
// order, services, balancers, certificates and plugin instances. A runtime is
// immutable once built and swapped atomically by POST /config.

import (
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

const zeroHash = "00000000000000000000000000000000"

type service struct {
	id, name, protocol, host, path string
	hasPath                        bool
	port, retries                  int
	connectTimeout, readTimeout    time.Duration
	writeTimeout                   time.Duration
	enabled                        bool
}

type route struct {
	id, name      string
	protocols     []string
	expr          exprNode
	priority      int64
	service       *service
	stripPath     bool
	preserveHost  bool
	httpsRedirect int
	rec           map[string]any
}

func (r *route) hasProtocol(p string) bool { return contains(r.protocols, p) }

type target struct {
	host   string
	port   int
	weight int
}

type upstream struct {
	name       string
	hostHeader string
	mu         sync.Mutex
	targets    []*target
	current    []int // smooth weighted round-robin state, per target
}

type certPair struct {
	certs []tls.Certificate // primary first, then cert_alt
}

type pluginInstance struct {
	id, name                     string
	routeID, serviceID, consumer string
	protocols                    []string
	cfg                          map[string]any
	def                          *pluginDef
	impl                         plugin
}

type runtime struct {
	hash         string
	flat         map[string]map[string]any // plural -> id -> entity, as returned by POST /config
	httpRoutes   []*route
	streamRoutes []*route
	upstreams    map[string]*upstream
	snis         map[string]*certPair
	plugins      []*pluginInstance
	consumers    map[string]*consumerRec  // by id
	keyauth      map[string]credentialRec // key-auth credentials by key
	aclGroups    map[string][]string      // consumer id -> ACL groups
	loadedAt     time.Time
	transports   transportCache
}

func emptyRuntime() *runtime {
	return &runtime{hash: zeroHash, flat: map[string]map[string]any{}, upstreams: map[string]*upstream{}, snis: map[string]*certPair{}}
}

// buildRuntime compiles a validated declaration. Errors here are internal
// (validation already passed) and reported as 500 by the caller.
func buildRuntime(d *declaration) (*runtime, error) {
	rt := emptyRuntime()
	rt.loadedAt = time.Now()
	count := 0
	for _, e := range d.all() {
		plural := pluralOf(e.typ)
		if rt.flat[plural] == nil {
			rt.flat[plural] = map[string]any{}
		}
		rec := map[string]any{}
		for k, v := range e.rec {
			rec[k] = v
		}
		rec["id"] = e.id
		rt.flat[plural][e.id] = rec
		count++
	}
	if count > 0 {
		b, err := json.Marshal(rt.flat)
		if err != nil {
			return nil, fmt.Errorf("hash configuration: %w", err)
		}
		sum := md5.Sum(b)
		rt.hash = hex.EncodeToString(sum[:])
	}
	services := map[string]*service{}
	for _, e := range d.byType["service"] {
		s := &service{
			id: e.id, name: getString(e.rec, "name"), protocol: getString(e.rec, "protocol"),
			host: getString(e.rec, "host"), port: getInt(e.rec, "port"), retries: getInt(e.rec, "retries"),
			connectTimeout: ms(getInt(e.rec, "connect_timeout")), readTimeout: ms(getInt(e.rec, "read_timeout")),
			writeTimeout: ms(getInt(e.rec, "write_timeout")), enabled: getBool(e.rec, "enabled"),
		}
		if p, ok := e.rec["path"].(string); ok {
			s.path, s.hasPath = p, true
		}
		services[e.id] = s
	}
	for _, e := range d.byType["route"] {
		r := &route{
			id: e.id, name: getString(e.rec, "name"), protocols: getStrings(e.rec, "protocols"),
			priority: int64(getInt(e.rec, "priority")), stripPath: getBool(e.rec, "strip_path"),
			preserveHost: getBool(e.rec, "preserve_host"), httpsRedirect: getInt(e.rec, "https_redirect_status_code"), rec: e.rec,
		}
		if sid := refID(e.rec, "service"); sid != "" {
			r.service = services[sid]
			if !r.service.enabled {
				continue // Kong leaves routes of disabled services out of the router
			}
		}
		stream := false
		for _, p := range r.protocols {
			stream = stream || streamProtocols[p]
		}
		src := withProtocolPredicate(getString(e.rec, "expression"), r.protocols)
		n, err := compileExpression(src, stream)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", e.id, err)
		}
		r.expr = n
		if stream {
			rt.streamRoutes = append(rt.streamRoutes, r)
		} else {
			rt.httpRoutes = append(rt.httpRoutes, r)
		}
	}
	sortRoutes(rt.httpRoutes)
	sortRoutes(rt.streamRoutes)
	upByID := map[string]*upstream{}
	for _, e := range d.byType["upstream"] {
		u := &upstream{name: getString(e.rec, "name"), hostHeader: getString(e.rec, "host_header")}
		rt.upstreams[u.name] = u
		upByID[e.id] = u
	}
	for _, e := range d.byType["target"] {
		u := upByID[refID(e.rec, "upstream")]
		h, p, err := splitTarget(getString(e.rec, "target"))
		if err != nil || u == nil {
			return nil, fmt.Errorf("target %s: unresolved", e.id)
		}
		u.targets = append(u.targets, &target{host: h, port: p, weight: getInt(e.rec, "weight")})
	}
	for _, u := range rt.upstreams {
		u.current = make([]int, len(u.targets))
	}
	certs := map[string]*certPair{}
	for _, e := range d.byType["certificate"] {
		cp := &certPair{}
		c, err := tls.X509KeyPair([]byte(getString(e.rec, "cert")), []byte(getString(e.rec, "key")))
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", e.id, err)
		}
		cp.certs = append(cp.certs, c)
		if ca := getString(e.rec, "cert_alt"); ca != "" {
			c2, err := tls.X509KeyPair([]byte(ca), []byte(getString(e.rec, "key_alt")))
			if err != nil {
				return nil, fmt.Errorf("certificate %s alt: %w", e.id, err)
			}
			cp.certs = append(cp.certs, c2)
		}
		certs[e.id] = cp
	}
	for _, e := range d.byType["sni"] {
		rt.snis[strings.ToLower(getString(e.rec, "name"))] = certs[refID(e.rec, "certificate")]
	}
	rt.consumers, rt.keyauth, rt.aclGroups = map[string]*consumerRec{}, map[string]credentialRec{}, map[string][]string{}
	for _, e := range d.byType["consumer"] {
		c := &consumerRec{id: e.id}
		c.username, c.hasUsername = e.rec["username"].(string)
		c.customID, c.hasCustom = e.rec["custom_id"].(string)
		rt.consumers[e.id] = c
	}
	for _, e := range d.byType["keyauth_credential"] {
		rt.keyauth[getString(e.rec, "key")] = credentialRec{id: e.id, consumerID: refID(e.rec, "consumer")}
	}
	for _, e := range d.byType["acl"] {
		cid := refID(e.rec, "consumer")
		rt.aclGroups[cid] = append(rt.aclGroups[cid], getString(e.rec, "group"))
	}
	for _, e := range d.byType["plugin"] {
		if !getBool(e.rec, "enabled") {
			continue
		}
		name := getString(e.rec, "name")
		pi := &pluginInstance{
			id: e.id, name: name, routeID: refID(e.rec, "route"), serviceID: refID(e.rec, "service"),
			consumer: refID(e.rec, "consumer"), protocols: getStrings(e.rec, "protocols"),
			cfg: getRecord(e.rec, "config"), def: pluginDefFor(name),
		}
		impl, err := newPlugin(name, pi.cfg)
		if err != nil {
			return nil, fmt.Errorf("plugin %s (%s): %w", name, e.id, err)
		}
		pi.impl = impl
		rt.plugins = append(rt.plugins, pi)
	}
	return rt, nil
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// sortRoutes orders routes as atc-router evaluates them: descending priority,
// ties broken by descending route UUID (reference 4.2).
func sortRoutes(rs []*route) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].priority != rs[j].priority {
			return rs[i].priority > rs[j].priority
		}
		return rs[i].id > rs[j].id
	})
}

// protocolOverride maps route protocols to the net.protocol value Kong matches
// on (kong/router/expressions.lua): gRPC arrives as http/https and a
// passthrough connection is still plain tcp when the router runs.
var protocolOverride = map[string]string{"tls_passthrough": "tcp", "grpc": "http", "grpcs": "https"}

// withProtocolPredicate ANDs the route's protocols into its expression as
// Kong 3.9 does. A route with only https, tls or tls_passthrough gets no
// predicate so that plain requests can still be redirected (426/301/...).
func withProtocolPredicate(expr string, protocols []string) string {
	if len(protocols) == 1 && (protocols[0] == "https" || protocols[0] == "tls" || protocols[0] == "tls_passthrough") {
		return expr
	}
	seen := map[string]bool{}
	var preds []string
	for _, p := range protocols {
		if o, ok := protocolOverride[p]; ok {
			p = o
		}
		if !seen[p] {
			seen[p] = true
			preds = append(preds, fmt.Sprintf(`net.protocol == "%s"`, p))
		}
	}
	if len(preds) == 0 {
		return expr
	}
	return "(" + expr + ") && (" + strings.Join(preds, " || ") + ")"
}

// pickTarget selects the next target by smooth weighted round-robin; weight-0
// targets never receive traffic. exclude skips targets already tried.
func (u *upstream) pickTarget(exclude map[*target]bool) *target {
	u.mu.Lock()
	defer u.mu.Unlock()
	total, best := 0, -1
	for i, t := range u.targets {
		if t.weight <= 0 || exclude[t] {
			continue
		}
		u.current[i] += t.weight
		total += t.weight
		if best < 0 || u.current[i] > u.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	u.current[best] -= total
	return u.targets[best]
}

// certificateFor selects the certificate for an SNI: exact, "*.suffix",
// "prefix.*", "*" (reference 2, kong/runloop/certificate.lua), else nil.
func (rt *runtime) certificateFor(sni string) *certPair {
	sni = strings.ToLower(strings.TrimSuffix(sni, "."))
	if sni == "" {
		return rt.snis["*"]
	}
	if c := rt.snis[sni]; c != nil {
		return c
	}
	if i := strings.IndexByte(sni, '.'); i > 0 {
		if c := rt.snis["*"+sni[i:]]; c != nil {
			return c
		}
	}
	if i := strings.LastIndexByte(sni, '.'); i > 0 {
		if c := rt.snis[sni[:i]+".*"]; c != nil {
			return c
		}
	}
	return rt.snis["*"]
}

// pluginsFor resolves, for each plugin name, the most specific enabled
// instance (route+service, then route, then service, then global) and returns
// them in Kong's execution order (descending PRIORITY). Consumer-scoped
// instances never apply: the stand-in implements no authentication plugin.
func (rt *runtime) pluginsFor(r *route, proto string) []*pluginInstance {
	best := map[string]*pluginInstance{}
	rank := map[string]int{}
	sid := ""
	if r.service != nil {
		sid = r.service.id
	}
	for _, p := range rt.plugins {
		if p.consumer != "" || !contains(p.protocols, proto) {
			continue
		}
		score := -1
		switch {
		case p.routeID != "" && p.serviceID != "":
			if p.routeID == r.id && p.serviceID == sid {
				score = 3
			}
		case p.routeID != "":
			if p.routeID == r.id {
				score = 2
			}
		case p.serviceID != "":
			if p.serviceID == sid && sid != "" {
				score = 1
			}
		default:
			score = 0
		}
		if score < 0 {
			continue
		}
		if _, ok := best[p.name]; !ok || score > rank[p.name] {
			best[p.name], rank[p.name] = p, score
		}
	}
	out := make([]*pluginInstance, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].def.priority > out[j].def.priority })
	return out
}
