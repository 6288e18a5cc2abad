package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kong/go-kong/kong"
)

// Defaults of a Pusher.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffCap  = 30 * time.Second
	DefaultMaxAttempts = 5
	// DefaultAuthRetryFloor is the shortest wait before an admin
	// authentication failure is tried again: such a failure lasts as long
	// as a certificate rotation is half done (a replica still holding the
	// previous CA or certificate), which takes seconds, not milliseconds.
	DefaultAuthRetryFloor = time.Second
)

// kongMaxRetryAfter is the longest Retry-After Kong sends (a 429 while
// another configuration loads: DECLARATIVE_RETRY_TTL_MAX, 10 seconds, in
// kong/db/declarative/import.lua of Kong 3.9.3). Longer waits asked by
// anything in between are cut to it (or to the backoff cap when that is
// longer), so one answer cannot hold a push, and the Gateway's reconcile,
// for hours.
const kongMaxRetryAfter = 10 * time.Second

// zeroConfigHash is what Kong's GET /status reports as configuration_hash
// before any configuration was loaded (or after an empty one).
const zeroConfigHash = "00000000000000000000000000000000"

// Dialer opens the connection to a replica's admin endpoint. The replica is
// available through ReplicaFromContext(ctx).
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Option configures a Pusher.
type Option func(*Pusher)

// WithTLSConfig sets the TLS template: the client certificate (Certificates
// or GetClientCertificate) and RootCAs that verify the admin server
// certificate. Each replica's connection sets ServerName from the Replica.
func WithTLSConfig(c *tls.Config) Option { return func(p *Pusher) { p.tlsConfig = c } }

// WithTimeout bounds each admin API call (GET /status, POST /config).
func WithTimeout(d time.Duration) Option {
	return func(p *Pusher) {
		if d > 0 {
			p.timeout = d
		}
	}
}

// WithBackoff sets the first retry delay and the largest one.
func WithBackoff(base, limit time.Duration) Option {
	return func(p *Pusher) { p.backoff.Base, p.backoff.Cap = base, limit }
}

// WithJitter replaces the random source of the backoff jitter; jitter(n)
// must return a value in [0, n).
func WithJitter(jitter func(n int64) int64) Option {
	return func(p *Pusher) { p.backoff.Jitter = jitter }
}

// WithAuthRetryFloor sets the shortest wait before retrying an admin
// authentication failure (the replica refused the client certificate, or
// its server certificate did not verify); 0 leaves the plain backoff.
func WithAuthRetryFloor(d time.Duration) Option {
	return func(p *Pusher) {
		if d >= 0 {
			p.authFloor = d
		}
	}
}

// WithMaxAttempts bounds the attempts per replica and Push (at least 1).
func WithMaxAttempts(n int) Option {
	return func(p *Pusher) {
		if n >= 1 {
			p.maxAttempts = n
		}
	}
}

// WithDialer replaces how connections to replicas are opened (default: a
// net.Dialer to the replica's address), e.g. with a port-forward dialer.
func WithDialer(d Dialer) Option {
	return func(p *Pusher) {
		if d != nil {
			p.dial = d
		}
	}
}

// WithClock replaces the time source used for retry waits and state times.
func WithClock(c Clock) Option {
	return func(p *Pusher) {
		if c != nil {
			p.clock = c
		}
	}
}

// WithRoundTripper wraps every replica's HTTP transport, for
// instrumentation (metrics, request logging) or fault injection in tests.
func WithRoundTripper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(p *Pusher) { p.wrap = wrap }
}

// Pusher pushes one Gateway's Kong configuration to all its replicas and
// remembers, per replica, which configuration it holds. It is safe for
// concurrent use; concurrent pushes to the same replica are serialised.
type Pusher struct {
	timeout     time.Duration
	backoff     Backoff
	authFloor   time.Duration
	maxAttempts int
	dial        Dialer
	clock       Clock
	wrap        func(http.RoundTripper) http.RoundTripper

	mu        sync.Mutex
	tlsConfig *tls.Config
	tlsGen    uint64
	replicas  map[string]*replica
}

