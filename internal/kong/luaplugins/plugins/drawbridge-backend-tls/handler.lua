-- drawbridge-backend-tls: verifies a backend's certificate against the CA
-- certificates of a BackendTLSPolicy (and, when it lists subjectAltNames,
-- against those), sends the policy's hostname as the TLS server name while
-- the backend still receives the client's Host header, and presents the
-- Gateway's client certificate.
--
-- Kong's nginx template uses one variable for both names:
--   proxy_set_header Host $upstream_host;  (read when nginx builds the
--                                          upstream request)
--   proxy_ssl_name    $upstream_host;      (read at the TLS handshake)
-- nginx builds the request before it asks the balancer for a peer and
-- starts the handshake after, so a value given to $upstream_host in the
-- balancer phase becomes the server name without touching the Host header.
-- Kong runs no plugin in that phase; this plugin wraps Kong.balancer (the
-- function nginx.conf's balancer_by_lua_block calls) once per worker, and
-- the wrapper acts only on requests whose access phase ran this plugin.
local trust = require "kong.plugins.drawbridge-backend-tls.trust"
local san = require "kong.plugins.drawbridge-backend-tls.san"
local ktls = require "resty.kong.tls"

local ngx = ngx
local kong = kong
local var = ngx.var

local CTX_KEY = "drawbridge_backend_tls"

local Handler = {
  -- Late: nothing here depends on other plugins, and a plugin that answers
  -- the request itself makes this work unnecessary.
  PRIORITY = 5,
  VERSION = "1.0.0",
}

-- plans caches what a plugin instance's configuration compiles to; Kong
-- builds new configuration tables on every reload, so entries go with them.
local plans = setmetatable({}, { __mode = "k" })

local function plan_of(conf)
  local p = plans[conf]
  if p then
    return p
  end
  local sans = san.compile(conf.subject_alt_names)
  local key = san.cache_key(conf.ca_certificates, sans)
  p = {
    sni = conf.sni,
    pems = conf.ca_certificates,
    sans = sans,
    key = key,
    client_certificate = conf.client_certificate,
    -- Idle upstream connections are reused only by requests with the same
    -- server name, trust store, SAN list and client certificate: Kong's own
    -- pool name has neither the trust store nor the SANs.
    pool = "drawbridge-tls|" .. conf.sni .. "|" .. ngx.md5(key) .. "|" .. (conf.client_certificate or ""),
  }
  plans[conf] = p
  return p
end

-- settle resolves a plan into what the request needs: the trust store and
-- the client certificate (both cached per worker).
local function settle(p)
  local store, err = trust.store(p.pems, p.sans, p.key)
  if not store then
    return nil, "trust store: " .. tostring(err)
  end
  local st = { sni = p.sni, store = store, nginx_verify = p.sans == nil, pool = p.pool }
  if p.client_certificate then
    local certificate = require "kong.runloop.certificate"
    local cert, cerr = certificate.get_certificate({ id = p.client_certificate })
    if not cert then
      return nil, "client certificate " .. p.client_certificate .. ": " .. tostring(cerr)
    end
    st.cert = cert
  end
  return st
end

-- apply gives the request its upstream TLS settings. A policy with SANs
-- leaves nginx's check off: the store's verify callback does all of it.
local function apply(st)
  local ok, err = ktls.set_upstream_ssl_trusted_store(st.store)
  if not ok then
    return nil, "set trusted store: " .. tostring(err)
  end
  ok, err = ktls.set_upstream_ssl_verify(st.nginx_verify)
  if not ok then
    return nil, "set verify: " .. tostring(err)
  end
  if st.cert then
    ok, err = ktls.set_upstream_cert_and_key(st.cert.cert, st.cert.key)
    if not ok then
      return nil, "set client certificate: " .. tostring(err)
    end
  end
  return true
end

local function prepare(conf)
  local st, err = settle(plan_of(conf))
  if st then
    local ok
    ok, err = apply(st)
    if ok then
      return st
    end
  end
  kong.log.err("backend TLS cannot be set up, refusing the request: ", err)
  return nil
end

function Handler:access(conf)
  local st = prepare(conf)
  if not st then
    return kong.response.exit(500, { message = "An unexpected error occurred" })
  end
  ngx.ctx[CTX_KEY] = st
end

function Handler:preread(conf)
  local st = prepare(conf)
  if not st then
    return kong.response.exit(500)
  end
  -- Streams carry no Host header: the server name can be set right away,
  -- and Kong keeps a non-empty $upstream_host as it is.
  var.upstream_host = st.sni
end

-- after_balancer runs once Kong chose the peer of this try.
local function after_balancer(ctx, st)
  -- Buffered proxying sends the upstream request from a subrequest, whose
  -- TLS settings start empty; setting them again costs nothing.
  local ok, err = apply(st)
  if not ok then
    kong.log.err("backend TLS cannot be set up in the balancer: ", err)
    return ngx.exit(500)
  end
  var.upstream_host = st.sni
  local size = kong.configuration.upstream_keepalive_pool_size
  local bd = ctx.balancer_data
  if size and size > 0 and bd and bd.ip then
    local balancer = require "ngx.balancer"
    ok, err = balancer.set_current_peer(bd.ip, bd.port, {
      pool = bd.ip .. "|" .. bd.port .. "|" .. st.pool,
      pool_size = size,
    })
    if not ok then
      kong.log.err("backend TLS: cannot set the connection pool: ", err)
      return ngx.exit(500)
    end
  end
end

local hooked = false

local function hook_balancer()
  local K = rawget(_G, "Kong")
  if hooked or type(K) ~= "table" or type(K.balancer) ~= "function" then
    return hooked
  end
  local original = K.balancer
  K.balancer = function(...)
    local ctx = ngx.ctx
    local st = ctx[CTX_KEY]
    if not st then
      return original(...)
    end
    original(...)
    -- When Kong's balancer cannot pick or set a peer it calls ngx.exit,
    -- which returns here in this phase; only its success path records the
    -- try's latency, and only then is there a peer to configure.
    local bd = ctx.balancer_data
    local try = bd and bd.tries and bd.tries[bd.try_count]
    if try and try.balancer_latency then
      return after_balancer(ctx, st)
    end
  end
  hooked = true
  return true
end

function Handler:init_worker()
  if ngx.config.subsystem ~= "http" then
    return
  end
  if not hook_balancer() then
    kong.log.crit("cannot wrap Kong.balancer: backend TLS server names would equal the Host header")
  end
end

-- Exposed for tests.
Handler._hook_balancer = hook_balancer

return Handler
