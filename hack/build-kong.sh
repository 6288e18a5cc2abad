#!/usr/bin/env bash
# Builds open-source Kong 3.9.3 on OpenResty 1.25.3.2 from the sources pinned
# in hack/kong/sources.tsv (upstream repository, commit, sha256) into
# bin/kong/3.9.3 (or $KONG_INSTALL_DIR). The lab runs this build for the
# kong:3.9 images.
#
# Sources come from a mirror directory when there is one (KONG_SOURCES_DIR, or
# the nearest shared/kong-sources above the repository), otherwise from upstream
# (git fetch of the pinned commit, or npm for the aws-sdk package). Every
# archive is checked against its sha256 before use.
#
# Idempotent: the install carries a stamp (BUILD_REVISION and the hash of
# sources.tsv); a second run with the same stamp does nothing. Bump
# BUILD_REVISION whenever a change here changes what gets built. Debian
# packages are installed with apt-get when missing (never upgraded).
#
# The build deviates from Kong's official one where this kind of machine
# offers no other way (Debian's OpenSSL 3.0, PCRE2 10.42, Rust 1.63 and
# crates for atc-router, a few Lua rocks from Debian); the list with reasons
# is in README.md ("The lab's Kong").
set -euo pipefail
# The whole script is read before it runs (main at the bottom), so editing
# it during a build cannot change the build under way.
main() {

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KONG_VERSION=3.9.3
out="${KONG_INSTALL_DIR:-${root}/bin/kong/${KONG_VERSION}}"
work="${KONG_BUILD_DIR:-${root}/bin/kong/build-${KONG_VERSION}}"
pins="${root}/hack/kong/sources.tsv"
# The mirror: KONG_SOURCES_DIR, else the nearest shared/kong-sources beside
# the checkout or one of its parent directories (../shared/kong-sources for
# a checkout in a workplace that keeps one there).
mirror="${KONG_SOURCES_DIR:-}"
if [[ -z "${mirror}" ]]; then
  local d="${root}"
  while [[ "${d}" != "/" ]]; do
    d="$(dirname "${d}")"
    if [[ -f "${d}/shared/kong-sources/MANIFEST.tsv" ]]; then
      mirror="${d}/shared/kong-sources"
      break
    fi
  done
fi
J="${J:-$(nproc)}"

BUILD_REVISION=1
stamp="r${BUILD_REVISION}-$(sha256sum <"${pins}" | cut -c1-16)"
if [[ -f "${out}/.stamp" && "$(cat "${out}/.stamp")" == "${stamp}" && -x "${out}/openresty/nginx/sbin/nginx" ]]; then
  echo "kong: ${KONG_VERSION} is built (${out})"
  exit 0
fi

total_start=$(date +%s)
step_no=0
steps_total=13
step() { # step NAME HINT
  step_no=$((step_no + 1))
  step_name="$1"
  step_start=$(date +%s)
  echo "kong: [${step_no}/${steps_total}] ${1} (${2})"
}
done_step() { echo "kong:        ${step_name} done in $(( $(date +%s) - step_start ))s"; }
fail_log() { # fail_log LOG
  echo "kong: ${step_name} failed; last lines of $1:" >&2
  tail -30 "$1" >&2
  exit 1
}

P="${out}/openresty"   # OpenResty prefix: nginx, luajit, lualib
KP="${out}/kong"       # Kong's Lua tree, native libraries, bin/kong
SRC="${work}/src"
B="${work}/build"
LOG="${work}/logs"

# Debian packages: the C libraries, Rust toolchain and crates for atc-router,
# and the Lua rocks that Debian packages close enough to the rockspec's.
apt_packages=(build-essential patch perl python3 jq git libssl-dev libpcre2-dev zlib1g-dev libyaml-dev
  libexpat1-dev libsnappy-dev rustc cargo librust-pest-dev librust-pest-derive-dev librust-lazy-static-dev
  librust-uuid-dev librust-regex-dev librust-fnv-dev librust-aho-corasick-dev librust-regex-syntax-dev
  librust-memchr-dev librust-ucd-trie-dev librust-thiserror-dev librust-once-cell-dev librust-sha1-dev
  librust-sha2-dev librust-proc-macro2-dev librust-quote-dev librust-syn-dev lua-lpeg lua-socket lua-sec
  lua-penlight lua-filesystem lua-yaml lua-binaryheap lua-expat lua-messagepack)

step_apt() {
  step "Debian packages" "seconds when installed, about 1 minute otherwise"
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    echo "kong:        installing ${#missing[@]} packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}" \
      >"${LOG}/apt.log" 2>&1 || fail_log "${LOG}/apt.log"
  fi
  done_step
}

# fetch_source FILE UPSTREAM COMMIT SHA256: puts the archive in ${work}/archives.
fetch_source() {
  local file="$1" upstream="$2" commit="$3" sum="$4" dst="${work}/archives/$1"
  if [[ -n "${mirror}" && -f "${mirror}/${file}" ]]; then
    cp "${mirror}/${file}" "${dst}"
  elif [[ "${upstream}" == npm:* ]]; then
    (cd "${work}/archives" && npm pack --silent "${upstream#npm:}" >/dev/null && mv "$(basename "${file}")" "${dst}" 2>/dev/null || true)
  else
    # The mirror's archives are `git archive --prefix=<dir>/` of the pinned
    # commit; the same from upstream gives the same bytes.
    local dir="${file%.tar.gz}" g="${work}/git/${file}"
    rm -rf "$g" && git init -q "$g"
    git -C "$g" fetch -q --depth 1 "https://github.com/${upstream}" "${commit}"
    git -C "$g" archive --format=tar --prefix="${dir}/" FETCH_HEAD | gzip -n >"${dst}"
  fi
  [[ -f "${dst}" ]] || { echo "kong: cannot get ${file} (${upstream} ${commit})" >&2; exit 1; }
  if [[ "$(sha256sum "${dst}" | cut -d' ' -f1)" != "${sum}" ]]; then
    echo "kong: ${file} does not match its pinned sha256 ${sum}" >&2
    exit 1
  fi
}

step_sources() {
  step "sources" "from ${mirror:-upstream}"
  rm -rf "${SRC}" "${work}/archives" && mkdir -p "${SRC}" "${work}/archives"
  while IFS=$'\t' read -r file upstream ref commit sum; do
    [[ "${file}" == \#* || -z "${file}" ]] && continue
    fetch_source "${file}" "${upstream}" "${commit}" "${sum}"
    [[ "${file}" == *.tgz ]] || tar -xzf "${work}/archives/${file}" -C "${SRC}"
  done <"${pins}"
  # lua-resty-jwt carries lua-resty-hmac as a git submodule
  rm -rf "${SRC}/lua-resty-jwt/third-party/lua-resty-hmac"
  mkdir -p "${SRC}/lua-resty-jwt/third-party" && cp -a "${SRC}/lua-resty-hmac" "${SRC}/lua-resty-jwt/third-party/lua-resty-hmac"
  done_step
}

OR_VERSION=1.25.3.2
BU="${B}/openresty-${OR_VERSION}/bundle"

step_bundle() { # OpenResty's tree as its release tarball has it, with its nginx patches and Kong's patches
  step "OpenResty bundle and patches" "a few seconds"
  local orr="${B}/openresty-${OR_VERSION}"
  rm -rf "${orr}" && mkdir -p "${orr}/bundle"
  cp -a "${SRC}/openresty/." "${orr}/"
  cp -a "${SRC}/nginx-1.25.3" "${BU}/nginx-1.25.3"
  [[ -f "${BU}/nginx-1.25.3/configure" ]] || cp "${BU}/nginx-1.25.3/auto/configure" "${BU}/nginx-1.25.3/configure"
  # The nginx part of OpenResty's util/mirror-tarballs applies its patches.
  awk 'NR>=34 && /^cd \.\. \|\| exit 1/ {print; exit} NR>=34' "${orr}/util/mirror-tarballs" >"${B}/nginx-patches.sh"
  (cd "${BU}/nginx-1.25.3" && root="${orr}" ver=1.25.3 main_ver=1.25.3 minor_ver=2 info_txt=INFO bash -e "${B}/nginx-patches.sh") \
    >"${LOG}/nginx-patches.log" 2>&1 || fail_log "${LOG}/nginx-patches.log"
  for d in ngx_lua-0.10.26 ngx_stream_lua-0.0.14 ngx_devel_kit-0.3.3 lua-resty-core-0.1.28 lua-resty-lrucache-0.13 \
    lua-cjson-2.1.0.13 resty-cli-0.30 lua-resty-string-0.15 lua-resty-lock-0.09 lua-resty-dns-0.23 \
    lua-resty-websocket-0.11 lua-resty-limit-traffic-0.09 lua-resty-signal-0.03 lua-tablepool-0.03 \
    lua-resty-shell-0.03 lua-resty-upload-0.11 lua-resty-redis-0.30; do
    cp -a "${SRC}/$d" "${BU}/$d"
  done
  cp -a "${SRC}/LuaJIT-2.1-20231117" "${BU}/LuaJIT-2.1-20231117.1"
  # Kong's build/openresty/patches, applied at the OpenResty root as Kong's
  # Bazel build does. The two openresty_0* patches change OpenResty's
  # ./configure, which this build does not use.
  for p in "${SRC}"/kong/build/openresty/patches/*.patch; do
    case "$(basename "$p")" in openresty_0*) continue ;; esac
    (cd "${orr}" && patch -p1 --forward --silent <"$p") >>"${LOG}/kong-patches.log" 2>&1 || fail_log "${LOG}/kong-patches.log"
  done
  done_step
}

step_luajit() {
  step "LuaJIT" "about 30 s"
  (cd "${BU}/LuaJIT-2.1-20231117.1" &&
    make -j"$J" PREFIX="$P/luajit" LUA_ROOT="$P/luajit" \
      XCFLAGS='-DLUAJIT_ENABLE_LUA52COMPAT -DLUAJIT_VERSION=\"LuaJIT\ 2.1.0-20231117.1\"' \
      LDFLAGS="-Wl,-rpath,$KP/lib -Wl,-rpath,$P/lualib" &&
    make install PREFIX="$P/luajit" LUA_ROOT="$P/luajit") >"${LOG}/luajit.log" 2>&1 || fail_log "${LOG}/luajit.log"
  done_step
}

step_nginx() {
  step "nginx with ngx_lua, stream_lua and Kong's modules" "about 45 s"
  rm -rf "${B}/lua-resty-lmdb" && cp -a "${SRC}/lua-resty-lmdb" "${B}/lua-resty-lmdb"
  rm -rf "${B}/lua-resty-lmdb/lmdb" && cp -a "${SRC}/lmdb" "${B}/lua-resty-lmdb/lmdb"
  # What OpenResty's configure does: compile the lualib search path into ngx_lua.
  local m
  for m in ngx_lua-0.10.26:ngx_http_lua_autoconf.h ngx_stream_lua-0.0.14:ngx_stream_lua_autoconf.h; do
    cat >>"${BU}/${m%%:*}/config" <<EOC

echo '
#ifndef LUA_DEFAULT_PATH
#define LUA_DEFAULT_PATH "$P/site/lualib/?.ljbc;$P/site/lualib/?/init.ljbc;$P/lualib/?.ljbc;$P/lualib/?/init.ljbc;$P/site/lualib/?.lua;$P/site/lualib/?/init.lua;$P/lualib/?.lua;$P/lualib/?/init.lua"
#endif

#ifndef LUA_DEFAULT_CPATH
#define LUA_DEFAULT_CPATH "$P/site/lualib/?.so;$P/lualib/?.so"
#endif
' >> "\$ngx_addon_dir/src/${m##*:}"
EOC
  done
  (cd "${BU}/nginx-1.25.3" &&
    LUAJIT_LIB="$P/luajit/lib" LUAJIT_INC="$P/luajit/include/luajit-2.1" ./configure --prefix="$P/nginx" \
      --with-cc-opt="-O2 -DNGX_LUA_ABORT_AT_PANIC -I$P/luajit/include/luajit-2.1" \
      --with-ld-opt="-Wl,-rpath,$P/luajit/lib -Wl,-rpath,$KP/lib -Wl,-rpath,$P/lualib" \
      --with-pcre-jit --with-threads --with-file-aio \
      --with-http_ssl_module --with-http_sub_module --with-http_realip_module --with-http_stub_status_module \
      --with-http_v2_module --with-http_auth_request_module --with-http_gunzip_module --with-http_gzip_static_module \
      --with-stream --with-stream_ssl_module --with-stream_realip_module --with-stream_ssl_preread_module \
      --add-module="${BU}/ngx_devel_kit-0.3.3" --add-module="${BU}/ngx_lua-0.10.26" \
      --add-module="${BU}/ngx_stream_lua-0.0.14" \
      --add-module="${SRC}/lua-kong-nginx-module" --add-module="${SRC}/lua-kong-nginx-module/stream" \
      --add-module="${B}/lua-resty-lmdb" --add-module="${SRC}/lua-resty-events" &&
    make -j"$J" && make install) >"${LOG}/nginx.log" 2>&1 || fail_log "${LOG}/nginx.log"
  done_step
}

step_atc() {
  step "atc-router (Rust, Debian's rustc and crates, offline)" "about 30 s"
  rm -rf "${B}/atc-router" "${B}/rust-cidr"
  cp -a "${SRC}/atc-router" "${B}/atc-router" && cp -a "${SRC}/rust-cidr" "${B}/rust-cidr"
  (
    cd "${B}/atc-router"
    # Debian 12 packages pest 2.5 and uuid 1.2 (atc-router asks 2.7 and 1.8)
    # and no serde_regex, which only the optional serde feature needs.
    rm -f Cargo.lock
    sed -i 's/^pest = "2.7"/pest = "2.5"/; s/^pest_derive = "2.7"/pest_derive = "2.5"/; s/^uuid = "1.8"/uuid = "1.2"/' Cargo.toml
    sed -i '/^serde = { version/d; /^serde_regex/d; /^serde = \["cidr\/serde"/d' Cargo.toml
    mkdir -p .cargo
    cat >.cargo/config.toml <<'EOC'
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
[patch.crates-io]
cidr = { path = "../rust-cidr" }
EOC
    PATH=/usr/bin:$PATH CARGO_HOME="${B}/cargo-home" cargo build --release -j "$J"
  ) >"${LOG}/atc-router.log" 2>&1 || fail_log "${LOG}/atc-router.log"
  mkdir -p "$KP/lib" "$KP/share/lua/5.1/resty/router"
  install -m 755 "${B}/atc-router/target/release/libatc_router.so" "$KP/lib/"
  install -m 644 "${B}"/atc-router/lib/resty/router/*.lua "$KP/share/lua/5.1/resty/router/"
  done_step
}

step_lualib() {
  step "OpenResty's Lua libraries, lua-cjson, resty-cli" "a few seconds"
  local LJI="$P/luajit/include/luajit-2.1" d
  mkdir -p "$P/lualib" "$P/bin"
  {
    (cd "${BU}/lua-cjson-2.1.0.13" && make LUA_INCLUDE_DIR="$LJI" LUA_CMODULE_DIR="$P/lualib" LUA_MODULE_DIR="$P/lualib" \
      CJSON_CFLAGS="-g -fpic" CC=cc install)
    (cd "${BU}/lua-resty-signal-0.03" && make LUA_INCLUDE_DIR="$LJI" LUA_LIB_DIR="$P/lualib" CC=cc install)
    for d in lua-resty-core-0.1.28 lua-resty-lrucache-0.13 lua-resty-string-0.15 lua-resty-lock-0.09 lua-resty-dns-0.23 \
      lua-resty-websocket-0.11 lua-resty-limit-traffic-0.09 lua-tablepool-0.03 lua-resty-shell-0.03 \
      lua-resty-upload-0.11 lua-resty-redis-0.30; do
      (cd "${BU}/$d" && make install LUA_LIB_DIR="$P/lualib")
    done
    for d in lua-kong-nginx-module lua-resty-lmdb lua-resty-events; do
      (cd "${SRC}/$d" && make install LUA_LIB_DIR="$P/lualib")
    done
  } >"${LOG}/lualib.log" 2>&1 || fail_log "${LOG}/lualib.log"
  install -m 755 "${BU}/resty-cli-0.30/bin/resty" "$P/bin/resty"
  ln -sfn ../nginx/sbin/nginx "$P/bin/openresty"
  done_step
}

step_ada() {
  step "ada URL library" "about 10 s"
  rm -rf "${B}/ada" && mkdir -p "${B}/ada" "$KP/lib"
  { AMALGAMATE_OUTPUT_PATH="${B}/ada" python3 "${SRC}/ada/singleheader/amalgamate.py" &&
    g++ -std=c++17 -O2 -fPIC -shared -o "$KP/lib/libada.so" "${B}/ada/ada.cpp" -I"${B}/ada"; } \
    >"${LOG}/ada.log" 2>&1 || fail_log "${LOG}/ada.log"
  done_step
}

step_luarocks() {
  step "LuaRocks 3.12.2" "a few seconds"
  rm -rf "${B}/luarocks" && cp -a "${SRC}/luarocks" "${B}/luarocks"
  (cd "${B}/luarocks" &&
    ./configure --prefix="${work}/luarocks" --with-lua="$P/luajit" --with-lua-include="$P/luajit/include/luajit-2.1" \
      --with-lua-interpreter=luajit && make && make install) >"${LOG}/luarocks.log" 2>&1 || fail_log "${LOG}/luarocks.log"
  done_step
}

step_awsapi() { # lua-resty-aws's generated API modules, from the npm package of the SDK instead of a git clone
  step "lua-resty-aws API modules" "about 15 s"
  local d="${B}/rocks/lua-resty-aws"
  rm -rf "$d" && mkdir -p "${B}/rocks" && cp -a "${SRC}/lua-resty-aws" "$d"
  (
    cd "$d"
    mkdir -p delete-me && tar -xzf "${work}/archives/aws-sdk-2.751.0.tgz" -C delete-me --strip-components=1
    # The npm package ships apis/*.min.json, not the *.normal.json the script reads.
    for f in delete-me/apis/*.min.json; do mv "$f" "${f%.min.json}.normal.json"; done
    sed -e 's|^if \[ -d \$SOURCE \]; then|if false; then|' -e 's|^git clone .*aws-sdk-js.git.*|: # unpacked from npm|' \
      update_api_files.sh >update_api_files.local.sh
    bash update_api_files.local.sh
    sed 's/package_version = "dev"/package_version = "1.5.4"/' lua-resty-aws-dev-1.rockspec >lua-resty-aws-1.5.4-1.rockspec
  ) >"${LOG}/awsapi.log" 2>&1 || fail_log "${LOG}/awsapi.log"
  done_step
}

step_rocks() {
  step "Lua rocks of kong-3.9.3-0.rockspec, and Kong" "about 20 s"
  local LR=("${work}/luarocks/bin/luarocks" "--tree=$KP")
  : >"${LOG}/rocks.log"
  rock() { # rock SRCDIR ROCKSPEC
    if [[ "$1" != lua-resty-aws ]]; then rm -rf "${B}/rocks/$1" && cp -a "${SRC}/$1" "${B}/rocks/$1"; fi
    (cd "${B}/rocks/$1" && "${LR[@]}" make --deps-mode=none "$2" CFLAGS="-O2 -fPIC") >>"${LOG}/rocks.log" 2>&1 ||
      fail_log "${LOG}/rocks.log"
  }
  rock inspect.lua rockspecs/inspect-3.1.2-0.rockspec
  rock lua-resty-http lua-resty-http-0.17.2-0.rockspec
  rock lua-resty-jit-uuid lua-resty-jit-uuid-0.0.7-1.rockspec
  rock lua-ffi-zlib lua-ffi-zlib-0.6-0.rockspec
  rock lua-multipart multipart-0.5.9-1.rockspec
  rock version.lua version-1.0.1-1.rockspec
  rock ansicolors.lua ansicolors-1.0-1.rockspec
  rock date rockspecs/date-2.2.1-1.rockspec
  rock etlua etlua-dev-1.rockspec
  rock loadkit loadkit-dev-1.rockspec
  rock pgmoon pgmoon-dev-1.rockspec # only used with Postgres; leafo/pgmoon 1.16.0 for kong-pgmoon 1.16.2
  rock lapis kong-lapis-1.16.0.1-1.rockspec
  rock luatz luatz-0.4-1.rockspec
  rock lua-system-constants lua_system_constants-0.1.4-0.rockspec
  rock lualogging rockspecs/lualogging-1.8.2-1.rockspec
  rock luasyslog rockspecs/luasyslog-2.0.1-1.rockspec
  rock lua-pack lua_pack-2.0.0-0.rockspec
  rock luaxxhash releases/luaxxhash-1.0.0-1.rockspec
  rock lua-protobuf rockspecs/lua-protobuf-scm-1.rockspec
  rock lua-resty-timer rockspecs/lua-resty-timer-1.1.0-1.rockspec
  rock lua-resty-healthcheck rockspecs/lua-resty-healthcheck-3.1.0-1.rockspec
  rock lua-resty-openssl lua-resty-openssl-1.5.1-1.rockspec
  rock lua-resty-luasocket rockspecs/lua-resty-luasocket-1.1.2-1.rockspec
  rock lua-resty-aws lua-resty-aws-1.5.4-1.rockspec
  rock lua-resty-jwt lua-resty-jwt-dev-0.rockspec
  # The mirror lacks lua-resty-gcp's largest generated API module.
  rm -rf "${B}/rocks/lua-resty-gcp" && cp -a "${SRC}/lua-resty-gcp" "${B}/rocks/lua-resty-gcp"
  sed -i '/contentwarehouse_v1/d' "${B}/rocks/lua-resty-gcp/lua-resty-gcp-0.0.13-1.rockspec"
  (cd "${B}/rocks/lua-resty-gcp" && "${LR[@]}" make --deps-mode=none lua-resty-gcp-0.0.13-1.rockspec) >>"${LOG}/rocks.log" 2>&1 ||
    fail_log "${LOG}/rocks.log"
  rock lua-resty-counter lua-resty-counter-0.2.1-1.rockspec
  rock lua-resty-ipmatcher rockspec/lua-resty-ipmatcher-0.6.1-0.rockspec
  rock lua-resty-acme lua-resty-acme-0.15.0-1.rockspec
  rock lua-resty-session lua-resty-session-4.0.5-1.rockspec
  rock lua-resty-timer-ng lua-resty-timer-ng-0.2.7-1.rockspec
  rock neturl rockspec/net-url-1.2-1.rockspec
  rock lua-resty-ljsonschema rockspecs/lua-resty-ljsonschema-1.2.0-1.rockspec
  rock lua-resty-snappy lua-resty-snappy-dev-1.rockspec
  rock lua-resty-ada lua-resty-ada-1.1.0-1.rockspec
  rock kong-lua-resty-websocket lua-resty-websocket-kong-0.4.0-1.rockspec
  rock kong kong-3.9.3-0.rockspec
  done_step
}

step_runtime() { # bin/kong, Kong's .proto files and the search paths every Kong command needs
  step "runtime files" "instant"
  install -m 755 "${SRC}/kong/bin/kong" "$KP/bin/kong"
  rm -rf "$KP/include" && cp -a "${SRC}/kong/kong/include" "$KP/include"
  # Kong looks for its .proto files under ./kong/include; the lab's Kong
  # runs with ${out}/run as its working directory.
  mkdir -p "${out}/run/kong" && ln -sfn "$KP/include" "${out}/run/kong/include"
  cat >"${out}/env" <<EOE
PATH=$KP/bin:$P/bin:$P/nginx/sbin:$P/luajit/bin:/usr/local/bin:/usr/bin:/bin
LUA_PATH=$KP/share/lua/5.1/?.lua;$KP/share/lua/5.1/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;
LUA_CPATH=$KP/lib/?.so;$KP/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;
KONG_LUA_PACKAGE_PATH=$KP/share/lua/5.1/?.lua;$KP/share/lua/5.1/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua
KONG_LUA_PACKAGE_CPATH=$KP/lib/?.so;$KP/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so
EOE
  done_step
}

step_check() {
  step "check: kong version" "a second"
  local v vars=()
  mapfile -t vars <"${out}/env"
  v="$(cd "${out}/run" && env -i "${vars[@]}" HOME=/tmp kong version 2>&1)" ||
    { echo "kong: the built kong does not run: $v" >&2; exit 1; }
  [[ "$v" == *"${KONG_VERSION}"* ]] || { echo "kong: built kong reports '$v', want ${KONG_VERSION}" >&2; exit 1; }
  echo "kong:        $v"
  done_step
}

echo "kong: building Kong ${KONG_VERSION} from pinned sources into ${out} (logs in ${LOG})"
rm -rf "${out}" "${work}"
mkdir -p "${out}" "${LOG}" "${B}"
step_apt
step_sources
step_bundle
step_luajit
step_nginx
step_atc
step_lualib
step_ada
step_luarocks
step_awsapi
step_rocks
step_runtime
step_check
# The sources and intermediate files are not needed to run Kong.
rm -rf "${SRC}" "${B}" "${work}/archives" "${work}/git"
echo "${stamp}" >"${out}/.stamp"
echo "kong: Kong ${KONG_VERSION} built in $(( $(date +%s) - total_start ))s"
}

main "$@"