// NewPusher returns a Pusher with the given options.
func NewPusher(opts ...Option) *Pusher {
	p := &Pusher{
		timeout:     DefaultTimeout,
		backoff:     Backoff{Base: DefaultBackoffBase, Cap: DefaultBackoffCap},
		authFloor:   DefaultAuthRetryFloor,
		maxAttempts: DefaultMaxAttempts,
		clock:       RealClock{},
		replicas:    map[string]*replica{},
	}
	for _, o := range opts {
		o(p)
	}
	if p.dial == nil {
		d := &net.Dialer{Timeout: p.timeout, KeepAlive: 30 * time.Second}
		p.dial = d.DialContext
	}
	return p
}

// SetTLSConfig replaces the TLS template (after a certificate rotation).
// Connections made from then on use it; idle connections are closed.
func (p *Pusher) SetTLSConfig(c *tls.Config) {
	p.mu.Lock()
	p.tlsConfig = c
	p.tlsGen++
	p.mu.Unlock()
	p.Close()
}

// Forget drops what the Pusher knows about a replica that was removed.
func (p *Pusher) Forget(name string) {
	p.mu.Lock()
	r := p.replicas[name]
	delete(p.replicas, name)
	p.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		if r.tr != nil {
			r.tr.CloseIdleConnections()
		}
		r.mu.Unlock()
	}
}

// Close closes idle connections to every replica. The Pusher stays usable;
// later pushes open new connections.
func (p *Pusher) Close() {
	p.mu.Lock()
	recs := make([]*replica, 0, len(p.replicas))
	for _, r := range p.replicas {
		recs = append(recs, r)
	}
	p.mu.Unlock()
	for _, r := range recs {
		r.mu.Lock()
		if r.tr != nil {
			r.tr.CloseIdleConnections()
		}
		r.mu.Unlock()
	}
}

// Retain forgets every replica whose name is not in keep and returns the
// names it forgot.
func (p *Pusher) Retain(keep []Replica) []string {
	want := make(map[string]bool, len(keep))
	for _, r := range keep {
		want[r.Name] = true
	}
	var gone []string
	p.mu.Lock()
	for name := range p.replicas {
		if !want[name] {
			gone = append(gone, name)
		}
	}
	p.mu.Unlock()
	for _, name := range gone {
		p.Forget(name)
	}
	return gone
}

