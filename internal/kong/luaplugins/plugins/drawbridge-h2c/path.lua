-- Pure helpers of drawbridge-h2c: deciding whether the request line that
-- nginx's grpc module sends to an h2c upstream must be rebuilt, and the
-- decoded path to rebuild it from.
--
-- Why: on the @grpc location nginx ignores $upstream_uri. It sends the
-- client's request target verbatim (r->unparsed_uri) until the URI is
-- changed, and then re-escapes r->uri itself and appends r->args
-- (ngx_http_grpc_module.c, ngx_http_grpc_create_request). Kong's router
-- sets $upstream_uri to its escaping of the normalised path ("/./a" and
-- "/%7E" become "/a" and "/~"), which is what an HTTP/1.1 upstream
-- receives, and a rewrite (request-transformer replace.uri,
-- kong.service.request.set_path) only changes $upstream_uri.
--
-- When $upstream_uri and $args equal the client's target, the target goes
-- upstream verbatim, exactly as to an HTTP/1.1 upstream. Otherwise the
-- request's URI becomes the decoded $upstream_uri and nginx escapes it
-- again: the same bytes, except that percent-encoded characters nginx does
-- not escape (reserved ones such as %2F, %3B, %3D) arrive decoded.

local _M = {}

local byte, char, find, gsub, sub, tonumber = string.byte, string.char, string.find, string.gsub, string.sub, tonumber

-- split_request_uri splits a raw request target into path and query; the
-- query is nil when there is no "?".
function _M.split_request_uri(request_uri)
  local q = find(request_uri, "?", 1, true)
  if not q then
    return request_uri, nil
  end
  return sub(request_uri, 1, q - 1), sub(request_uri, q + 1)
end

-- percent_decode decodes every %XX (hex, either case) and nothing else:
-- unlike ngx.unescape_uri it keeps "+" (a path is not a form).
function _M.percent_decode(s)
  return (gsub(s, "%%(%x%x)", function(h)
    return char(tonumber(h, 16))
  end))
end

-- new_path returns the decoded path to set on the request (for
-- ngx.req.set_uri), or nil when the request target can go upstream as the
-- client sent it.
--   request_uri:  $request_uri, the client's raw target
--   upstream_uri: $upstream_uri, the path Kong would proxy (no query yet)
--   args:         $args, the query Kong would proxy (nil when empty)
function _M.new_path(request_uri, upstream_uri, args)
  if upstream_uri == nil or upstream_uri == "" then
    return nil
  end
  local raw_path, raw_query = _M.split_request_uri(request_uri)
  -- nginx reports an empty query as "" or nil depending on whether "?"
  -- was sent; both mean "nothing to send".
  if upstream_uri == raw_path and (args or "") == (raw_query or "") then
    return nil
  end
  return _M.percent_decode(upstream_uri)
end

-- is_origin_path guards against handing ngx.req.set_uri something that
-- is not an origin-form path.
function _M.is_origin_path(p)
  return type(p) == "string" and byte(p, 1) == 47 -- "/"
end

return _M
