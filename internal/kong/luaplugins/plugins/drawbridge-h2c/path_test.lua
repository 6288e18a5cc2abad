-- Unit tests of kong.plugins.drawbridge-h2c.path (run by TestLuaUnitTests).
local path = require("kong.plugins.drawbridge-h2c.path")
local escape = require("kong.tools.uri").escape

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2)
  end
end

-- split_request_uri
do
  local p, q = path.split_request_uri("/a/b?x=1&y=2?z")
  eq(p, "/a/b", "path"); eq(q, "x=1&y=2?z", "query")
  p, q = path.split_request_uri("/a")
  eq(p, "/a", "path without query"); eq(q, nil, "no query")
  p, q = path.split_request_uri("/a?")
  eq(p, "/a", "path with empty query"); eq(q, "", "empty query")
end

-- percent_decode keeps "+" and malformed escapes, decodes both cases
eq(path.percent_decode("/a+b%20c%2fd%2F%zz%4"), "/a+b c/d/%zz%4", "percent_decode")
eq(path.percent_decode("/%41%62%00"), "/Ab\0", "percent_decode control")

-- new_path: target already in Kong's form -> nil (sent verbatim)
eq(path.new_path("/a/b%20c?x=1&y=%2F", "/a/b%20c", "x=1&y=%2F"), nil, "unchanged")
eq(path.new_path("/", "/", nil), nil, "root")
eq(path.new_path("/a?", "/a", ""), nil, "empty query, unchanged")
eq(path.new_path("/a?", "/a", nil), nil, "empty query as nil")
eq(path.new_path("/a%2Fb", "/a%2Fb", nil), nil, "encoded slash kept verbatim")

-- Kong normalised or escaped the client's path -> its form, decoded
eq(path.new_path("/%7E", "/~", nil), "/~", "unreserved escape decoded by Kong")
eq(path.new_path("/y/../z", "/z", nil), "/z", "dot segments")
eq(path.new_path("/a|b", escape("/a|b"), nil), "/a|b", "raw character Kong escapes (nginx escapes it again)")
eq(path.new_path("/%7E/%2F", "/~/%2F", nil), "/~//", "encoded slash decoded once the path is rebuilt")

-- path rewritten -> decoded new path
eq(path.new_path("/old/x?q=1", "/new/p%20q", "q=1"), "/new/p q", "path rewrite")
eq(path.new_path("/prefix/rest", "/rest", nil), "/rest", "prefix strip")
-- query changed (set_query) -> the path is set again so nginx rebuilds
eq(path.new_path("/a?q=1", "/a", "q=2"), "/a", "query rewrite")
eq(path.new_path("/a", "/a", "added=1"), "/a", "query added")
-- no upstream_uri (nothing routed) -> nil
eq(path.new_path("/a", nil, nil), nil, "no upstream_uri")

-- is_origin_path
eq(path.is_origin_path("/x"), true, "origin path")
eq(path.is_origin_path("x"), false, "relative")
eq(path.is_origin_path(nil), false, "nil")

print("drawbridge-h2c path: ok")
