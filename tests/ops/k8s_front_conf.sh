#!/bin/sh
# k8s_front_conf.sh SOURCE_DIR: the nginx configuration inside
# conf/k8s/front-nginx.yaml is one nginx accepts (`nginx -t`), with the
# Service's name replaced by a loopback address (no cluster DNS here).
set -eu
src=$1
nginx=/usr/sbin/nginx
[ -x "$nginx" ] || { echo "SKIP: $nginx is not installed (Debian package nginx)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/warm-k8s.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# The block scalar under "warmd.conf: |", up to the next document.
sed -n '/^  warmd.conf: |$/,/^---$/p' "$src/conf/k8s/front-nginx.yaml" |
  sed '1d;$d' | sed 's/^    //' |
  sed 's/warmd\.default\.svc\.cluster\.local/127.0.0.1/g' > "$tmp/warmd.conf"
[ -s "$tmp/warmd.conf" ] || { echo "no warmd.conf block found"; exit 1; }
user=""
[ "$(id -u)" = 0 ] && user="user root;"
cat > "$tmp/nginx.conf" <<CONF
$user
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  include $tmp/warmd.conf;
}
CONF
"$nginx" -t -q -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf"
echo "k8s_front_conf: nginx accepts the front's configuration"
