-- Trust stores for backend TLS, and the check of a backend certificate
-- against the subjectAltNames a BackendTLSPolicy lists.
--
-- nginx verifies an upstream certificate against one name, the TLS server
-- name it sent (proxy_ssl_name), and only after the handshake. A policy with
-- subjectAltNames must not use its hostname for authentication at all, so
-- for those policies nginx's verification stays off and OpenSSL's verify
-- callback, set on the policy's own X509_STORE, does all of it during the
-- handshake: it refuses a chain OpenSSL found invalid, refuses a leaf
-- without a matching SAN, and turns the connection's verify mode to
-- SSL_VERIFY_PEER so that a refusal aborts the handshake (with the mode
-- nginx leaves on upstream connections, SSL_VERIFY_NONE, OpenSSL would only
-- record the failure).
local ffi = require "ffi"
local x509_lib = require "resty.openssl.x509"
local store_lib = require "resty.openssl.x509.store"
local stack_lib = require "resty.openssl.stack"
local san = require "kong.plugins.drawbridge-backend-tls.san"

require "resty.openssl.include.ssl"
require "resty.openssl.include.x509"
require "resty.openssl.include.x509v3"
require "resty.openssl.include.asn1"

local C = ffi.C

-- Re-declaring an identical prototype is harmless in LuaJIT, so another
-- plugin declaring these too does not conflict.
ffi.cdef [[
  typedef int (*drawbridge_verify_cb)(int, X509_STORE_CTX *);
  void X509_STORE_set_verify_cb(X509_STORE *ctx, drawbridge_verify_cb verify_cb);
  X509_STORE *X509_STORE_CTX_get0_store(const X509_STORE_CTX *ctx);
  X509 *X509_STORE_CTX_get0_cert(const X509_STORE_CTX *ctx);
  void X509_STORE_CTX_set_error(X509_STORE_CTX *ctx, int s);
  void *X509_STORE_CTX_get_ex_data(const X509_STORE_CTX *ctx, int idx);
  int SSL_get_ex_data_X509_STORE_CTX_idx(void);
  int X509_check_host(X509 *x, const char *chk, size_t chklen,
                      unsigned int flags, char **peername);
]]

local SSL_VERIFY_PEER = 1
local X509_V_ERR_HOSTNAME_MISMATCH = 62
local X509_V_ERR_APPLICATION_VERIFICATION = 50
local NID_subject_alt_name = 85
local GEN_URI = 6
-- A certificate's subject CN is never a SAN.
local X509_CHECK_FLAG_NEVER_CHECK_SUBJECT = 0x20

local free_general_names = stack_lib.gc_of("GENERAL_NAME")

local _M = {}

-- stores holds one entry per distinct (CA bundle, SAN list):
-- key -> { store = <resty.openssl store>, sans = <san.compile result> }.
-- by_addr maps the X509_STORE address to its entry, because the verify
-- callback only sees the X509_STORE. Both are flushed together when they
-- grow past max_entries, which only a long run of configuration changes
-- does; a handshake still running on a flushed store then fails closed.
local max_entries = 256
local stores, by_addr, count = {}, {}, 0

local function addr(ptr)
  return tostring(tonumber(ffi.cast("uintptr_t", ptr)))
end

-- leaf_matches reports whether the certificate has a DNS SAN matching one of
-- the hostnames or a URI SAN equal to one of the URIs.
local function leaf_matches(cert, sans)
  for _, h in ipairs(sans.hostnames) do
    if C.X509_check_host(cert, h, #h, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nil) == 1 then
      return true
    end
  end
  if #sans.uris == 0 then
    return false
  end
  local names = C.X509_get_ext_d2i(cert, NID_subject_alt_name, nil, nil)
  if names == nil then
    return false
  end
  local found = false
  local n = tonumber(C.OPENSSL_sk_num(names))
  for i = 0, n - 1 do
    local gn = ffi.cast("GENERAL_NAME*", C.OPENSSL_sk_value(names, i))
    if gn ~= nil and gn.type == GEN_URI then
      local s = gn.d.uniformResourceIdentifier
      -- The length is explicit: a URI with an embedded NUL must not match
      -- its prefix.
      local v = ffi.string(C.ASN1_STRING_get0_data(s), C.ASN1_STRING_length(s))
      if san.uri_matches(sans, v) then
        found = true
        break
      end
    end
  end
  free_general_names(names)
  return found
end

local function verify(ok, ctx)
  -- From the first call on, any refusal aborts the handshake.
  local ssl = C.X509_STORE_CTX_get_ex_data(ctx, C.SSL_get_ex_data_X509_STORE_CTX_idx())
  if ssl == nil then
    C.X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION)
    return 0
  end
  C.SSL_set_verify(ffi.cast("SSL*", ssl), SSL_VERIFY_PEER, nil)
  if ok ~= 1 then
    return 0
  end
  local entry = by_addr[addr(C.X509_STORE_CTX_get0_store(ctx))]
  if not entry then
    C.X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION)
    return 0
  end
  -- The leaf is checked on every call rather than only at depth 0, so the
  -- check cannot be skipped whatever order OpenSSL reports the chain in.
  local leaf = C.X509_STORE_CTX_get0_cert(ctx)
  if leaf == nil or not leaf_matches(leaf, entry.sans) then
    C.X509_STORE_CTX_set_error(ctx, X509_V_ERR_HOSTNAME_MISMATCH)
    return 0
  end
  return 1
end

-- One callback for every store of the worker: LuaJIT has a limited number
-- of callback slots, and a Lua error must never cross into OpenSSL.
local verify_cb = ffi.cast("drawbridge_verify_cb", function(ok, ctx)
  local done, res = pcall(verify, ok, ctx)
  if not done then
    ngx.log(ngx.ERR, "drawbridge-backend-tls: subjectAltName check failed: ", res)
    pcall(C.X509_STORE_CTX_set_error, ctx, X509_V_ERR_APPLICATION_VERIFICATION)
    return 0
  end
  return res
end)

local function build(pems, sans)
  local st, err = store_lib.new()
  if not st then
    return nil, err
  end
  local n = 0
  for _, pem in ipairs(pems) do
    for block in san.pem_blocks(pem) do
      local cert, cerr = x509_lib.new(block, "PEM")
      if not cert then
        return nil, "CA certificate " .. (n + 1) .. ": " .. tostring(cerr)
      end
      local ok, aerr = st:add(cert)
      if not ok then
        return nil, "CA certificate " .. (n + 1) .. ": " .. tostring(aerr)
      end
      n = n + 1
    end
  end
  if n == 0 then
    return nil, "no CA certificate"
  end
  if sans then
    C.X509_STORE_set_verify_cb(st.ctx, verify_cb)
  end
  return st
end

-- store returns the trust store (a resty.openssl.x509.store) for a CA bundle and, when sans is
-- given (san.compile), with the subjectAltName check. key is
-- san.cache_key(pems, sans), which callers compute once.
function _M.store(pems, sans, key)
  key = key or san.cache_key(pems, sans)
  local entry = stores[key]
  if entry then
    return entry.store
  end
  local st, err = build(pems, sans)
  if not st then
    return nil, err
  end
  if count >= max_entries then
    stores, by_addr, count = {}, {}, 0
  end
  entry = { store = st, sans = sans }
  stores[key] = entry
  by_addr[addr(st.ctx)] = entry
  count = count + 1
  return st
end

-- Exposed for unit tests.
_M._leaf_matches = leaf_matches

return _M
