-- drawbridge-client-cert validates client certificates per listen port
-- (Gateway API spec.tls.frontend). Kong's proxy is one nginx server for
-- every HTTPS port, so nginx's ssl_verify_client cannot differ by port; this
-- plugin asks for the client certificate in Kong's certificate phase, with
-- the CA bundle of the port the connection arrived on.
--
-- AllowValidOnly fails the TLS handshake itself when the certificate is
-- missing or does not chain to the bundle: the plugin gives the connection
-- its own trust store and OpenSSL's own verdict decides
-- (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), so the client gets a
-- TLS alert and no HTTP exchange happens. Neither nginx nor
-- ngx.ssl.verify_client would fail it: both install a verify callback that
-- passes every certificate and leaves the verdict in $ssl_client_verify
-- (nginx sets it on the proxy's SSL_CTX even without ssl_verify_client), so
-- the plugin replaces it on the connection with one that returns OpenSSL's
-- own verdict.
--
-- AllowInsecureFallback asks for a certificate with ngx.ssl.verify_client
-- and accepts the connection whatever the client sends.
local ffi = require "ffi"
local ngx_ssl = require "ngx.ssl"
local kong_tls = require "resty.kong.tls"
local x509 = require "resty.openssl.x509"
local x509_store = require "resty.openssl.x509.store"
local policy = require "kong.plugins.drawbridge-client-cert.policy"
require "resty.openssl.include.ssl" -- SSL_set_verify, SSL_ctrl, SSL_add_client_CA

pcall(ffi.cdef, [[
  void SSL_set_verify_depth(SSL *s, int depth);
]])

local C = ffi.C
local ngx = ngx
local var = ngx.var
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable

-- verify_ok keeps OpenSSL's verdict on each certificate of the chain.
-- Created once per worker and never freed: OpenSSL calls it from the
-- handshake, outside any Lua code, for as long as the worker runs.
local verify_ok = ffi.cast("verify_callback", function(ok)
  return ok
end)

local SSL_VERIFY_PEER = 0x01
local SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
-- SSL_set1_verify_cert_store(s, st) is SSL_ctrl(s, 106, 1, st): the
-- connection takes its own reference to the shared store.
local SSL_CTRL_SET_VERIFY_CERT_STORE = 106

-- gateway_port is the Gateway port a connection arrived on: the port Kong
-- bound, mapped back through port_maps exactly as Kong's router computes
-- net.dst.port (ctx.host_port), so configuration and routes agree.
local host_ports -- kong.configuration.host_ports, read once per worker
local function gateway_port(port)
  if not host_ports then
    host_ports = kong.configuration.host_ports or {}
  end
  return host_ports[port] or port
end

local Handler = {
  -- Just above pre-function (1000000), Drawbridge's Host normalisation:
  -- a request that must not proceed is refused before anything else runs.
  PRIORITY = 1000010,
  VERSION = "1.0.0",
}

-- build parses one port's bundle: the stack ngx.ssl.verify_client takes
-- and, for AllowValidOnly, a trust store and the CA certificates whose
-- names the certificate request lists.
local function build(entry)
  local b = {}
  local err
  if entry.mode ~= policy.ALLOW_VALID_ONLY then
    b.stack, err = ngx_ssl.parse_pem_cert(entry.ca_certificates)
    if not b.stack then
      return nil, err
    end
    return b
  end
  b.store, err = x509_store.new()
  if not b.store then
    return nil, err
  end
  b.cas = {}
  for _, block in ipairs(policy.split_pem(entry.ca_certificates)) do
    local cert
    cert, err = x509.new(block, "PEM")
    if not cert then
      return nil, err
    end
    local ok
    ok, err = b.store:add(cert)
    if not ok then
      return nil, err
    end
    b.cas[#b.cas + 1] = cert
  end
  if #b.cas == 0 then
    return nil, "no certificate in the bundle"
  end
  return b
end

-- Per configuration (the table Kong hands every phase, replaced when the
-- configuration changes): the port index and what build made of each
-- port's bundle (false when it failed).
local prepared = setmetatable({}, { __mode = "k" })

local function prepare(conf)
  local p = prepared[conf]
  if p then
    return p
  end
  p = { ports = policy.index(conf.ports), built = {}, any = #(conf.ports or {}) > 0, valid_only = false }
  for _, entry in ipairs(conf.ports or {}) do
    p.valid_only = p.valid_only or entry.mode == policy.ALLOW_VALID_ONLY
    local b, err = build(entry)
    if not b then
      kong.log.err("port ", entry.port, ": CA bundle unusable, every handshake on it fails: ", err)
    end
    p.built[entry.port] = b or false
  end
  prepared[conf] = p
  return p
end

-- fail aborts the handshake.
local function fail(port, ...)
  kong.log.err("port ", port, ": ", ...)
  return ngx.exit(ngx.ERROR)
end

function Handler:certificate(conf)
  local port, err = ngx_ssl.server_port()
  if not port then
    kong.log.err("cannot read the connection's port: ", err)
    return ngx.exit(ngx.ERROR)
  end
  port = gateway_port(port)
  local p = prepare(conf)
  local entry = p.ports[port]
  if not entry then
    -- Kong's HTTPS ports share one session cache and ticket key, and a
    -- resumed handshake runs no certificate phase and asks for no
    -- certificate: a session made here could be resumed on a validating
    -- port. So while any port validates, no port issues resumable
    -- sessions.
    if p.any then
      kong_tls.disable_session_reuse()
    end
    return
  end
  local valid_only = entry.mode == policy.ALLOW_VALID_ONLY
  local b = p.built[port]
  if not b then
    -- Never fall back to no verification on a port that demands it.
    if valid_only then
      return fail(port, "no usable CA bundle")
    end
    return
  end
  -- A session made here must not be resumed on a port with other CAs.
  local ok
  ok, err = kong_tls.disable_session_reuse()
  if not ok and valid_only then
    return fail(port, "cannot disable TLS session reuse: ", err)
  end

  if not valid_only then
    ok, err = ngx_ssl.verify_client(b.stack, entry.verify_depth)
    if not ok then
      kong.log.err("port ", port, ": cannot request a client certificate: ", err)
    end
    return
  end

  local ssl
  ssl, err = kong_tls.get_request_ssl_pointer()
  if not ssl then
    return fail(port, "no TLS connection: ", err)
  end
  if C.SSL_ctrl(ssl, SSL_CTRL_SET_VERIFY_CERT_STORE, 1, b.store.ctx) ~= 1 then
    return fail(port, "cannot set the trust store")
  end
  for _, ca in ipairs(b.cas) do
    -- Only the names the certificate request lists; a failure is harmless.
    C.SSL_add_client_CA(ssl, ca.ctx)
  end
  C.SSL_set_verify_depth(ssl, entry.verify_depth)
  C.SSL_set_verify(ssl, SSL_VERIFY_PEER + SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_ok)
end

-- rewrite runs for every request, before routing. On an AllowValidOnly
-- port it refuses the request unless the handshake verified a client
-- certificate. That happens only on a resumed TLS session (a resumed
-- handshake runs no certificate phase), made on another port before
-- validation was configured: sessions made since cannot be resumed.
function Handler:rewrite(conf)
  local p = prepare(conf)
  if not p.valid_only then
    return
  end
  local entry = p.ports[gateway_port(tonumber(var.server_port))]
  if not entry then
    return
  end
  local ok, why = policy.request_verdict(entry, var.ssl_client_verify)
  if not ok then
    kong.log.warn("refusing the request: ", why)
    -- nginx's own answer to a missing certificate under
    -- ssl_verify_client; HTTP/1 connections are closed after it so the
    -- client's next attempt makes a full handshake.
    local headers
    if ngx.req.http_version() < 2 then
      headers = { Connection = "close" }
    end
    return kong.response.exit(400, { message = policy.REFUSAL }, headers)
  end
end

return Handler