// State returns what the Pusher remembers about a replica.
func (p *Pusher) State(name string) (ReplicaState, bool) {
	p.mu.Lock()
	r := p.replicas[name]
	p.mu.Unlock()
	if r == nil {
		return ReplicaState{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, true
}

// Outcome is the result of pushing to one replica.
type Outcome struct {
	Replica Replica
	// InSync is true when the replica holds the configuration.
	InSync bool
	// Skipped is true when nothing was sent because the replica already
	// held the configuration (same SHA-256, non-zero hash in GET /status).
	Skipped bool
	// Attempts made (a status check and the push it led to count as one).
	Attempts int
	// Err is the last error when InSync is false.
	Err error
	// Rejection is Kong's parsed 400, when the replica rejected the
	// configuration.
	Rejection *ConfigError
}

// AuthFailure returns the admin authentication failure that kept the
// replica out of sync (an *AdminAuthError when the replica refused the
// operator's client certificate, an *AdminServerCertError when its server
// certificate did not verify), or nil.
func (o Outcome) AuthFailure() error {
	if o.InSync {
		return nil
	}
	return adminAuthFailure(o.Err)
}

// Unreachable reports whether the replica was out of sync because no
// connection to its admin API could be made (refused, no route, or no
// answer to the dial), as while its Kong container starts, rather than
// because a connected call failed.
func (o Outcome) Unreachable() bool {
	if o.InSync || o.Err == nil {
		return false
	}
	var op *net.OpError
	return errors.As(o.Err, &op) && op.Op == "dial"
}

// Result is the outcome of one Push.
type Result struct {
	// SHA256 (hex) and Bytes describe the configuration pushed.
	SHA256 string
	Bytes  int
	// Replicas holds one outcome per replica, in the order given to Push.
	Replicas []Outcome
	// InSync counts replicas holding the configuration, out of Total.
	InSync, Total int
	// Rejection is Kong's parsed validation error when at least one replica
	// answered 400 (they all validate the same way).
	Rejection *ConfigError
}

// AllInSync reports whether every replica holds the configuration. It is
// false for an empty replica list: nothing serves the configuration yet.
func (r Result) AllInSync() bool { return r.Total > 0 && r.InSync == r.Total }

// AuthFailures returns the outcomes of replicas kept out of sync by an
// admin authentication failure (see Outcome.AuthFailure), in order.
func (r Result) AuthFailures() []Outcome {
	var out []Outcome
	for _, o := range r.Replicas {
		if o.AuthFailure() != nil {
			out = append(out, o)
		}
	}
	return out
}

// Summary is a status-condition sentence such as "2/3 replicas hold the
// current configuration".
func (r Result) Summary() string {
	return fmt.Sprintf("%d/%d replicas hold the current configuration", r.InSync, r.Total)
}

// Lagging names the replicas that do not hold the configuration and why,
// for the Gateway's status: "not in sync: web-1 (GET /status: ... connection
// refused)". It is empty when every replica is in sync. Kong's rejections
// are left out: the status reports them on their own. Each cause is cut to
// a line, so a status message stays readable with many replicas.
func (r Result) Lagging() string {
	var parts []string
	for _, o := range r.Replicas {
		if o.InSync || o.Rejection != nil {
			continue
		}
		cause := "not pushed yet"
		if o.Err != nil {
			// The replica is named once, in front of its cause.
			cause = strings.TrimPrefix(o.Err.Error(), "replica "+o.Replica.Name+": ")
		}
		if i := strings.IndexByte(cause, '\n'); i >= 0 {
			cause = cause[:i]
		}
		if len(cause) > laggingCauseMax {
			cause = strings.ToValidUTF8(cause[:laggingCauseMax], "") + "..."
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", o.Replica.Name, cause))
	}
	if len(parts) == 0 {
		return ""
	}
	return "not in sync: " + strings.Join(parts, "; ")
}

// laggingCauseMax bounds each replica's cause in Lagging, in bytes.
const laggingCauseMax = 240

// Err joins the errors of replicas that are not in sync, or returns nil.
func (r Result) Err() error {
	var errs []error
	for _, o := range r.Replicas {
		if !o.InSync && o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

// Push sends configJSON to every replica concurrently and returns when each
// replica either holds it or has failed. A replica whose last successful
// push had the same SHA-256 is skipped unless GET /status shows the
// all-zero configuration hash (it restarted and lost its configuration) or
// a hash other than the one it reported while holding this configuration
// (something replaced it).
// Failed attempts are retried with capped exponential backoff and jitter
// (a 429 or 503 waits for its Retry-After; an admin authentication failure
// waits at least the auth retry floor); a 400 rejection is not retried, nor
// is a call that got no answer within the per-call timeout (the next Push
// tries that replica again). Replicas are pushed to in parallel, so a slow
// or failing replica delays none of the others' pushes; Push itself returns
// once every replica is done.
func (p *Pusher) Push(ctx context.Context, replicas []Replica, configJSON []byte) Result {
	sum := sha256.Sum256(configJSON)
	res := Result{SHA256: hex.EncodeToString(sum[:]), Bytes: len(configJSON), Total: len(replicas)}
	res.Replicas = make([]Outcome, len(replicas))
	// Encoded once, and only when a replica needs the configuration: a
	// Push that finds every replica holding it sends nothing.
	body := sync.OnceValue(func() []byte { return ConfigBody(configJSON) })
	seen := make(map[string]bool, len(replicas))
	var wg sync.WaitGroup
	for i, rep := range replicas {
		res.Replicas[i].Replica = rep
		if err := validateReplica(rep); err != nil {
			res.Replicas[i].Err = err
			continue
		}
		if seen[rep.Name] {
			res.Replicas[i].Err = fmt.Errorf("replica %s is listed twice", rep.Name)
			continue
		}
		seen[rep.Name] = true
		wg.Add(1)
		go func(i int, rep Replica) {
			defer wg.Done()
			res.Replicas[i] = p.pushOne(ctx, rep, body, res.SHA256)
		}(i, rep)
	}
	wg.Wait()
	for _, o := range res.Replicas {
		if o.InSync {
			res.InSync++
		}
		if o.Rejection != nil && res.Rejection == nil {
			res.Rejection = o.Rejection
		}
	}
	return res
}

// ConfigBody is the POST /config body the Pusher sends for a declarative
// configuration: {"config": "<the configuration's JSON>"}. Kong 3.9 takes a
// body that is the configuration itself (it has _format_version) as
// already decoded, and hashes it by encoding the whole validated
// configuration, defaults included, once more (kong/db/declarative/init.lua
// parse_table: md5(cjson_encode(entities))). Given as a string under
// "config", the configuration is decoded from that string and hashed as it
// came (unserialize: md5 of the text). With 5,000 generated routes Kong
// served it sooner and spent less CPU on it (README "Performance at
// scale").
//
// The configuration is JSON that encoding/json wrote, so as a JSON string
// it needs only its quotes and backslashes escaped: that is written
// straight into a buffer of the right size, where encoding it as a string
// field took two more copies of it (the []byte to string conversion and the
// encoder's own buffer, grown a quarter at a time). Any other input (control
// characters, invalid UTF-8, U+2028 or U+2029, which encoding/json escapes
// in its own ways) goes through the encoder.
func ConfigBody(configJSON []byte) []byte {
	if !plainJSONText(configJSON) {
		return encodedConfigBody(configJSON)
	}
	const head, tail = `{"config":"`, `"}`
	escapes := bytes.Count(configJSON, []byte{'"'}) + bytes.Count(configJSON, []byte{'\\'})
	out := make([]byte, 0, len(head)+len(configJSON)+escapes+len(tail))
	out = append(out, head...)
	rest := configJSON
	for {
		i := bytes.IndexAny(rest, `"\`)
		if i < 0 {
			break
		}
		out = append(out, rest[:i]...)
		out = append(out, '\\', rest[i])
		rest = rest[i+1:]
	}
	out = append(out, rest...)
	return append(out, tail...)
}

// plainJSONText reports whether b is valid UTF-8 without control
// characters, U+2028 or U+2029: text that a JSON string holds as it is but
// for its quotes and backslashes.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return false
		}
	}
	return utf8.Valid(b) && !bytes.Contains(b, []byte("\u2028")) && !bytes.Contains(b, []byte("\u2029"))
}

// encodedConfigBody is ConfigBody by encoding/json.
func encodedConfigBody(configJSON []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(configJSON) + len(configJSON)/8 + 16)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of one string cannot fail.
	_ = enc.Encode(struct {
		Config string `json:"config"`
	}{string(configJSON)})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func validateReplica(r Replica) error {
	switch {
	case r.Name == "":
		return fmt.Errorf("replica at %q has no name", r.Address)
	case r.Address == "":
		return fmt.Errorf("replica %s has no address", r.Name)
	case r.Port < 1 || r.Port > 65535:
		return fmt.Errorf("replica %s has invalid admin port %d", r.Name, r.Port)
	case r.ServerName == "":
		return fmt.Errorf("replica %s has no TLS server name to verify", r.Name)
	}
	return nil
}

// record returns the replica's record, resetting what is known when its
// endpoint changed (a different pod behind the same name).
func (p *Pusher) record(rep Replica) *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.replicas[rep.Name]
	if r == nil {
		r = &replica{state: ReplicaState{Replica: rep}}
		p.replicas[rep.Name] = r
	}
	return r
}

// clientFor returns the go-kong client for a replica, building it when the
// endpoint or the TLS template changed. Called with r.push held.
func (p *Pusher) clientFor(r *replica, rep Replica) (*kong.Client, error) {
	p.mu.Lock()
	tmpl, gen := p.tlsConfig, p.tlsGen
	p.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Replica != rep {
		r.state = ReplicaState{Replica: rep}
		r.client = nil
	}
	if r.client != nil && r.gen == gen {
		return r.client, nil
	}
	if r.tr != nil {
		r.tr.CloseIdleConnections()
	}
	tr := newTransport(rep, tmpl, p.dial, p.timeout)
	var rt http.RoundTripper = retryAfterRecorder{next: tr}
	if p.wrap != nil {
		rt = p.wrap(rt)
	}
	base := rep.URL()
	c, err := kong.NewClient(&base, &http.Client{Transport: rt})
	if err != nil {
		return nil, fmt.Errorf("admin client for replica %s: %w", rep.Name, err)
	}
	r.client, r.tr, r.gen = c, tr, gen
	return c, nil
}

func (p *Pusher) pushOne(ctx context.Context, rep Replica, body func() []byte, sum string) Outcome {
	out := Outcome{Replica: rep}
	r := p.record(rep)
	r.push.Lock()
	defer r.push.Unlock()
	client, err := p.clientFor(r, rep)
	if err != nil {
		out.Err = err
		p.finish(r, &out, sum)
		return out
	}
	for attempt := 1; ; attempt++ {
		out.Attempts = attempt
		note := &callNote{}
		skipped, err := p.try(ctx, r, client, note, body, sum)
		if err == nil {
			out.InSync, out.Skipped = true, skipped
			break
		}
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.redact(secretValuesFrom(ctx))
			out.Rejection = ce
		}
		out.Err = fmt.Errorf("replica %s: %w", rep.Name, err)
		if ctx.Err() != nil {
			break
		}
		wait, retry := p.retryDelay(err, note, attempt)
		if !retry || attempt >= p.maxAttempts {
			break
		}
		if serr := p.clock.Sleep(ctx, wait); serr != nil {
			out.Err = fmt.Errorf("replica %s: %w (gave up waiting to retry: %w)", rep.Name, err, serr)
			break
		}
	}
	p.finish(r, &out, sum)
	return out
}

// finish records the outcome in the replica's state.
func (p *Pusher) finish(r *replica, out *Outcome, sum string) {
	now := p.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.LastAttempt = now
	if out.InSync {
		r.state.SHA256 = sum
		r.state.LastSuccess = now
		r.state.LastError = nil
		return
	}
	r.state.LastError = out.Err
}

// try makes one attempt: a status check when the replica should already
// hold the configuration, then a push when it does not.
func (p *Pusher) try(ctx context.Context, r *replica, client *kong.Client, note *callNote, body func() []byte, sum string) (skipped bool, err error) {
	r.mu.Lock()
	known, held := r.state.SHA256 == sum, r.state.ConfigurationHash
	r.mu.Unlock()
	if known {
		reported, err := p.status(ctx, client, note)
		if err != nil {
			return false, err
		}
		if verdict, learned := judge(held, reported, nil); verdict == CheckInSync {
			r.mu.Lock()
			r.state.ConfigurationHash = learned
			r.mu.Unlock()
			return true, nil
		}
		// The replica lost its configuration (restart) or holds another
		// one: push again.
	}
	// The outcome of a push that fails midway is unknown (Kong may have
	// applied it before the connection broke), so forget the SHA until a
	// push succeeds; the next Push then re-sends instead of trusting it.
	// The replica's hash is learned again at the next status check.
	r.mu.Lock()
	r.state.SHA256, r.state.ConfigurationHash = "", ""
	r.mu.Unlock()
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	err = postConfig(withNote(callCtx, note), client, body())
	if err == nil {
		r.mu.Lock()
		r.state.SHA256 = sum
		r.mu.Unlock()
		return false, nil
	}
	// nginx answers a missing or foreign client certificate with its own
	// HTML 400 after the handshake, which must not be read as Kong
	// rejecting the configuration (that would exclude routes).
	if authErr := note.adminAuthError(); authErr != nil {
		return false, fmt.Errorf("POST /config: %w", authErr)
	}
	var apiErr *kong.APIError
	if errors.As(err, &apiErr) && apiErr.Code() == http.StatusBadRequest {
		return false, ParseConfigError(apiErr.Code(), apiErr.Raw())
	}
	return false, p.callError(ctx, "POST /config", err)
}

// postConfig sends a configuration to POST /config with flattened errors,
// as go-kong's ReloadDeclarativeRawConfig does, but reads the answer only
// when it is a refusal. Kong answers a success with every entity it loaded
// (kong/api/routes/config.lua: `exit(201, entities)`), larger than the
// configuration itself, and go-kong buffers that whole answer: with 5,000
// routes about 7 MB per push and replica that nothing reads
// (BenchmarkRouteMemory's profile). A success is drained instead, so the
// connection is reused.
func postConfig(ctx context.Context, client *kong.Client, body []byte) error {
	req, err := client.NewRequest(http.MethodPost, "/config", struct {
		FlattenErrors int `url:"flatten_errors"`
	}{1}, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build the request: %w", err)
	}
	resp, err := client.DoRAW(ctx, req)
	if err != nil {
		return err // the caller (callError) says which call failed
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return fmt.Errorf("read Kong's %d answer: %w", resp.StatusCode, err)
		}
		return nil
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read Kong's %d answer: %w", resp.StatusCode, err)
	}
	// The error reads "HTTP status 429 (message: "Currently loading
	// previous configuration")": Kong's own message, or its answer's text.
	msg := ParseConfigError(resp.StatusCode, raw).Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return kong.NewAPIErrorWithRaw(resp.StatusCode, msg, raw)
}

// callError gives a failed admin call's error its context: a server
// certificate that did not verify becomes an *AdminServerCertError, and a
// call cut by the per-call timeout says so.
func (p *Pusher) callError(ctx context.Context, call string, err error) error {
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cv):
		return fmt.Errorf("%s: %w", call, &AdminServerCertError{Err: err})
	case ctx.Err() == nil && callTimedOut(err):
		return fmt.Errorf("%s: no answer within the per-call timeout (%s): %w", call, p.timeout, err)
	}
	return fmt.Errorf("%s: %w", call, err)
}

// callTimedOut reports whether an admin call ended because its deadline
// passed (dial, TLS handshake or answer).
func callTimedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// status asks a replica for the configuration hash it serves.
func (p *Pusher) status(ctx context.Context, client *kong.Client, note *callNote) (string, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	st, err := client.Status(withNote(callCtx, note))
	if err != nil {
		if authErr := note.adminAuthError(); authErr != nil {
			return "", fmt.Errorf("GET /status: %w", authErr)
		}
		return "", p.callError(ctx, "GET /status", err)
	}
	return st.ConfigurationHash, nil
}

// retryDelay decides whether err is worth another attempt and how long to
// wait before it.
func (p *Pusher) retryDelay(err error, note *callNote, attempt int) (time.Duration, bool) {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return 0, false // Kong validated and rejected it; resending cannot help.
	}
	if adminAuthFailure(err) != nil {
		// The replica refused the client certificate, or its server
		// certificate did not verify. During a rotation one side briefly
		// holds the previous CA or certificate, so this passes: retry, but
		// not faster than the floor.
		return max(p.backoff.Delay(attempt), p.authFloor), true
	}
	if callTimedOut(err) {
		// The replica had the whole per-call timeout; calling it again
		// here would hold the push (and the Gateway's status) back by as
		// much again. The next Push tries it again.
		return 0, false
	}
	var apiErr *kong.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.Code()
		switch {
		case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
			if d, ok := parseRetryAfter(note.retryAfter(), p.clock.Now()); ok {
				return min(d, max(p.backoff.Cap, kongMaxRetryAfter)), true
			}
			return p.backoff.Delay(attempt), true
		case code == http.StatusRequestTimeout, code >= 500:
			return p.backoff.Delay(attempt), true
		default:
			return 0, false // 401/403/404/405/413/415: resending the same request cannot help.
		}
	}
	// Connection refused or reset, TLS alerts, per-call timeouts.
	return p.backoff.Delay(attempt), true
}

// callNote carries facts about one admin call's response that go-kong does
// not return (the Retry-After header, nginx's client-certificate refusal).
type callNote struct {
	mu   sync.Mutex
	ra   string
	auth *AdminAuthError
}

func (n *callNote) retryAfter() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ra
}

// adminAuthError returns the client-certificate refusal seen on the call,
// or nil (as an error interface, nil when absent).
func (n *callNote) adminAuthError() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.auth == nil {
		return nil
	}
	return n.auth
}

type noteKey struct{}

func withNote(ctx context.Context, n *callNote) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

// retryAfterRecorder copies the Retry-After header of responses into the
// request context's callNote, and notes nginx's refusal of the client
// certificate, which go-kong would only report as a 400 it cannot parse.
type retryAfterRecorder struct{ next http.RoundTripper }

func (t retryAfterRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if resp != nil {
		if n, ok := req.Context().Value(noteKey{}).(*callNote); ok {
			auth := peekAdminAuthError(resp)
			n.mu.Lock()
			n.ra = resp.Header.Get("Retry-After")
			n.auth = auth
			n.mu.Unlock()
		}
	}
	return resp, err
}
